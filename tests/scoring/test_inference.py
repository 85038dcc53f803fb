"""Scoring a pandas batch: outputs, the qualification gate and the reasons, without Spark."""
import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from model.config import PriceModelConfig
from model.inputs import ModelInputs
from model.payload import IncompatibleModel, model_from_payload, model_payload
from model.price_net import PriceSuggester
from model.qualification import (REASON_BLURRY_PHOTO, REASON_DARK_PHOTO, REASON_NO_DETAILS, REASON_UNCERTAIN,
                                 REASON_UNCLEAR_PHOTO, REASON_UNKNOWN_CATEGORY, REASONS, ReasonChecks, fit_item_words,
                                 names_the_item, not_qualified_reasons, photo_quality)
from model.stats_input import StatsNormalizer
from model.text import Vocabulary
from scoring.inference import LoadedModel, score_frame


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


RNG = np.random.default_rng(0)
SHARP = RNG.integers(0, 256, (16, 16, 3))
DARK = SHARP // 8
FLAT = np.full((16, 16, 3), 150)


def test_photo_quality_separates_dark_and_flat_from_sharp():
    images = np.stack([p.transpose(2, 0, 1) for p in (SHARP, DARK, FLAT)]).astype(np.uint8)
    luminance, sharpness = photo_quality(images)
    assert luminance[1] < 80 <= luminance[0] and sharpness[2] == 0 < 20 < sharpness[0]


def test_reasons_blame_defective_photos_and_texts_then_what_a_typical_photo_would_fix():
    images = np.stack([p.transpose(2, 0, 1) for p in (SHARP, DARK, FLAT, SHARP, SHARP, SHARP, SHARP, SHARP)]
                      ).astype(np.uint8)
    score = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.9])
    # rows 1-2: the pixel checks blame the photo whatever the counterfactuals say; row 6: the text
    # names nothing, so it is blamed although a typical photo would qualify the listing
    typical_photo = np.array([0.8, 0.3, 0.3, 0.8, 0.3, 0.42, 0.8, 0.9])  # rows 0, 3, 6: a typical photo would qualify
    # row 4: a typical text would qualify it, and would help more than a typical photo: the photo is
    # not blamed, nor is a text that names the item (the counterfactual is no evidence against it)
    typical_text = np.array([0.3, 0.3, 0.3, 0.3, 0.9, 0.40, 0.3, 0.9])
    typical_photo[4] = 0.8
    known = np.array([False, True, True, True, True, True, True, True])
    names_item = np.array([True, False, True, True, True, True, False, True])  # row 1: the dark photo comes first
    reasons = not_qualified_reasons(score, typical_photo, typical_text, 0.5, known, images, names_item,
                                    ReasonChecks(margin=0.15))
    assert list(reasons) == [REASON_UNKNOWN_CATEGORY, REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, REASON_UNCLEAR_PHOTO,
                             REASON_UNCERTAIN, REASON_UNCERTAIN,  # row 5: neither gain reaches the margin
                             REASON_NO_DETAILS, None]
    assert not any("add photos" in r for r in REASONS)  # a listing has one photo: never ask for more


def test_item_words_are_the_words_concentrated_in_a_category():
    # ids: 2 "selling" (everywhere), 3 "phone" (category 0), 4 "jacket" (category 1), 5 a word seen
    # in two listings of category 1 only (too few to tell); bigram ids (>= vocab_size) are ignored
    category = np.repeat(np.arange(4), 40)
    tokens = np.zeros((160, 3), np.int64)
    tokens[:, 0] = 2
    tokens[category == 0, 1], tokens[category == 1, 1] = 3, 4
    tokens[40:42, 2] = 5
    tokens[42:44, 2] = 99
    words = fit_item_words(tokens, category, vocab_size=6)
    assert words == (3, 4)
    useless = np.array([[2, 0, 0], [2, 2, 0]])  # "selling", "selling selling"
    unseen = np.array([[2, 1, 0]])  # "selling <a word the vocabulary never saw>": perhaps a new brand
    assert list(names_the_item(np.vstack([tokens[:2], useless, unseen]), words)) == [True, True, False, False, True]
    assert names_the_item(useless, ()).all()  # a model without fitted item words blames no text on its own


