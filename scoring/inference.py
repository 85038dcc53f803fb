"""Scoring pandas batches with a registered model: suggestions, qualification and the reason why not.

Runs inside Spark executors (`scoring.transforms.score_listings`, through `mapInPandas`):
`cached_model` loads a model version once per Python worker process (Spark reuses its
workers across tasks) and keeps it; `score_frame` turns one Arrow batch of listings with
their statistics into suggestions, in fixed-size tensor batches, on the GPU when there is
one. The listing is encoded by `ModelInputs.encode_features`, the function training used.
Nothing here touches Spark; nothing is collected to the driver.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from model.conformal import range_offsets
from model.config import MU
from model.inputs import ModelInputs
from model.payload import model_from_payload
from model.predict import predict
from model.price_net import PriceSuggester
from model.qualification import ReasonChecks, names_the_item, not_qualified_reasons
from registry.store import ModelStore


@dataclass
class LoadedModel:
    version: str
    model: PriceSuggester
    inputs: ModelInputs
    device: torch.device
    mu: float


# Scoring runs the model in float64: a float32 kernel's rounding depends on the batch's size (CPU
# libraries pick their blocking by shape), so the same listing scored in another batch moved by
# ~4e-5 in log price, a cent in 1 of 200 suggestions between the batch job and the service, and a
# rerun's MERGE could rewrite rows. In float64 the same listing differs by ~1e-15 across batchings.
# It costs CPU: ~35% more per forward pass at the service's batch sizes, ~4.7x at batch 512
# (CPU float64 convolutions leave oneDNN; docs/BENCHMARKS.md).
INFERENCE_DTYPE = torch.float64


@lru_cache(maxsize=2)  # one per worker process: the model a run scores with (and a pinned one)
def cached_model(store_root: str, version: str) -> LoadedModel:
    payload = ModelStore(store_root).load(version)
    model = model_from_payload(payload)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return LoadedModel(payload["model_version"], model.to(device, INFERENCE_DTYPE).eval(),
                       ModelInputs.from_dict(payload["inputs"]), device, float(payload["train_config"].get("mu", MU)))


def limit_cpu_threads(threads: int | None) -> None:
    """Intra-op threads for CPU inference (no effect on a GPU's work)."""
    if threads and not torch.cuda.is_available():
        torch.set_num_threads(threads)


def score_frame(frame: pd.DataFrame, loaded: LoadedModel, checks: ReasonChecks, batch_size: int,
                category_known_column: str, embeddings: bool = False) -> pd.DataFrame:
    """Listings (photo, text, form fields, statistics) -> suggestion columns, one row per input row;
    with `embeddings`, also each row's comparables embedding (the service's comps), from the same pass."""
    arrays = loaded.inputs.encode_features(frame)
    out = predict(loaded.model, arrays, loaded.device, batch_size, counterfactuals=True, embeddings=embeddings)
    threshold = loaded.model.cfg.qualification_threshold
    category_known = frame[category_known_column].to_numpy(dtype=bool)
    # no price history for the category: the suggestion has nothing to stand on, never qualified
    qualified = (out["score"] >= threshold) & category_known
    reason = not_qualified_reasons(out["score"], out["typical_photo"], out["typical_text"], threshold, category_known,
                                   arrays["image"], names_the_item(arrays["tokens"], loaded.model.cfg.item_words),
                                   checks)
    suggested = np.exp(out["log_price"])
    cfg = loaded.model.cfg
    low, high = range_offsets(cfg.range_offsets, qualified, arrays["form"][:, sorted(cfg.field_sizes).index("category")])
    scored = pd.DataFrame({
        "listing_id": frame["listing_id"].to_numpy(),
        "suggested_price": np.round(suggested, 2),
        # 1e-6 (like the score): stable across batchings, so reruns compare equal; 100x finer than
        # the service's parity check on it
        "log_price": np.round(out["log_price"].astype(np.float64), 6),
        # the seller-gain band: a suggestion s is right for a sale at [s / mu, s]
        "price_low": np.round(suggested / loaded.mu, 2),
        "price_high": np.round(suggested, 2),
        # the calibrated range: where a sold price of a listing like this lands with probability
        # range_level (split conformal on validation, model/conformal.py); null for a model without one
        "range_low": np.round(suggested * np.exp(low), 2),
        "range_high": np.round(suggested * np.exp(high), 2),
        "range_level": np.where(np.isnan(low), np.nan, cfg.range_level),
        "qualified": qualified,
        "qualification_score": np.round(out["score"], 6),  # stable across batchings: reruns compare equal
        "not_qualified_reason": reason,
        "model_version": loaded.version,
    })
    if embeddings:
        scored["embedding"] = list(out["embedding"])
    return scored
