"""The evaluation's yardsticks beyond accuracy: does the model read the photo, is its flag worth showing?

All on the test split, from one trained model and the test rows joined with `listing_truth`
(evaluation only: nothing here runs in training or scoring).
  qualification_auc        AUC of the qualification score for "this item's own item loss (the
                           model's objective) is below the test median"
  photo_sensitivity_slope  each listing's photo swapped for that of another listing of the same
                           category showing another item type or condition (everything else kept):
                           the OLS slope of the change in suggested log price against the true
                           change of the photo-visible part of the fair price (item type effect x
                           category spread + log condition depreciation). 1: the model moves with
                           the photo exactly as the market does; 0: it ignores the photo.
  reason precision         of the unqualified listings given a photo reason, the share whose photo
                           really is degraded (`photo_defect`); of those given the text reason, the
                           share whose text really is useless (`text_useless`)
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from model.config import TrainConfig
from model.predict import predict
from model.price_net import PriceSuggester
from model.qualification import (PHOTO_REASONS, REASON_NO_DETAILS, REASON_UNCERTAIN, ReasonChecks, names_the_item,
                                 not_qualified_reasons)
from training.train import item_losses

Arrays = dict[str, np.ndarray]


def item_loss(train_cfg: TrainConfig, pred: np.ndarray, arrays: Arrays) -> np.ndarray:
    """The objective's loss per item; NaN where it does not apply (unsold items under MSE)."""
    labels = {k: torch.from_numpy(arrays[k]) for k in ("is_sold", "log_sold", "log_list")}
    losses, mask = item_losses(train_cfg, torch.from_numpy(pred).float(), labels)
    return np.where(mask.numpy(), losses.numpy().astype(float), np.nan)


def qualification_auc(loss: np.ndarray, score: np.ndarray) -> float:
    covered = ~np.isnan(loss)
    good = loss[covered] < np.median(loss[covered])
    if not covered.any() or good.all() or not good.any():
        return math.nan
    return float(roc_auc_score(good, score[covered]))


def photo_visible_effect(frame: pd.DataFrame, generator) -> np.ndarray:
    """The part of each listing's log fair price its photo shows: item type x spread + log depreciation."""
    categories = {c.name: c for c in generator.categories}
    depreciation = {c.name: math.log(c.depreciation) for c in generator.conditions}
    return np.array([categories[cat].spread * categories[cat].item_types[item] + depreciation[cond]
                     for cat, item, cond in zip(frame["category"], frame["item_type"], frame["true_condition"])])


def swap_partners(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """For each row, another row of the same category with another item type or condition and an
    undegraded photo (-1 when there is none)."""
    rng = np.random.default_rng(seed)
    partners = np.full(len(frame), -1)
    clean = frame["photo_defect"].isna().to_numpy()
    look = (frame["item_type"].astype(str) + "|" + frame["true_condition"].astype(str)).to_numpy()
    category = frame["category"].to_numpy()
    for i in range(len(frame)):
        candidates = np.flatnonzero((category == category[i]) & clean & (look != look[i]))
        if len(candidates):
            partners[i] = rng.choice(candidates)
    return partners


def photo_sensitivity(model: PriceSuggester, arrays: Arrays, frame: pd.DataFrame, visible: np.ndarray,
                      device: torch.device, seed: int = 0) -> float:
    """Slope of Δ suggested log price on Δ photo-visible log fair price, photos swapped within category."""
    partners = swap_partners(frame, seed)
    rows = np.flatnonzero(partners >= 0)
    if len(rows) < 2:
        return math.nan
    own = predict(model, {k: v[rows] for k, v in arrays.items()}, device)["log_price"]
    swapped_arrays = {k: v[rows] for k, v in arrays.items()}
    swapped_arrays["image"] = arrays["image"][partners[rows]]
    swapped = predict(model, swapped_arrays, device)["log_price"]
    true_change = visible[partners[rows]] - visible[rows]
    keep = np.abs(true_change) > 1e-9
    return float(np.polyfit(true_change[keep], (swapped - own)[keep], 1)[0]) if keep.sum() > 1 else math.nan


def reason_quality(model: PriceSuggester, arrays: Arrays, frame: pd.DataFrame, checks: ReasonChecks,
                   device: torch.device, batch_size: int = 512) -> dict[str, float]:
    """Precision of the photo and text reasons against listing_truth, and how often the generic one is given."""
    out = predict(model, arrays, device, batch_size, counterfactuals=True)  # as batch scoring reads them
    score, typical_photo, typical_text = out["score"], out["typical_photo"], out["typical_text"]
    known = np.ones(len(score), dtype=bool)  # every test category has history (it was in training)
    reasons = not_qualified_reasons(score, typical_photo, typical_text, model.cfg.qualification_threshold, known,
                                    arrays["image"], names_the_item(arrays["tokens"], model.cfg.item_words), checks)
    photo = np.isin(reasons, PHOTO_REASONS)
    text = reasons == REASON_NO_DETAILS
    unqualified = reasons != None  # noqa: E711 - object array of str | None
    defect = frame["photo_defect"].notna().to_numpy()
    useless = frame["text_useless"].fillna(False).to_numpy(bool)
    share = lambda hit, of: float(hit[of].mean()) if of.any() else math.nan  # noqa: E731
    return {"photo_reason_items": float(photo.sum()), "photo_reason_precision": share(defect, photo),
            "text_reason_items": float(text.sum()), "text_reason_precision": share(useless, text),
            "generic_reason_share": share(reasons == REASON_UNCERTAIN, unqualified),
            # recall, for context: of the degraded photos (useless texts) left unqualified, how many are told so
            "photo_reason_recall": share(photo, defect & unqualified),
            "text_reason_recall": share(text, useless & unqualified)}
