"""Scoring pandas batches with a registered model: suggestions, qualification and the reason why not.

Runs inside Spark executors (`features.scoring.score_listings`, through `mapInPandas`):
`cached_model` loads a model version once per Python worker process (Spark reuses its
workers across tasks) and keeps it; `score_frame` turns one Arrow batch of listings with
their statistics into suggestions, in fixed-size tensor batches, on the GPU when there is
one. Nothing here touches Spark; nothing is collected to the driver.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from models.inputs import ModelInputs, decode_png
from models.price_net import QUALIFIED_AT, PriceModelConfig, PriceSuggester
from models.store import ModelStore
from models.train import to_device

# Why a listing is not qualified, first that applies. The checks are what the job saw in the
# inputs (statistics coverage, pixels) and in the model's own outputs (how much the text moved
# the suggestion); `listing_truth` plays no part.
REASON_UNKNOWN_CATEGORY = "unknown category: no price history to compare with"
REASON_DARK_PHOTO = "photo too dark: retake it in better light"
REASON_BLURRY_PHOTO = "photo blurry: retake it in focus"
REASON_NO_DETAILS = "description has no item details: add brand, model, size or condition"
REASON_UNCERTAIN = "the model is not confident about this item: add photos and details"


@dataclass(frozen=True)
class ScoringChecks:
    dark_luminance: float = 80.0  # mean pixel value (0-255) below which a photo is "too dark"
    blur_sharpness: float = 20.0  # variance of the Laplacian below which a photo is "blurry"
    text_influence: float = 0.05  # |log price change| when the text is removed, below which it says nothing


@dataclass
class LoadedModel:
    version: str
    model: PriceSuggester
    inputs: ModelInputs
    device: torch.device
    mu: float


def model_from_payload(payload: dict) -> PriceSuggester:
    """A registered model's network with its weights (a ModelStore.load payload)."""
    model = PriceSuggester(PriceModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return model


@lru_cache(maxsize=2)  # one per worker process: the model a run scores with (and a pinned one)
def cached_model(store_root: str, version: str) -> LoadedModel:
    payload = ModelStore(store_root).load(version)
    model = model_from_payload(payload)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return LoadedModel(payload["model_version"], model.to(device).eval(), ModelInputs.from_dict(payload["inputs"]),
                       device, float(payload["train_config"].get("mu", 1.2)))


def limit_cpu_threads(threads: int | None) -> None:
    """Intra-op threads for CPU inference (no effect on a GPU's work)."""
    if threads and not torch.cuda.is_available():
        torch.set_num_threads(threads)


def photo_quality(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean luminance, variance of the 4-neighbour Laplacian) per uint8 [N, 3, H, W] photo."""
    grey = images.astype(np.float32).mean(axis=1)
    lap = (grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] + grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] - 4 * grey[:, 1:-1, 1:-1])
    return grey.mean(axis=(1, 2)), lap.var(axis=(1, 2))


@torch.no_grad()
def predict(loaded: LoadedModel, image: np.ndarray, tokens: np.ndarray, stats: np.ndarray,
            batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log price, qualification probability, log price without the text) per row.

    The counterfactual (the same listing with its text removed) explains "not qualified",
    so it is computed for unqualified rows only (NaN elsewhere): a qualified majority then
    costs one forward pass, not two.
    """
    model, device = loaded.model, loaded.device

    def tensors(rows):
        batch = to_device({"image": torch.from_numpy(image[rows]), "tokens": torch.from_numpy(tokens[rows]),
                           "stats": torch.from_numpy(stats[rows])}, device)
        return batch["image"], batch["tokens"], batch["stats"]

    n = len(image)
    log_price, probability, log_no_text = np.zeros(n), np.zeros(n), np.full(n, np.nan)
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        price, logit = model(*tensors(rows))
        log_price[rows], probability[rows] = price.double().cpu().numpy(), torch.sigmoid(logit).double().cpu().numpy()
    unqualified = np.flatnonzero(probability < QUALIFIED_AT)
    for start in range(0, len(unqualified), batch_size):
        rows = unqualified[start:start + batch_size]
        img, tok, st = tensors(rows)
        log_no_text[rows] = model.log_price(img, torch.zeros_like(tok), st).double().cpu().numpy()
    return log_price, probability, log_no_text


def not_qualified_reason(qualified: np.ndarray, category_known: np.ndarray, luminance: np.ndarray,
                         sharpness: np.ndarray, text_effect: np.ndarray, checks: ScoringChecks) -> np.ndarray:
    """The first reason that applies to each unqualified row (None for qualified rows)."""
    conditions = [~category_known, luminance < checks.dark_luminance, sharpness < checks.blur_sharpness,
                  text_effect < checks.text_influence]
    choices = [REASON_UNKNOWN_CATEGORY, REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, REASON_NO_DETAILS]
    reason = np.select(conditions, choices, default=REASON_UNCERTAIN).astype(object)
    reason[qualified] = None
    return reason


def score_frame(frame: pd.DataFrame, loaded: LoadedModel, checks: ScoringChecks, batch_size: int,
                category_known_column: str) -> pd.DataFrame:
    """Listings (image, title, description, statistics) -> suggestion columns, one row per input row."""
    inputs = loaded.inputs
    size = inputs.image_size
    image = (np.stack([decode_png(b, size) for b in frame["image"]]) if len(frame)
             else np.zeros((0, 3, size, size), np.uint8))
    tokens = inputs.vocabulary.encode((frame["title"].fillna("") + " " + frame["description"].fillna("")).tolist(),
                                      inputs.text_length)
    stats = inputs.stats.transform(frame[inputs.stats_columns].to_numpy(dtype=np.float64))
    log_price, probability, log_no_text = predict(loaded, image, tokens, stats, batch_size)
    luminance, sharpness = photo_quality(image) if len(frame) else (np.zeros(0), np.zeros(0))
    category_known = frame[category_known_column].to_numpy(dtype=bool)
    # no price history for the category: the suggestion has nothing to stand on, never qualified
    qualified = (probability >= QUALIFIED_AT) & category_known
    text_effect = np.nan_to_num(np.abs(log_price - log_no_text), nan=np.inf)  # NaN: not computed (qualified)
    reason = not_qualified_reason(qualified, category_known, luminance, sharpness, text_effect, checks)
    suggested = np.exp(log_price)
    return pd.DataFrame({
        "listing_id": frame["listing_id"].to_numpy(),
        "suggested_price": np.round(suggested, 2),
        # the seller-gain band: a suggestion s is right for a sale at [s / mu, s]
        "price_low": np.round(suggested / loaded.mu, 2),
        "price_high": np.round(suggested, 2),
        "qualified": qualified,
        "qualification_score": np.round(probability, 6),  # stable across batchings: reruns compare equal
        "not_qualified_reason": reason,
        "model_version": loaded.version,
    })
