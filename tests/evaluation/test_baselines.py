"""Baselines on hand-made data: what each one can and cannot learn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation import baselines as bl


def test_category_mean_falls_back_to_the_overall_mean():
    train_cat = pd.Series(["a", "a", "b"])
    out = bl.category_mean(train_cat, np.array([1.0, 3.0, 5.0]), pd.Series(["b", "a", "unseen"]))
    assert out.tolist() == pytest.approx([5.0, 2.0, 3.0])


def test_hog_features_have_cells_times_orientations_dims_and_see_edges():
    images = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    images[1, :, :, 16:] = 255  # a vertical edge
    features = bl.hog_features(images, orientations=8, cells=8)
    assert features.shape == (2, 8 * 8 * 8)
    assert features[0].sum() == 0 and features[1].sum() > 0


def test_linear_on_features_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 10))
    y = x @ np.arange(10.0) + 1.0
    pred = bl.linear_on_features(x[:150], y[:150], x[150:], n_components=10)
    assert np.abs(pred - y[150:]).max() < 1e-6


def test_svm_segments_predicts_separable_segments():
    rng = np.random.default_rng(1)
    y = np.repeat([1.0, 2.0, 3.0, 4.0], 40)
    x = np.column_stack([y + rng.normal(scale=0.05, size=len(y)), rng.normal(size=len(y))])
    cfg = bl.BaselineConfig(svm_c=(1.0, 10.0), svm_gamma=(0.1, 1.0), svm_tune_rows=160, svm_fit_rows=160)
    segment, price, params = bl.svm_segments(x, y, x, np.array([1.5, 2.5, 3.5]), cfg)
    assert (segment == np.searchsorted([1.5, 2.5, 3.5], y)).mean() > 0.95
    assert set(np.round(price, 6)) == {1.0, 2.0, 3.0, 4.0} and set(params) == {"C", "gamma"}


def listings(n, seed):
    """Brand words set the price; the form's category adds to it."""
    rng = np.random.default_rng(seed)
    brand = rng.choice(["gucci", "uniqlo", "nike"], n)
    category = rng.choice(["bags", "shoes"], n)
    y = pd.Series(brand).map({"gucci": 8.0, "uniqlo": 4.0, "nike": 5.0}).to_numpy() + (category == "bags") * 1.0
    frame = pd.DataFrame({"title": [f"{b} item" for b in brand], "description": "smoke-free home", "category": category,
                          "brand": None, "condition": "new", "item_type": "bag", "true_brand": brand,
                          "spec_value": "s", "material": None, "true_condition": "new"})
    return frame, y + rng.normal(scale=0.05, size=n)


def test_tfidf_ridge_learns_price_words_and_form_fields():
    train, y = listings(300, 0)
    test, y_test = listings(100, 1)
    cfg = bl.BaselineConfig(ridge_alpha=0.1)
    pred = bl.tfidf_ridge(train, np.zeros((300, 2)), y, test, np.zeros((100, 2)), cfg)
    assert np.abs(pred - y_test).mean() < 0.2


def test_observable_floor_reads_the_true_attributes_per_category():
    train, y = listings(300, 0)
    test, y_test = listings(100, 1)
    train["title"] = test["title"] = "no words at all"  # the floor needs none: it reads listing_truth
    pred = bl.observable_floor(train, y, test, bl.BaselineConfig(floor_alpha=0.1))
    assert np.abs(pred - y_test).mean() < 0.2
