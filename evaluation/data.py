"""The evaluation's input: training rows with `listing_truth`'s columns and an out-of-time split.

`split` (the training table's seeded random split) stays as it is. `oot_split` adds the
out-of-time scheme: a model trained on outcomes known before the cutoff is tested on the
listings whose outcome became known in the last `days` days before the table's as-of day
(validation keeps the random split's validation rows among the earlier ones).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# listing_truth columns the evaluation reads: the oracle's prediction, the observable floor's true
# attributes, what the photo-sensitivity yardstick swaps, what the reasons are checked against
TRUTH_COLUMNS = ["log_fair_price", "item_type", "true_brand", "true_condition", "spec_value", "material",
                 "photo_defect", "text_useless"]


def with_truth(training_rows: DataFrame, truth: DataFrame) -> DataFrame:
    """Left join of `listing_truth`'s evaluation columns: no row lost or added."""
    return training_rows.join(truth.select("listing_id", *TRUTH_COLUMNS), "listing_id", "left")


def with_out_of_time_split(rows: DataFrame, days: int) -> DataFrame:
    cutoff = F.to_timestamp(F.date_sub(F.col("as_of"), days))
    return rows.withColumn("oot_split", F.when(F.col("closed_at") >= cutoff, "test")
                           .when(F.col("split") == "validation", "validation").otherwise("train"))
