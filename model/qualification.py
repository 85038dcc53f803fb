"""Who gets a suggestion, and why not: the decision threshold, reference embeddings, reasons.

Fitted after training, on the validation split, never on test:
  threshold   percentile constraint: the score above which delta of the validation listings
              lie, so the share of qualified listings is delta rather than wherever the
              batch-level hinge happened to settle (it overshot delta by 5-9 points);
              other constraints keep the paper's 0.5
  references  per category, the classifier's mean photo and text embeddings over the
              qualified validation listings: "a typical photo / text" of the category
  item words  the words that say what the item is (fit_item_words), for the text check
Reasons for an unqualified listing, first that applies:
  unknown category                   no price history to compare with
  photo too dark / blurry            the pixel checks, on their own: on the demo's test and
                                     validation splits every unqualified photo they flag is
                                     a real defect (precision 1.0, 83 of 1,256 listings),
                                     while the classifier scores defective photos no lower
                                     than clean ones (mean 0.57 either way), so its
                                     counterfactual cannot find them
  no item words in the text          the text check, on its own: none of the words that say
                                     what the item is (`item_words`: words concentrated in
                                     one category, such as its nouns, brands and specs).
                                     "selling, DM me" says nothing a price could stand on
  the photo is what holds it back    with its category's typical photo it would qualify, its
                                     score would rise by at least `margin`, and by at least as
                                     much as with its category's typical text
  otherwise                          items like this vary too much in price to suggest one
No reason asks for what the product cannot take (a listing has one photo). The text is never
blamed through the classifier's counterfactual: "a typical text would qualify it" was right
about a useless text for 0.40 / 0.15 of the listings it blamed (random / out-of-time split),
the text check for all of them (docs/MODEL_DESIGN.md, "Reasons").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.conformal import fit_offsets
from model.config import QUALIFIED_AT, TrainConfig
from model.predict import predict
from model.price_net import PriceSuggester
from model.text import UNK as UNKNOWN_WORD
from training.train import input_batches

REASON_UNKNOWN_CATEGORY = "unknown category: no price history to compare with"
REASON_DARK_PHOTO = "photo too dark: retake it in better light"
REASON_BLURRY_PHOTO = "photo blurry: retake it in focus"
REASON_UNCLEAR_PHOTO = "photo does not show the item clearly: retake it whole, centred, on a plain background"
REASON_NO_DETAILS = "description has no item details: add brand, model, size, material or condition"
REASON_UNCERTAIN = "items like this vary too much in price for a confident suggestion"
REASONS = (REASON_UNKNOWN_CATEGORY, REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, REASON_UNCLEAR_PHOTO,
           REASON_NO_DETAILS, REASON_UNCERTAIN)
PHOTO_REASONS = (REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, REASON_UNCLEAR_PHOTO)


@dataclass(frozen=True)
class ReasonChecks:
    dark_luminance: float = 80.0  # mean pixel value (0-255) below which a photo is "too dark"
    blur_sharpness: float = 20.0  # variance of the Laplacian below which a photo is "blurry"
    # a typical photo must raise the qualification score by at least this much to blame the photo
    margin: float = 0.15

    @classmethod
    def from_conf(cls, scoring) -> "ReasonChecks":
        """From conf's `scoring` section (conf/base/scoring.yaml)."""
        return cls(scoring.dark_luminance, scoring.blur_sharpness, scoring.reason_margin)


def fit_item_words(tokens: np.ndarray, category: np.ndarray, vocab_size: int, min_lift: float = 3.0,
                   prior_listings: float = 20.0) -> tuple[int, ...]:
    """Word ids that say what the item is: at least `min_lift` times as likely in one category
    as in the listings at large (P(c | w) / P(c)).

    Category nouns, brands, sizes and specs qualify; "selling", "DM", "negotiable", colours and
    pleasantries are spread over every category and do not. P(c | w) is shrunk towards P(c)
    by `prior_listings` pseudo-listings: with a raw ratio, the boilerplate of useless texts
    reached a lift of 2-4 in some category by chance (a maximum over 13 categories of ~20
    listings each) and the check missed 80 % of them. Padding, unknown words and bigram ids
    never count.
    """
    rows, cols = np.nonzero((tokens >= 2) & (tokens < vocab_size))
    pairs = np.unique(rows.astype(np.int64) * vocab_size + tokens[rows, cols])  # a word counts once per listing
    listing, word = pairs // vocab_size, pairs % vocab_size
    n_categories = int(category.max()) + 1 if len(category) else 0
    counts = np.zeros((vocab_size, n_categories))
    np.add.at(counts, (word, category[listing]), 1.0)
    base = np.bincount(category, minlength=n_categories) / max(len(category), 1)
    share = (counts + prior_listings * base[None, :]) / (counts.sum(axis=1, keepdims=True) + prior_listings)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.nan_to_num(share / base[None, :]).max(axis=1) if n_categories else np.zeros(vocab_size)
    return tuple(int(w) for w in np.flatnonzero(lift >= min_lift))


