"""What a trained model uses: permutation importance of the photo and the text, and its modality weights.

The attention weights alone prove nothing (the layers after them can undo any scale), so the
model's metadata also records what happens to its validation objective when one input is
taken away without changing anything else: each listing gets the photo (or the text) of
another listing of the same category, so category-level information stays. Importance is
the relative rise of the mean item loss: 0 means the input is ignored. The promotion gate
refuses a model whose photo importance is below `training.min_photo_importance`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.config import TrainConfig
from model.inputs import FORM_FIELDS
from model.predict import predict
from model.price_net import PriceSuggester
from training.train import item_losses

Arrays = dict[str, np.ndarray]


def shuffled_within(groups: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of row indices that moves rows only within their group."""
    rng = np.random.default_rng(seed)
    order = np.arange(len(groups))
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        order[rows] = rng.permutation(rows)
    return order


def mean_item_loss(cfg: TrainConfig, pred: np.ndarray, arrays: Arrays) -> float:
    """The objective's mean item loss over the items it covers (sold items for MSE)."""
    labels = {k: torch.from_numpy(arrays[k]) for k in ("is_sold", "log_sold", "log_list")}
    losses, mask = item_losses(cfg, torch.from_numpy(pred).float(), labels)
    return float(losses[mask].mean()) if mask.any() else float("nan")


@dataclass
class ModalityReport:
    objective: float  # mean item loss on the rows, inputs as they are
    photo_importance: float  # relative rise of it with photos shuffled within category
    text_importance: float  # the same for texts
    photo_weight_mean: float | None  # the regressor's attention weight on the photo (None: no attention)
    photo_weight_std: float | None

    def to_dict(self) -> dict:
        return dict(vars(self))


def modality_report(cfg: TrainConfig, model: PriceSuggester, arrays: Arrays, device: torch.device,
                    repeats: int = 3, seed: int = 0) -> ModalityReport:
    out = predict(model, arrays, device, modality_weights=True)
    pred, weights = out["log_price"], out.get("modality_weights")
    base = mean_item_loss(cfg, pred, arrays)
    category = arrays["form"][:, FORM_FIELDS.index("category")]

    def importance(key: str) -> float:
        rises = []
        for r in range(repeats):
            shuffled = dict(arrays, **{key: arrays[key][shuffled_within(category, seed + r)]})
            rises.append(mean_item_loss(cfg, predict(model, shuffled, device)["log_price"], arrays) / base - 1.0)
        return float(np.mean(rises))

    return ModalityReport(
        base,
        importance("image") if model.cfg.use_image else 0.0,
        importance("tokens") if model.cfg.use_text else 0.0,
        float(weights[:, 0].mean()) if weights is not None else None,
        float(weights[:, 0].std()) if weights is not None else None)