@pytest.fixture()
def loaded():
    torch.manual_seed(0)
    cfg = PriceModelConfig(image_size=16, conv_channels=(4, 8), vocab_size=5, bigram_buckets=8, text_length=4,
                           embedding_dim=4, field_sizes={"brand": 2, "category": 3, "condition": 2}, field_dim=2,
                           fusion_dim=4, n_stats=1, hidden=(8,), log_price_offset=5.0)
    model = PriceSuggester(cfg).eval()
    inputs = ModelInputs(Vocabulary(["nike", "red", "shoes"]), StatsNormalizer(["stat"], [0.0], [1.0]), 16, 4, 8,
                         {"brand": ["nike"], "category": ["phones", "shoes"], "condition": ["new"]})
    return LoadedModel("v-test", model, inputs, torch.device("cpu"), 1.2)


def test_score_frame_one_row_per_listing_with_band_and_gate(loaded):
    frame = pd.DataFrame({"listing_id": [1, 2, 3], "image": [png(SHARP), png(DARK), None],
                          "title": ["nike shoes", "red", None], "description": ["", None, "x"],
                          "brand": ["nike", None, "unseen"], "category": ["shoes", "phones", "boats"],
                          "condition": [None, "new", "new"], "stat": [1.0, None, 2.0], "known": [True, True, False]})
    out = score_frame(frame, loaded, ReasonChecks(), batch_size=2, category_known_column="known")
    assert list(out["listing_id"]) == [1, 2, 3] and (out["model_version"] == "v-test").all()
    assert np.allclose(out["price_high"] / out["price_low"], 1.2, rtol=1e-3)
    assert not out.loc[2, "qualified"] and out.loc[2, "not_qualified_reason"] == REASON_UNKNOWN_CATEGORY
    assert (out["qualified"] == out["not_qualified_reason"].isna()).all()
    # the gate is the model's fitted threshold, not 0.5
    loaded.model.cfg.qualification_threshold = float(out["qualification_score"].max()) + 1e-6
    assert not score_frame(frame, loaded, ReasonChecks(), 2, "known")["qualified"].any()
    loaded.model.cfg.qualification_threshold = 0.0
    assert list(score_frame(frame, loaded, ReasonChecks(), 2, "known")["qualified"]) == [True, True, False]
    # batching does not change the answer
    pd.testing.assert_frame_equal(score_frame(frame, loaded, ReasonChecks(), batch_size=2, category_known_column="known"),
                                  score_frame(frame, loaded, ReasonChecks(), batch_size=3, category_known_column="known"))


def test_score_frame_range_comes_from_the_fitted_offsets_and_is_null_without_them(loaded):
    frame = pd.DataFrame({"listing_id": [1, 2], "image": [png(SHARP), png(SHARP)], "title": ["nike shoes", "nike"],
                          "description": ["", ""], "brand": ["nike", "nike"], "category": ["shoes", "phones"],
                          "condition": ["new", "new"], "stat": [1.0, 1.0], "known": [True, True]})
    out = score_frame(frame, loaded, ReasonChecks(), 2, "known")
    assert out[["range_low", "range_high", "range_level"]].isna().all().all()  # a model saved before the range
    loaded.model.cfg.qualification_threshold = 0.0  # both qualified
    # shoes (category id 2) has offsets of its own; phones (id 1) falls back to the qualified bucket's
    loaded.model.cfg.range_offsets = {"1:2": (-0.5, 0.25), "1:*": (-1.0, 1.0), "*:*": (-2.0, 2.0)}
    out = score_frame(frame, loaded, ReasonChecks(), 2, "known")
    s = out["suggested_price"].to_numpy()
    assert np.allclose(out["range_low"], s * np.exp([-0.5, -1.0]), rtol=1e-3)
    assert np.allclose(out["range_high"], s * np.exp([0.25, 1.0]), rtol=1e-3)
    assert (out["range_level"] == 0.8).all()


def test_payload_round_trip_and_an_old_format_is_named(loaded):
    payload = model_payload(loaded.model, {"mu": 1.2}, loaded.inputs, {"version": 3}, "v-test", "abc")
    restored = model_from_payload(payload)
    assert all(torch.equal(v, restored.state_dict()[k]) for k, v in loaded.model.state_dict().items())
    assert ModelInputs.from_dict(payload["inputs"]) == loaded.inputs
    old = {k: v for k, v in payload.items() if k != "format"}  # saved before payload formats existed
    with pytest.raises(IncompatibleModel, match="payload format 1.*format 2"):
        model_from_payload(old)