def names_the_item(tokens: np.ndarray, item_words: tuple[int, ...]) -> np.ndarray:
    """Per row: might the text say what the item is? True when it holds an item word, or a word
    the vocabulary has never seen (a new brand or model name: the benefit of the doubt). All
    True without fitted item words."""
    if not item_words:
        return np.ones(len(tokens), dtype=bool)
    return (np.isin(tokens, np.asarray(item_words)) | (tokens == UNKNOWN_WORD)).any(axis=1)


def fit_threshold(scores: np.ndarray, train_cfg: TrainConfig) -> float:
    """The decision threshold on validation scores: delta qualify under the percentile constraint."""
    if train_cfg.constraint != "percentile" or not len(scores):
        return QUALIFIED_AT
    return float(np.quantile(scores, 1.0 - train_cfg.delta))


@torch.no_grad()
def classifier_embeddings(model: PriceSuggester, arrays: dict[str, np.ndarray], device: torch.device,
                          batch_size: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(qualification scores [N], photo embeddings [N, d], text embeddings [N, d]) of the classifier."""
    model.eval().to(device)
    scores, visual, text = [], [], []
    for _, batch in input_batches(arrays, batch_size, device):
        encoded = model.classifier.encode(*batch)
        scores.append(torch.sigmoid(model.classifier.decide(encoded).value).cpu())
        visual.append(encoded.visual.cpu())
        text.append(encoded.text.cpu())
    return torch.cat(scores).numpy(), torch.cat(visual).numpy(), torch.cat(text).numpy()


def fit_qualification(model: PriceSuggester, train_cfg: TrainConfig, validation: dict[str, np.ndarray],
                      device: torch.device) -> float:
    """Set the model's threshold, price range offsets (model.conformal), reference embeddings and
    item words from the validation arrays; returns the threshold."""
    category = validation["form"][:, sorted(model.cfg.field_sizes).index("category")]
    if model.cfg.use_text:
        model.cfg.item_words = fit_item_words(validation["tokens"], category, model.cfg.vocab_size)
    out = predict(model, validation, device)
    threshold = model.cfg.qualification_threshold = fit_threshold(out["score"], train_cfg)
    qualified = out["score"] >= threshold
    sold = validation["is_sold"] > 0.5
    model.cfg.range_offsets = fit_offsets(validation["log_sold"][sold] - out["log_price"][sold], qualified[sold],
                                          category[sold], model.cfg.range_level, model.cfg.range_min_rows)
    if not model.cfg.fused:  # an ablation without photo or text: nothing to fit references for
        return threshold
    _, visual, text = classifier_embeddings(model, validation, device)
    for c in range(len(model.reference_visual)):
        rows = (category == c) & qualified
        if not rows.any():  # no qualified listing of the category: all of its listings
            rows = category == c
        if rows.any():
            model.reference_visual[c] = torch.from_numpy(visual[rows].mean(0))
            model.reference_text[c] = torch.from_numpy(text[rows].mean(0))
    return threshold


def photo_quality(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean luminance, variance of the 4-neighbour Laplacian) per uint8 [N, 3, H, W] photo."""
    if not len(images):
        return np.zeros(0), np.zeros(0)
    grey = images.astype(np.float32).mean(axis=1)
    lap = (grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] + grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] - 4 * grey[:, 1:-1, 1:-1])
    return grey.mean(axis=(1, 2)), lap.var(axis=(1, 2))


def not_qualified_reasons(score: np.ndarray, typical_photo: np.ndarray, typical_text: np.ndarray,
                          threshold: float, category_known: np.ndarray, images: np.ndarray,
                          names_item: np.ndarray, checks: ReasonChecks) -> np.ndarray:
    """The first reason that applies to each unqualified row (None for qualified rows).

    `typical_photo` / `typical_text`: the qualification score with the category's typical
    photo / text embedding in place of the listing's own. `names_item`: names_the_item.
    """
    qualified = (score >= threshold) & category_known
    photo_gain, text_gain = typical_photo - score, typical_text - score
    blame_photo = (typical_photo >= threshold) & (photo_gain >= checks.margin) & (photo_gain >= text_gain)
    luminance, sharpness = photo_quality(images)
    conditions = [~category_known, luminance < checks.dark_luminance, sharpness < checks.blur_sharpness,
                  ~names_item, blame_photo]
    choices = [REASON_UNKNOWN_CATEGORY, REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, REASON_NO_DETAILS,
               REASON_UNCLEAR_PHOTO]
    reason = np.select(conditions, choices, default=REASON_UNCERTAIN).astype(object)
    reason[qualified] = None
    return reason
