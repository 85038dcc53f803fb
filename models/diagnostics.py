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

from models.inputs import FORM_FIELDS
from models.price_net import PriceSuggester
from models.train import TrainConfig, input_batches, item_losses

Arrays = dict[str, np.ndarray]


def shuffled_within(groups: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of row indices that moves rows only within their group."""
    rng = np.random.default_rng(seed)
    order = np.arange(len(groups))
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        order[rows] = rng.permutation(rows)
    return order


@torch.no_grad()
def forward_all(model: PriceSuggester, arrays: Arrays, device: torch.device, batch_size: int = 512):
    """(log price [N], classifier logit [N], regressor modality weights [N, 2] or None) of every row."""
    model.eval().to(device)
    preds, logits, weights = [], [], []
    for _, batch in input_batches(arrays, batch_size, device):
        regressor, classifier = model.outputs(*batch)
        preds.append(model.suggestion(regressor.value, *batch).cpu())  # as scoring makes it (mirror average)
        logits.append(classifier.value.cpu())
        if regressor.modality_weights is not None:
            weights.append(regressor.modality_weights.cpu())
    cat = lambda parts: torch.cat(parts).numpy() if parts else None  # noqa: E731
    return cat(preds), cat(logits), cat(weights)


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
    pred, _, weights = forward_all(model, arrays, device)
    base = mean_item_loss(cfg, pred, arrays)
    category = arrays["form"][:, FORM_FIELDS.index("category")]

    def importance(key: str) -> float:
        rises = []
        for r in range(repeats):
            shuffled = dict(arrays, **{key: arrays[key][shuffled_within(category, seed + r)]})
            rises.append(mean_item_loss(cfg, forward_all(model, shuffled, device)[0], arrays) / base - 1.0)
        return float(np.mean(rises))

    return ModalityReport(
        base,
        importance("image") if model.cfg.use_image else 0.0,
        importance("tokens") if model.cfg.use_text else 0.0,
        float(weights[:, 0].mean()) if weights is not None else None,
        float(weights[:, 0].std()) if weights is not None else None)
