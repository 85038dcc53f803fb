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
  range coverage, width    of the sold test items, the share whose sold price falls in the
                           calibrated range (model/conformal.py), and its mean ln(high / low),
                           for all, qualified and unqualified listings; beside them a per-category
                           constant interval of log sold prices fitted the same way on validation
  explanation mark share   on photos whose brand mark or wear drives the price, the share of
                           Grad-CAM's, occlusion's and saliency's positive mass on the pixels the
                           generator drew those marks on, against a centred blob and a uniform map
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

from model.conformal import fit_offsets, range_offsets
from model.explain import grad_cam, mass_share, occlusion, price_of, saliency
from model.config import TrainConfig
from model.predict import predict
from model.price_net import PriceSuggester
from training.train import input_batches
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


def price_range_quality(model: PriceSuggester, pred: np.ndarray, score: np.ndarray, test: Arrays,
                        validation: Arrays) -> dict[str, float]:
    """The calibrated range's coverage and mean log width on the sold test items (all, qualified,
    unqualified), and those of a per-category constant interval at the same level; {} without a range."""
    cfg = model.cfg
    if not cfg.range_offsets:
        return {}
    column = sorted(cfg.field_sizes).index("category")
    sold = test["is_sold"] > 0.5
    qualified = (score >= cfg.qualification_threshold)[sold]
    category, log_sold, suggestion = test["form"][sold, column], test["log_sold"][sold], pred[sold]
    low, high = range_offsets(cfg.range_offsets, qualified, category)
    inside = (suggestion + low <= log_sold) & (log_sold <= suggestion + high)
    out = {"range_level": cfg.range_level}
    for name, rows in (("", np.ones(len(inside), dtype=bool)), ("_qualified", qualified), ("_unqualified", ~qualified)):
        out[f"range_coverage{name}"] = float(inside[rows].mean()) if rows.any() else math.nan
        out[f"range_width{name}"] = float((high - low)[rows].mean()) if rows.any() else math.nan
    # the constant interval: the same fitting with a suggestion of 0, so its offsets are log prices
    v_sold = validation["is_sold"] > 0.5
    never = np.zeros(int(v_sold.sum()), dtype=bool)
    constant = fit_offsets(validation["log_sold"][v_sold], never, validation["form"][v_sold, column], cfg.range_level,
                           cfg.range_min_rows)
    c_low, c_high = range_offsets(constant, np.zeros(len(category), dtype=bool), category)
    out["constant_range_coverage"] = float(((c_low <= log_sold) & (log_sold <= c_high)).mean())
    out["constant_range_width"] = float((c_high - c_low).mean())
    return out


def photo_maps(model: PriceSuggester, arrays: Arrays, device: torch.device, batch_size: int = 64,
               patch: int = 8) -> dict[str, np.ndarray]:
    """Per row, [N, H, W]: the regressor's Grad-CAM, occlusion (patches of `patch` px, half
    overlapping) and saliency maps (model/explain.py)."""
    model.eval().to(device)
    maps: dict[str, list[np.ndarray]] = {"grad_cam": [], "occlusion": [], "saliency": []}
    for _, (image, tokens, stats, fields) in input_batches(arrays, batch_size, device):
        read = price_of(model, tokens, stats, fields)
        maps["grad_cam"].append(grad_cam(model, read, image).cpu().numpy())
        maps["occlusion"].append(occlusion(read, image, patch=patch, stride=max(1, patch // 2)).cpu().numpy())
        maps["saliency"].append(saliency(read, image).cpu().numpy())
    return {k: np.concatenate(v) for k, v in maps.items()}


def centre_blob(size: int, sigma_share: float = 0.25) -> np.ndarray:
    """A centred Gaussian [size, size] (sigma: a quarter of the side): the prior a map must beat."""
    axis = (np.arange(size) + 0.5 - size / 2) / (sigma_share * size)
    return np.exp(-0.5 * (axis[:, None] ** 2 + axis[None, :] ** 2))


def explanation_mark_share(maps: dict[str, np.ndarray], masks: np.ndarray) -> dict[str, float]:
    """Mean share of each map's mass on the marks ([N, H, W] booleans), beside the same share for a
    centred blob and for a uniform map (= the marks' area). Grad-CAM and saliency are non-negative;
    occlusion counts by magnitude, since a wear mark lowers the price (greying it out raises it)."""
    marks = torch.from_numpy(masks)
    out = {f"{name}_mark_share": float(mass_share(torch.from_numpy(np.abs(m) if name == "occlusion" else m),
                                                  marks).mean()) for name, m in maps.items()}
    blob = torch.from_numpy(np.broadcast_to(centre_blob(masks.shape[-1]), masks.shape).copy())
    out["centre_blob_mark_share"] = float(mass_share(blob, marks).mean())
    out["uniform_mark_share"] = float(masks.mean(axis=(1, 2)).mean())
    return out
