"""The training loop and the model store, on in-memory tensors (no Spark)."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from model.config import PriceModelConfig, TrainConfig
from model.inputs import MODEL_INPUTS
from model.price_net import PriceSuggester
from registry.store import ModelStore
from training.distributed import Single
from training.petastorm_data import in_memory_batches
from training.train import batch_loss, ema_update, fit

SMALL = PriceModelConfig(image_size=16, conv_channels=(4, 8), stem_channels=0, vocab_size=30, bigram_buckets=0, text_length=8,
                         embedding_dim=8, field_sizes={"brand": 3, "category": 2, "condition": 3}, field_dim=4,
                         fusion_dim=8, n_stats=2, hidden=(16,), dropout=0.0, modality_dropout=0.0)
N = 512
# the auxiliary losses and augmentation off: these tests check the joint objective itself
PLAIN = dict(list_weight=0.0, photo_weight=0.0, augment=False, ema_decay=0.0)


def toy_data(seed=0):
    """Log price = 3 + 2 * stat0 (+ noise that is large for half of the items, which say so in stat1)."""
    rng = np.random.default_rng(seed)
    stat = rng.normal(size=N).astype(np.float32)
    noisy = rng.random(N) < 0.5
    log_price = 3 + 2 * stat + np.where(noisy, rng.normal(0, 1.5, N), rng.normal(0, 0.05, N))
    return {
        "image": rng.random((N, 3, 16, 16), dtype=np.float32),
        "tokens": rng.integers(0, 30, (N, SMALL.text_length)),
        "stats": np.stack([stat, noisy.astype(np.float32), np.zeros(N), np.zeros(N)], 1).astype(np.float32),
        "form": np.stack([rng.integers(0, 3, N), rng.integers(0, 2, N), rng.integers(0, 3, N)], 1),
        "is_sold": np.ones(N, np.float32),
        "log_sold": log_price.astype(np.float32),
        "log_list": (log_price + 0.18).astype(np.float32),
    }


def run(cfg: TrainConfig, **kwargs):
    torch.manual_seed(0)
    model = PriceSuggester(SMALL)
    data = toy_data()
    history = fit(cfg, model, in_memory_batches(data, cfg.batch_size), N // cfg.batch_size,
                  in_memory_batches(data, cfg.batch_size, seed=1), 2, Single(), torch.device("cpu"), **kwargs)
    return model, history


def test_training_lowers_the_loss():
    _, history = run(TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=8, lr=3e-3, batch_size=64,
                                 **PLAIN))
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_one_cycle_schedule_rises_then_decays():
    cfg = TrainConfig(lr=1e-2, lr_warm_up_share=0.25)
    lrs = [cfg.lr_at(step, 100) for step in range(100)]
    assert lrs[0] == pytest.approx(1e-3) and max(lrs) == pytest.approx(1e-2) and lrs.index(max(lrs)) == 25
    assert lrs[-1] < 2e-4 and all(a >= b for a, b in zip(lrs[25:], lrs[26:]))


@pytest.mark.parametrize("objective,judged_by", [("seller_gain", "val_item_loss"), ("mse", "val_male_sold")])
def test_early_stopping_keeps_the_best_epoch(monkeypatch, objective, judged_by):
    from training import train

    scripted_values = iter([0.9, 0.5, 0.7, 0.8, 0.6, 0.4])  # epochs 1-6: best at 2, then three worse ones
    real = train.evaluate

    def scripted(cfg, model, batches, steps, ctx, device):
        out = real(cfg, model, batches, steps, ctx, device)
        if steps != 2:  # the training-data passes, not validation
            return out
        value = next(scripted_values)
        # the other figure disagrees (best at epoch 1): only the objective's yardstick may decide
        other = "val_male_sold" if judged_by == "val_item_loss" else "val_item_loss"
        return {**out, judged_by: value, other: 0.1 if value == 0.9 else 1.0}

    kept = []
    monkeypatch.setattr(train, "evaluate", scripted)
    cfg = TrainConfig(objective=objective, constraint="none", warm_up=False, epochs=6, patience=3, batch_size=64,
                      **PLAIN)
    assert cfg.selection_metric == judged_by
    model, history = run(cfg, on_epoch_end=lambda epoch, metrics, state: kept.append(
        {k: v.clone() for k, v in state["best"]["state_dict"].items()}))
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]  # stopped after 3 epochs without a better one
    assert history[-1]["best_epoch"] == 2
    assert all(torch.equal(v, kept[1][k]) for k, v in model.state_dict().items())  # ends at epoch 2's weights


@pytest.mark.parametrize("objective", ["mse", "seller_gain"])
def test_percentile_positive_fraction_moves_with_delta(objective):
    fractions = {}
    for delta in (0.3, 0.8):
        cfg = TrainConfig(objective=objective, constraint="percentile", delta=delta, beta=10.0, gamma=0.0,
                          warm_up_epochs=4, epochs=8, lr=3e-3, batch_size=128, patience=99, **PLAIN)
        _, history = run(cfg)
        fractions[delta] = history[-1]["val_positive_fraction"]
    assert fractions[0.8] > fractions[0.3] + 0.2
    assert fractions[0.8] >= 0.65  # the constraint holds roughly


def test_grouped_gate_keeps_a_hard_category_in_training():
    """Category 1's prices are all noisy: the batch-wide gate switches it off whole, so after
    warm-up the regressor learns nothing more about it; gated per category, delta of it stays on."""
    data = toy_data()
    data["form"][:, 1] = (data["stats"][:, 1] > 0).astype(data["form"].dtype)  # category 1 = the noisy half
    shares = {}
    for groups in ("none", "category"):
        cfg = TrainConfig(objective="mse", constraint="percentile", delta=0.5, beta=10.0, gamma=1.0, gate_groups=groups,
                          warm_up_epochs=6, epochs=20, lr=1e-2, batch_size=64, patience=99, **PLAIN)
        torch.manual_seed(0)
        model = PriceSuggester(dataclasses.replace(SMALL, log_price_offset=3.0))
        fit(cfg, model, in_memory_batches(data, 64), N // 64, in_memory_batches(data, 64, seed=1), 2, Single(),
            torch.device("cpu"))
        model.eval()
        with torch.no_grad():
            _, logit = model(*(torch.from_numpy(data[k]) for k in MODEL_INPUTS))
        on = torch.sigmoid(logit) >= 0.5
        hard = torch.from_numpy(data["form"][:, 1] == 1)
        shares[groups] = (on[hard].float().mean().item(), on[~hard].float().mean().item())
    assert shares["none"][0] < 0.3 and shares["none"][1] > 0.9  # the hard category is (almost) switched off
    assert shares["category"][0] > 0.5 and shares["category"][1] > 0.5  # at least delta of each stays on


def regressor_gradient(cfg: TrainConfig, model: PriceSuggester, batch) -> torch.Tensor:
    model.zero_grad()
    batch_loss(cfg, model, batch, warm_up=False, auxiliary=False)[0].backward()
    return torch.cat([p.grad.flatten() for p in model.regressor.parameters() if p.grad is not None])


def test_gated_out_weight_one_teaches_the_regressor_as_if_ungated():
    torch.manual_seed(0)
    model = PriceSuggester(dataclasses.replace(SMALL, log_price_offset=3.0))
    batch = {k: torch.from_numpy(v[:64]) for k, v in toy_data().items()}
    with torch.no_grad():
        model.classifier.head[-1].bias[0] = -0.5  # gate some items out (the others are in)
    plain = dict(objective="mse", delta=0.5, gamma=1.0, **PLAIN)
    ungated = regressor_gradient(TrainConfig(constraint="none", **plain), model, batch)
    weight_one = regressor_gradient(TrainConfig(constraint="percentile", gated_out_weight=1.0, **plain), model, batch)
    paper = regressor_gradient(TrainConfig(constraint="percentile", gated_out_weight=0.0, **plain), model, batch)
    assert torch.allclose(weight_one, ungated, atol=1e-6)
    assert not torch.allclose(paper, ungated, atol=1e-3)


def test_threshold_constraint_trains_the_classifier():
    cfg = TrainConfig(objective="mse", constraint="threshold", eps=0.15, gamma=1.0, warm_up_epochs=10, epochs=6,
                      lr=5e-3, batch_size=64, patience=99, **PLAIN)
    _, history = run(cfg)
    assert history[1]["val_positive_fraction"] == 0.0  # early warm-up: labels come from a still-poor regressor
    assert 0.05 < history[-1]["val_positive_fraction"] < 0.95  # gated stage: some items qualify, not all


def test_resume_continues_from_the_checkpoint(tmp_path):
    store = ModelStore(str(tmp_path))
    cfg = TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=2, lr=1e-3, batch_size=64, **PLAIN)
    model, _ = run(cfg, on_epoch_end=lambda epoch, metrics, state: store.save_checkpoint(
        "r1", {"state_dict": model_ref[0].state_dict(), "epoch": epoch + 1, **state}))
    checkpoint = store.load_checkpoint("r1")
    assert checkpoint["epoch"] == 2 and checkpoint["best"]["epoch"] in (1, 2)
    resumed_model = PriceSuggester(SMALL)
    resumed_model.load_state_dict(checkpoint["state_dict"])
    longer = TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=4, lr=1e-3, batch_size=64,
                         patience=99, **PLAIN)
    data = toy_data()
    steps_before = int(checkpoint["optimizer_state"]["state"][0]["step"])
    assert steps_before == 2 * (N // 64)
    resume = {k: checkpoint[k] for k in ("optimizer_state", "ema_state", "best")}
    history = fit(longer, resumed_model, in_memory_batches(data, 64), N // 64, None, 0, Single(),
                  torch.device("cpu"), start_epoch=checkpoint["epoch"], resume=resume)
    assert [h["epoch"] for h in history] == [3, 4]  # not from epoch 0
    # AdamW's state carried over: its step count went on from 16 to 32 (the loaded state is updated in place)
    assert int(checkpoint["optimizer_state"]["state"][0]["step"]) == 4 * (N // 64)


model_ref = []


@pytest.fixture(autouse=True)
def _capture_model(monkeypatch):
    """Let the checkpoint callback above reach the model `run` builds."""
    original = PriceSuggester.__init__

    def init(self, cfg):
        original(self, cfg)
        model_ref[:] = [self]

    monkeypatch.setattr(PriceSuggester, "__init__", init)


def test_model_store_gate_force_and_rollback(tmp_path):
    store = ModelStore(str(tmp_path))
    for version, loss in (("v1", 1.0), ("v2", 0.8), ("v3", 0.9)):
        store.register(version, {"w": torch.zeros(1)}, {"validation": {"val_item_loss": loss}})
    assert store.promote("v1", "val_item_loss", 0.0) == (True, "first model")
    assert store.promote("v2", "val_item_loss", 0.0)[0] and store.latest() == "v2"
    promoted, reason = store.promote("v3", "val_item_loss", 0.0)
    assert not promoted and "worse" in reason and store.latest() == "v2"
    assert store.promote("v3", "val_item_loss", 0.2)[0]  # within the tolerance
    store.set_latest("v1")  # rollback
    assert store.latest() == "v1" and torch.equal(store.load()["w"], torch.zeros(1))
    assert json.loads((tmp_path / "versions" / "v2" / "metadata.json").read_text())["validation"]["val_item_loss"] == 0.8
    with pytest.raises(KeyError):
        store.set_latest("v9")
    # the photo gate: a model that ignores the photo never becomes latest, however good its loss
    store.register("v4", {"w": torch.ones(1)}, {"validation": {"val_item_loss": 0.1},
                                                 "diagnostics": {"photo_importance": 0.01}})
    promoted, reason = store.promote("v4", "val_item_loss", 0.0, min_photo_importance=0.05)
    assert not promoted and "photo importance" in reason and store.latest() == "v1"
    assert store.promote("v4", "val_item_loss", 0.0, min_photo_importance=0.005)[0]
    assert not list(tmp_path.rglob(".*.tmp-*"))  # no temporary files left behind


def test_ema_follows_a_short_run_and_averages_a_long_one():
    averaged, current = [torch.zeros(3)], [torch.ones(3)]
    update = ema_update(0.995)
    update(averaged, current, torch.tensor(1))  # early: decay 2/11, mostly the new weights
    assert averaged[0][0] == pytest.approx(9 / 11)
    averaged = [torch.zeros(3)]
    update(averaged, current, torch.tensor(10_000))  # late: the configured decay
    assert averaged[0][0] == pytest.approx(0.005)
    counts = [torch.tensor([3])]
    update(counts, [torch.tensor([7])], torch.tensor(5))  # integer buffers follow the model
    assert counts[0].item() == 7
