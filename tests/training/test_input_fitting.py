"""The model's inputs fitted in Spark (training/input_fitting.py), the one fitting that training
and the evaluation share: vocabulary, form-field values and statistics normalisation follow
their documented rules on rows with missing statistics, missing fields and empty texts.

(Until 2026-12-01 the evaluation fitted them a second time, in pandas; this test compared the
two and found the Spark fit counting missing statistics as 0.)
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from model.text import tokenize
from training.input_fitting import fit_inputs

STATS = ["category__sold_q2", "seller__sold_mean"]
SETTINGS = dict(vocab_size=12, image_size=8, text_length=6, bigram_buckets=4, field_min_count=2)


def train_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "title": ["red phone", "red phone", None, "blue watch", "blue watch rolex", "old jacket"],
        "description": ["good phone", "", "phone only", "blue blue", None, "jacket, worn"],
        "brand": ["acme", "acme", None, "rolex", "rolex", "zed"],
        "category": ["phones", "phones", "phones", "watches", "watches", "fashion"],
        "condition": ["good", "good", "worn", None, "good", "worn"],
        STATS[0]: [100.0, 100.0, 120.0, np.nan, 800.0, 30.0],
        STATS[1]: [np.nan, 50.0, np.nan, 5.0, 0.0, 40.0],
    })


@pytest.mark.parametrize("min_count", [1, 2])
def test_spark_fit_follows_the_documented_rules(spark, min_count):
    rows = train_rows()
    inputs = fit_inputs(spark.createDataFrame(rows), STATS, min_count=min_count, **SETTINGS)

    # words of title + description seen at least min_count times, by count then alphabetically
    counts = Counter(t for title, text in zip(rows["title"], rows["description"])
                     for t in tokenize(f"{title or ''} {text or ''}"))
    ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    assert inputs.vocabulary.words == ranked[: SETTINGS["vocab_size"] - 2]
    assert inputs.vocabulary.words[:2] == ["blue", "phone"]  # 4 and 4 occurrences; "red" has 2
    # form-field values with at least field_min_count rows, sorted; missing ones never count
    assert inputs.fields == {"brand": ["acme", "rolex"], "category": ["phones", "watches"],
                             "condition": ["good", "worn"]}
    # statistics: log1p, mean and population spread over the rows that have the value
    logs = np.log1p(rows[STATS].to_numpy())
    np.testing.assert_allclose(inputs.stats.mean, np.nanmean(logs, axis=0), rtol=1e-9)
    np.testing.assert_allclose(inputs.stats.std, np.nanstd(logs, axis=0), rtol=1e-9)
    assert inputs.stats.columns == STATS


def test_a_statistic_missing_everywhere_standardises_to_zero_with_its_flag(spark):
    rows = train_rows().assign(**{STATS[1]: np.nan})
    inputs = fit_inputs(spark.createDataFrame(rows), STATS, min_count=1, **SETTINGS)
    assert inputs.stats.mean[1] == 0.0 and inputs.stats.std[1] == 1.0
    out = inputs.stats.transform(np.array([[100.0, np.nan]]))
    assert out[0, 1] == 0.0 and out[0, 3] == 1.0  # value 0 (the mean), flagged missing
