"""Evaluation metrics on log prices (numpy in, floats out): the published ones and the usual ones.

Regression      MALE, RMSLE on log prices; RMSE, MAE, R² in currency (exp of the logs).
Seller gain     a sold item's suggestion should fall in [log sold, log sold + log mu], an unsold
                item's in [log list + log nu, log list] ("mu * p" on log prices = adding log mu).
  SMLE    mean distance of sold items' suggestions to their band (0 inside it)
  SPDMLE  mean (log sold - suggestion) over sold items below the band
  SPIMLE  mean (suggestion - log sold - log mu) over sold items above it
  UMLE, UPDMLE, UPIMLE: the same for unsold items and their band.
  The published SMLE/UMLE formulas write min(..., 0), which is never positive; the text
  defines them as distances to the band, so this is the distance: max(low - s, s - high, 0).
Segments        macro precision, recall and F1 of the price segment (quartiles of the train
                split's sold prices) implied by the suggestion vs the true one.
An empty subset gives NaN (not 0: "no items" is not "no error").
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, precision_recall_fscore_support, r2_score

from model.config import MU, NU

SELLER_GAIN_METRICS = ("SMLE", "SPDMLE", "SPIMLE", "UMLE", "UPDMLE", "UPIMLE")
REGRESSION_METRICS = ("MALE", "RMSLE", "RMSE", "MAE", "R2")
SEGMENT_METRICS = ("segment_precision", "segment_recall", "segment_f1")


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def male(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute log error."""
    return _mean(np.abs(np.asarray(pred, float) - np.asarray(target, float)))


def rmsle(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared log error (pred and target are already logs)."""
    errors = np.asarray(pred, float) - np.asarray(target, float)
    return math.sqrt(_mean(errors ** 2)) if len(errors) else math.nan


def currency_errors(pred_log: np.ndarray, target_log: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of exp(pred) against exp(target): the errors a seller sees in CNY."""
    pred, target = np.exp(np.asarray(pred_log, float)), np.exp(np.asarray(target_log, float))
    if not len(target):
        return {"RMSE": math.nan, "MAE": math.nan, "R2": math.nan}
    r2 = float(r2_score(target, pred)) if len(target) > 1 and np.ptp(target) > 0 else math.nan  # undefined
    return {"RMSE": math.sqrt(mean_squared_error(target, pred)), "MAE": float(mean_absolute_error(target, pred)),
            "R2": r2}


def regression_metrics(pred_log: np.ndarray, target_log: np.ndarray) -> dict[str, float]:
    return {"MALE": male(pred_log, target_log), "RMSLE": rmsle(pred_log, target_log),
            **currency_errors(pred_log, target_log)}


def band_metrics(pred: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float, float]:
    """(mean distance to [low, high], mean shortfall of those below, mean excess of those above)."""
    pred, low, high = (np.asarray(x, float) for x in (pred, low, high))
    below, above = np.maximum(low - pred, 0.0), np.maximum(pred - high, 0.0)
    return _mean(below + above), _mean(below[below > 0]), _mean(above[above > 0])


def seller_gain_metrics(pred: np.ndarray, log_sold: np.ndarray, log_list: np.ndarray, is_sold: np.ndarray,
                        mu: float = MU, nu: float = NU) -> dict[str, float]:
    """SMLE, SPDMLE, SPIMLE over sold items; UMLE, UPDMLE, UPIMLE over unsold ones."""
    pred, sold = np.asarray(pred, float), np.asarray(is_sold).astype(bool)
    log_sold, log_list = np.asarray(log_sold, float), np.asarray(log_list, float)
    s = band_metrics(pred[sold], log_sold[sold], log_sold[sold] + math.log(mu))
    u = band_metrics(pred[~sold], log_list[~sold] + math.log(nu), log_list[~sold])
    return dict(zip(SELLER_GAIN_METRICS, (*s, *u)))


def segment_edges(train_log_sold: np.ndarray) -> np.ndarray:
    """Quartile edges (3 values) of the train split's log sold prices: 4 price segments."""
    return np.quantile(np.asarray(train_log_sold, float), [0.25, 0.5, 0.75])


def price_segment(log_price: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Segment 0..len(edges) of each log price (a price on an edge goes to the upper segment)."""
    return np.searchsorted(edges, np.asarray(log_price, float), side="right")


def segment_metrics(pred_segment: np.ndarray, true_segment: np.ndarray) -> dict[str, float]:
    """Macro precision, recall and F1 over the segments: scikit-learn's, the `f1_macro` the SVM
    baseline is tuned on (a segment never predicted has precision 0: zero_division=0)."""
    if not len(true_segment):
        return dict.fromkeys(SEGMENT_METRICS, math.nan)
    scores = precision_recall_fscore_support(true_segment, pred_segment, average="macro", zero_division=0)[:3]
    return dict(zip(SEGMENT_METRICS, map(float, scores)))


def all_metrics(frame: pd.DataFrame, edges: np.ndarray, mu: float = MU, nu: float = NU) -> dict[str, float]:
    """Every metric of one set of items.

    `frame` columns: pred (suggested log price), is_sold, log_sold (NaN when unsold), log_list.
    Regression and segment metrics are on sold items (only they have a sold price).
    """
    sold = frame["is_sold"].to_numpy().astype(bool)
    pred = frame["pred"].to_numpy(float)
    log_sold = frame["log_sold"].to_numpy(float)
    out = {"items": float(len(frame)), "sold_items": float(sold.sum())}
    out.update(regression_metrics(pred[sold], log_sold[sold]))
    out.update(seller_gain_metrics(pred, np.nan_to_num(log_sold), frame["log_list"].to_numpy(float), sold, mu, nu))
    out.update(segment_metrics(price_segment(pred[sold], edges), price_segment(log_sold[sold], edges)))
    return out


def metrics_by_qualification(frame: pd.DataFrame, edges: np.ndarray, mu: float = MU,
                             nu: float = NU) -> dict[str, dict[str, float]]:
    """all_metrics on all, positive and negative items; `frame` adds a boolean `positive` column
    (the model's own decision: its score at its fitted threshold, or a gate it is scored on).

    A frame without `positive` (a model with no classifier) has only "all".
    """
    out = {"all": all_metrics(frame, edges, mu, nu)}
    if "positive" in frame:
        positive = frame["positive"].to_numpy(bool)
        out["all"]["positive_share"] = float(positive.mean()) if len(frame) else math.nan
        out["positive"] = all_metrics(frame[positive], edges, mu, nu)
        out["negative"] = all_metrics(frame[~positive], edges, mu, nu)
    return out
