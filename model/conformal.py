"""The calibrated price range: split-conformal bounds on where a listing's sold price falls.

The seller-gain band [s / mu, s] says where a suggestion s is *right*; the range says where the
sold price of a listing like this one *lands*, with a stated probability (`range_level`).
Both are columns of `price_suggestions`.

Split conformal (Mondrian, by group): on the validation split's sold items, the residual
r = log sold − log suggestion is computed with the trained model. For a level 1 − α, the
range's offsets are the order statistics r_(k_lo) and r_(k_hi) of the n residuals of the
item's group, k_lo = ⌊(n + 1) α/2⌋ and k_hi = ⌈(n + 1)(1 − α/2)⌉, so that for a new,
exchangeable item P(r_(k_lo) ≤ r ≤ r_(k_hi)) ≥ 1 − α, and at most 1 − α + 2/(n + 1). The
range is [s · e^r_(k_lo), s · e^r_(k_hi)]: asymmetric, because a seller-gain suggestion sits
above the sold price on purpose, and the residuals carry that offset.

Groups: (qualified or not) × category where the group has at least `min_rows` sold
validation items; else (qualified or not) across categories; else every item. The coverage
holds within each group that has its own offsets, so the qualified listings' range is the
narrower one whenever the qualification score means anything.
"""
from __future__ import annotations

import math

import numpy as np

ANY = "*"


def group_key(qualified: bool | str, category: int | str) -> str:
    """The offsets' key: "1:7" (qualified, category 7), "0:*" (unqualified, any category), "*:*"."""
    bucket = qualified if qualified == ANY else str(int(bool(qualified)))
    return f"{bucket}:{category}"


def conformal_offsets(residuals: np.ndarray, level: float) -> tuple[float, float] | None:
    """(r_(k_lo), r_(k_hi)) of the residuals for coverage >= level; None when too few rows for that level."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"range level must be in (0, 1), got {level}")
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    n, alpha = len(r), 1.0 - level
    # the 1e-9 keeps (n + 1) * alpha / 2 from rounding below a whole number it equals
    k_lo, k_hi = math.floor((n + 1) * alpha / 2 + 1e-9), math.ceil((n + 1) * (1 - alpha / 2) - 1e-9)
    if k_lo < 1 or k_hi > n:
        return None
    return float(r[k_lo - 1]), float(r[k_hi - 1])


def fit_offsets(residuals: np.ndarray, qualified: np.ndarray, category: np.ndarray, level: float,
                min_rows: int) -> dict[str, tuple[float, float]]:
    """The offsets of every group with at least `min_rows` rows (and enough for the level), by group_key."""
    residuals, qualified, category = np.asarray(residuals), np.asarray(qualified, dtype=bool), np.asarray(category)
    groups = {group_key(ANY, ANY): np.ones(len(residuals), dtype=bool)}
    for bucket in (False, True):
        groups[group_key(bucket, ANY)] = qualified == bucket
        for c in np.unique(category):
            groups[group_key(bucket, int(c))] = (qualified == bucket) & (category == c)
    table = {}
    for key, rows in groups.items():
        if rows.sum() >= max(min_rows, 1) and (offsets := conformal_offsets(residuals[rows], level)) is not None:
            table[key] = offsets
    return table


def range_offsets(table: dict[str, tuple[float, float]], qualified: np.ndarray,
                  category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the (low, high) log offsets of the most specific group the table has (NaN: none)."""
    low, high = np.full(len(qualified), np.nan), np.full(len(qualified), np.nan)
    for i, (q, c) in enumerate(zip(np.asarray(qualified, dtype=bool), np.asarray(category))):
        for key in (group_key(q, int(c)), group_key(q, ANY), group_key(ANY, ANY)):
            if key in table:
                low[i], high[i] = table[key]
                break
    return low, high
