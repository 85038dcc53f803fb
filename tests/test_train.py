"""The training loop and the model store, on in-memory tensors (no Spark)."""
import json

import numpy as np
import pytest
import torch

from models.distributed import Single
from models.petastorm_data import in_memory_batches
from models.price_net import PriceModelConfig, PriceSuggester
from models.store import ModelStore
from models.train import TrainConfig, fit

SMALL = PriceModelConfig(image_size=16, conv_channels=(4, 8), visual_dim=8, vocab_size=30, embedding_dim=8,
                         text_dim=8, n_stats=2, hidden=(16,), dropout=0.0, conv_dropout=0.0)
N = 512


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
    _, history = run(TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=8, lr=3e-3, batch_size=64))
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


@pytest.mark.parametrize("objective", ["mse", "seller_gain"])
def test_percentile_positive_fraction_moves_with_delta(objective):
    fractions = {}
    for delta in (0.3, 0.8):
        cfg = TrainConfig(objective=objective, constraint="percentile", delta=delta, beta=10.0, warm_up_epochs=4,
                          epochs=8, lr_warm_up=3e-3, lr=2e-3, batch_size=128)
        _, history = run(cfg)
        fractions[delta] = history[-1]["val_positive_fraction"]
    assert fractions[0.8] > fractions[0.3] + 0.2
    assert fractions[0.8] >= 0.65  # the constraint holds roughly


def test_threshold_constraint_trains_the_classifier():
    cfg = TrainConfig(objective="mse", constraint="threshold", eps=0.15, gamma=1.0, warm_up_epochs=10, epochs=6,
                      lr_warm_up=5e-3, lr=2.5e-3, batch_size=64)
    _, history = run(cfg)
    assert history[9]["val_positive_fraction"] == 0.0  # warm-up: labels come from a still-poor regressor
    assert 0.05 < history[-1]["val_positive_fraction"] < 0.95  # gated stage: some items qualify, not all


def test_resume_continues_from_the_checkpoint(tmp_path):
    store = ModelStore(str(tmp_path))
    cfg = TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=2, lr=1e-3, batch_size=64)
    model, _ = run(cfg, on_epoch_end=lambda epoch, metrics, opt: store.save_checkpoint(
        "r1", {"state_dict": model_ref[0].state_dict(), "optimizer_state": opt.state_dict(), "epoch": epoch + 1}))
    checkpoint = store.load_checkpoint("r1")
    assert checkpoint["epoch"] == 2
    resumed_model = PriceSuggester(SMALL)
    resumed_model.load_state_dict(checkpoint["state_dict"])
    longer = TrainConfig(objective="mse", constraint="none", warm_up=False, epochs=4, lr=1e-3, batch_size=64)
    data = toy_data()
    steps_before = int(checkpoint["optimizer_state"]["state"][0]["step"])
    assert steps_before == 2 * (N // 64)
    history = fit(longer, resumed_model, in_memory_batches(data, 64), N // 64, None, 0, Single(),
                  torch.device("cpu"), start_epoch=checkpoint["epoch"], optimizer_state=checkpoint["optimizer_state"])
    assert [h["epoch"] for h in history] == [3, 4]  # not from epoch 0
    # Adam's state carried over: its step count went on from 16 to 32 (the loaded state is updated in place)
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
    assert not list(tmp_path.rglob(".*.tmp-*"))  # no temporary files left behind
