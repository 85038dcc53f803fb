"""Scoring a pandas batch: outputs, the qualification gate and the reasons, without Spark."""
import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from models.inference import (REASON_BLURRY_PHOTO, REASON_DARK_PHOTO, REASON_UNKNOWN_CATEGORY, LoadedModel,
                              ScoringChecks, not_qualified_reason, photo_quality, score_frame)
from models.inputs import ModelInputs
from models.price_net import PriceModelConfig, PriceSuggester
from models.stats_input import StatsNormalizer
from models.text import Vocabulary


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


def test_reasons_first_that_applies_and_none_when_qualified():
    checks = ScoringChecks()
    reason = not_qualified_reason(np.array([False, False, False, True]), np.array([False, True, True, True]),
                                  np.array([10.0, 10.0, 150.0, 10.0]), np.array([0.0, 100.0, 1.0, 0.0]),
                                  np.array([1.0, 1.0, 1.0, 0.0]), checks)
    assert list(reason) == [REASON_UNKNOWN_CATEGORY, REASON_DARK_PHOTO, REASON_BLURRY_PHOTO, None]


@pytest.fixture()
def loaded():
    torch.manual_seed(0)
    cfg = PriceModelConfig(image_size=16, conv_channels=(4, 8), visual_dim=8, vocab_size=12, embedding_dim=4,
                           text_dim=4, n_stats=1, hidden=(8,), log_price_offset=5.0)
    model = PriceSuggester(cfg).eval()
    inputs = ModelInputs(Vocabulary(["nike", "red", "shoes"]), StatsNormalizer(["stat"], [0.0], [1.0]), 16, 32)
    return LoadedModel("v-test", model, inputs, torch.device("cpu"), 1.2)


def test_score_frame_one_row_per_listing_with_band_and_gate(loaded):
    frame = pd.DataFrame({"listing_id": [1, 2, 3], "image": [png(SHARP), png(DARK), None],
                          "title": ["nike shoes", "red", None], "description": ["", None, "x"],
                          "stat": [1.0, None, 2.0], "known": [True, True, False]})
    out = score_frame(frame, loaded, ScoringChecks(), batch_size=2, category_known_column="known")
    assert list(out["listing_id"]) == [1, 2, 3] and (out["model_version"] == "v-test").all()
    assert np.allclose(out["price_high"] / out["price_low"], 1.2, rtol=1e-3)
    assert not out.loc[2, "qualified"] and out.loc[2, "not_qualified_reason"] == REASON_UNKNOWN_CATEGORY
    assert (out["qualified"] == out["not_qualified_reason"].isna()).all()
    # batching does not change the answer
    again = score_frame(frame, loaded, ScoringChecks(), batch_size=3, category_known_column="known")
    pd.testing.assert_frame_equal(out, again)
