"""The model's inputs fitted in Spark (the training job) and in pandas (the evaluation) agree.

Pins the behaviour before the two fitting paths become one (issue 13): on the same train rows,
with missing statistics, missing form fields and empty texts, both give the same vocabulary,
form-field values and statistics normalisation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.train_price_model import fit_inputs
from models.evaluation import fit_split

STATS = ["category__sold_q2", "seller__sold_mean"]
SETTINGS = dict(vocab_size=12, image_size=8, text_length=6, bigram_buckets=4, field_min_count=2)


def train_rows() -> pd.DataFrame:
    rows = pd.DataFrame({
        "title": ["red phone", "red phone", None, "blue watch", "blue watch rolex", "old jacket"],
        "description": ["good phone", "", "phone only", "blue blue", None, "jacket, worn"],
        "brand": ["acme", "acme", None, "rolex", "rolex", "zed"],
        "category": ["phones", "phones", "phones", "watches", "watches", "fashion"],
        "condition": ["good", "good", "worn", None, "good", "worn"],
        STATS[0]: [100.0, 100.0, 120.0, np.nan, 800.0, 30.0],
        STATS[1]: [np.nan, 50.0, np.nan, 5.0, 0.0, 40.0],
    })
    rows["listing_id"] = range(len(rows))
    rows["image"] = None  # decodes to a blank photo: fitting does not read photos
    rows["split"] = "train"
    rows["label_sold"] = True
    rows["log_sold_price"] = rows["log_list_price"] = 4.0
    return rows


@pytest.mark.parametrize("min_count", [1, 2])
def test_spark_and_pandas_fit_the_same_inputs(spark, min_count):
    rows = train_rows()
    pandas_inputs = fit_split(rows, "split", "split", vocab_min_count=min_count, **SETTINGS).inputs
    spark_inputs = fit_inputs(spark.createDataFrame(rows.drop(columns=["split"])), STATS,
                              min_count=min_count, **SETTINGS)

    assert spark_inputs.vocabulary.words == pandas_inputs.vocabulary.words
    assert spark_inputs.fields == pandas_inputs.fields
    assert spark_inputs.stats.columns == pandas_inputs.stats.columns
    np.testing.assert_allclose(spark_inputs.stats.mean, pandas_inputs.stats.mean, rtol=1e-9)
    np.testing.assert_allclose(spark_inputs.stats.std, pandas_inputs.stats.std, rtol=1e-9)
