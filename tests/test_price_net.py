import numpy as np
import pytest
import torch

from models.price_net import PriceModelConfig, PriceSuggester
from models.stats_input import StatsNormalizer
from models.text import PAD, UNK, Vocabulary

B = 4


def batch(cfg: PriceModelConfig):
    torch.manual_seed(0)
    image = torch.rand(B, 3, cfg.image_size, cfg.image_size)
    tokens = torch.randint(0, cfg.vocab_size, (B, cfg.text_length))
    tokens[0] = 0  # an empty text
    stats = torch.randn(B, 2 * cfg.n_stats)
    return image, tokens, stats


SMALL = dict(image_size=32, conv_channels=(4, 8), visual_dim=8, vocab_size=50, embedding_dim=8, text_dim=8,
             n_stats=3, hidden=(16,))


@pytest.mark.parametrize("variant", [
    {}, {"fusion": "concat"}, {"use_image": False}, {"use_text": False}, {"use_stats": False},
    {"image_encoder": "multi_task", "multi_task_classes": {"category": 13, "brand": 20, "condition": 5}},
])
def test_shapes_and_gradients_reach_every_parameter(variant):
    cfg = PriceModelConfig(**{**SMALL, **variant})
    model = PriceSuggester(cfg)
    log_price, logit = model(*batch(cfg))
    assert log_price.shape == logit.shape == (B,)
    (log_price.sum() + logit.sum()).backward()
    unused = {n for n, p in model.named_parameters() if p.grad is None}
    # multi-task classification heads are trained in pre-training, not by the price objective
    assert {n for n in unused if ".head." not in n or "tasks" not in n} == set()


def test_regressor_and_classifier_share_no_parameters():
    model = PriceSuggester(PriceModelConfig(**SMALL))
    reg = {id(p) for p in model.regressor.parameters()}
    cls = {id(p) for p in model.classifier.parameters()}
    assert reg and cls and not reg & cls
    assert not torch.equal(model.regressor.head[0].weight, model.classifier.head[0].weight)


def test_attention_weights_are_a_softmax_over_two_modalities():
    cfg = PriceModelConfig(**SMALL)
    model = PriceSuggester(cfg)
    _, weights = model.regressor(*batch(cfg))
    assert weights.shape == (B, 2)
    assert torch.allclose(weights.sum(1), torch.ones(B))
    _, none = PriceSuggester(PriceModelConfig(**{**SMALL, "fusion": "concat"})).regressor(*batch(cfg))
    assert none is None


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="fusion"):
        PriceModelConfig(fusion="sum")
    with pytest.raises(ValueError, match="at least one modality"):
        PriceModelConfig(use_image=False, use_text=False, use_stats=False)
    with pytest.raises(ValueError, match="divisible"):
        PriceModelConfig(image_size=60)


def test_vocabulary_from_training_texts_pads_truncates_and_marks_unknown():
    vocab = Vocabulary.build(["red phone 128GB", "red phone", "blue bag"], max_size=10, min_count=2)
    assert vocab.words == ["phone", "red"]
    ids = vocab.encode(["Red PHONE, unseen", ""], length=4)
    assert ids.tolist() == [[3, 2, UNK, PAD], [PAD] * 4]
    long = vocab.encode(["red " * 40], length=32)
    assert long.shape == (1, 32) and (long == 3).all()
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab


def test_stats_normalizer_uses_training_values_and_flags_missing():
    train = np.array([[10.0, np.nan], [100.0, 5.0], [1000.0, 7.0]])
    norm = StatsNormalizer.fit(train, ["a", "b"])
    out = norm.transform(np.array([[100.0, np.nan]]))
    logs = np.log1p([10.0, 100.0, 1000.0])
    assert out.shape == (1, 4)
    assert out[0, 0] == pytest.approx((np.log1p(100.0) - logs.mean()) / logs.std(), rel=1e-5)
    assert out[0, 1] == 0.0 and out[0, 3] == 1.0 and out[0, 2] == 0.0
    assert StatsNormalizer.from_dict(norm.to_dict()) == norm
