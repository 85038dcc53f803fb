"""Image encoder variant (b): single-task CNNs pre-trained on the form fields, then frozen."""
import numpy as np
import torch

from model.config import PretrainConfig, PriceModelConfig, TrainConfig
from model.price_net import PriceSuggester
from training.distributed import Single
from training.petastorm_data import in_memory_batches
from training.pretrain import install_pretrained, pretrain_visual, task_losses
from training.train import fit

CFG = PriceModelConfig(image_size=16, conv_channels=(4, 8), stem_channels=0, vocab_size=30, bigram_buckets=0,
                       text_length=8, embedding_dim=8, fusion_dim=8, n_stats=1, hidden=(8,), field_dim=2,
                       image_encoder="multi_task", field_sizes={"brand": 3, "category": 2, "condition": 4},
                       modality_dropout=0.0)
BRAND, CATEGORY, CONDITION = 0, 1, 2  # columns of `fields` (sorted form-field names)
N = 256


def labelled_photos(seed=0):
    """Brand = which half of the photo is bright; condition = overall brightness; many labels missing."""
    rng = np.random.default_rng(seed)
    brand = rng.integers(0, 2, N)
    condition = rng.integers(0, 3, N)
    image = rng.integers(0, 40, (N, 3, 16, 16)).astype(np.uint8)
    image[brand == 0, :, :, :8] += 150
    image[brand == 1, :, :, 8:] += 150
    image += (30 * condition)[:, None, None, None].astype(np.uint8)
    missing = rng.random(N) < 0.4
    fields = np.stack([np.where(missing, 0, brand + 1), np.ones(N, np.int64),  # id 0: missing
                       np.where(rng.random(N) < 0.5, 0, condition + 1)], axis=1)
    return {"image": image, "form": fields, "tokens": np.zeros((N, 8), np.int64), "stats": np.zeros((N, 2), np.float32),
            "is_sold": np.ones(N, np.float32), "log_sold": np.full(N, 3.0, np.float32),
            "log_list": np.full(N, 3.2, np.float32)}


def test_rows_without_a_label_do_not_train_that_task():
    torch.manual_seed(0)
    model = PriceSuggester(CFG)
    batch = {k: torch.from_numpy(v) for k, v in labelled_photos().items()}
    batch["image"] = batch["image"].float() / 255
    batch["form"][:, CONDITION] = 0
    losses = task_losses(model.regressor.visual, batch)
    assert losses["condition"][1] == 0 and losses["condition"][0].item() == 0.0
    assert losses["brand"][1] == int((batch["form"][:, BRAND] != 0).sum())


def test_pretraining_learns_each_task_from_its_labelled_rows():
    torch.manual_seed(0)
    model = PriceSuggester(CFG)
    history = pretrain_visual(PretrainConfig(epochs=6, lr=1e-2), model.regressor.visual,
                              in_memory_batches(labelled_photos(), 64), N // 64, Single(), torch.device("cpu"))
    assert history[-1]["brand_accuracy"] > 0.9
    assert history[-1]["condition_accuracy"] > history[0]["condition_accuracy"]


def test_installed_encoders_are_equal_copies_and_stay_frozen_while_the_price_nets_train():
    torch.manual_seed(0)
    model = PriceSuggester(CFG)
    pretrain_visual(PretrainConfig(epochs=1), model.regressor.visual, in_memory_batches(labelled_photos(), 64), 2,
                    Single(), torch.device("cpu"))
    state = {k: v.clone() for k, v in model.regressor.visual.state_dict().items()}
    install_pretrained(model, state)
    assert model.regressor.visual is not model.classifier.visual  # no shared parameters, equal values
    head_before = model.regressor.head[0].weight.clone()
    fit(TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=2, lr=1e-2, batch_size=64,
                    augment=False),
        model, in_memory_batches(labelled_photos(), 64), 2, None, 0, Single(), torch.device("cpu"))
    for net in (model.regressor, model.classifier):
        assert not net.visual.training  # eval mode: BatchNorm keeps pre-training's statistics
        for key, value in net.visual.state_dict().items():
            assert torch.equal(value, state[key]), key
    assert not torch.equal(head_before, model.regressor.head[0].weight)  # the rest did train
