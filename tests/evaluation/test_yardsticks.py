"""What the evaluation measures beyond accuracy: permutation importance, photo sensitivity, the flag's AUC."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.yardsticks import item_loss, photo_sensitivity, qualification_auc, swap_partners
from model.config import PriceModelConfig, TrainConfig
from model.diagnostics import modality_report, shuffled_within
from model.price_net import PriceSuggester

CFG = dict(image_size=16, conv_channels=(4,), stem_channels=0, vocab_size=10, bigram_buckets=0, text_length=4,
           embedding_dim=4, field_sizes={"brand": 2, "category": 3, "condition": 2}, field_dim=2, fusion_dim=4,
           n_stats=1, hidden=(8,), fusion="concat")
N = 120


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (N, 3, 16, 16), dtype=np.uint8)
    fields = np.stack([rng.integers(0, 2, N), rng.integers(1, 3, N), rng.integers(0, 2, N)], axis=1)
    # the price is the photo's brightness: a model that reads the photo can follow it
    log_sold = image.reshape(N, -1).mean(1) / 64.0
    return {"image": image, "tokens": rng.integers(0, 10, (N, 4)), "stats": np.zeros((N, 2), np.float32),
            "form": fields, "is_sold": np.ones(N, np.float32), "log_sold": log_sold.astype(np.float32),
            "log_list": (log_sold + 0.18).astype(np.float32)}


class Brightness(PriceSuggester):
    """A stand-in network whose suggestion is exactly the photo's mean brightness / 64 (or a constant)."""

    def __init__(self, reads_photo: bool):
        super().__init__(PriceModelConfig(**CFG))
        self.reads_photo = reads_photo

    def read(self, image, tokens, stats, fields):  # what every reading of a suggestion returns
        out = self.regressor(image, tokens, stats, fields)
        value = image.mean(dim=(1, 2, 3)) * 255 / 64.0 if self.reads_photo else torch.full_like(out.value, 2.0)
        return value, out


def test_shuffled_within_moves_rows_only_inside_their_group():
    groups = np.array([0, 0, 1, 1, 1, 2])
    order = shuffled_within(groups, seed=0)
    assert sorted(order.tolist()) == list(range(6)) and (groups[order] == groups).all()


def test_photo_importance_is_zero_for_a_model_that_ignores_the_photo():
    cfg = TrainConfig(objective="mse")
    data = arrays()
    ignores = modality_report(cfg, Brightness(reads_photo=False), data, torch.device("cpu"))
    reads = modality_report(cfg, Brightness(reads_photo=True), data, torch.device("cpu"))
    assert ignores.photo_importance == pytest.approx(0.0) and ignores.text_importance == pytest.approx(0.0)
    assert reads.photo_importance > 1.0  # its loss is ~0 with the right photo


def test_photo_sensitivity_slope_is_one_when_the_suggestion_moves_with_the_photo_and_zero_when_not():
    data = arrays()
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"category": np.where(data["form"][:, 1] == 1, "a", "b"),
                          "item_type": rng.choice(["x", "y"], N), "true_condition": rng.choice(["new", "poor"], N),
                          "photo_defect": None})
    partners = swap_partners(frame, seed=0)
    assert (partners >= 0).all() and (frame["category"].to_numpy()[partners] == frame["category"]).all()
    visible = data["log_sold"].astype(float)  # here the photo-visible part is the whole price
    assert photo_sensitivity(Brightness(True), data, frame, visible, torch.device("cpu")) == pytest.approx(1.0, abs=1e-3)
    assert photo_sensitivity(Brightness(False), data, frame, visible, torch.device("cpu")) == pytest.approx(0.0, abs=1e-6)


def test_qualification_auc_on_the_objectives_item_loss():
    data = arrays()
    pred = data["log_sold"] + np.linspace(0, 1, N)  # the error grows with the row
    data["is_sold"][::2] = 0  # unsold: no MSE loss, left out
    loss = item_loss(TrainConfig(objective="mse"), pred.astype(np.float32), data)
    assert np.isnan(loss[::2]).all() and not np.isnan(loss[1::2]).any()
    assert qualification_auc(loss, -np.arange(N, dtype=float)) == pytest.approx(1.0)  # high score = low loss
    assert qualification_auc(loss, np.arange(N, dtype=float)) == pytest.approx(0.0)
