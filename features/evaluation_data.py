"""The evaluation's input: training rows with the latent fair price and an out-of-time split.

`split` (the training table's seeded random split) stays as it is. `oot_split` adds the
out-of-time scheme: a model trained on outcomes known before the cutoff is tested on the
listings whose outcome became known in the last `days` days before the table's as-of day
(validation keeps the random split's validation rows among the earlier ones).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def with_fair_price(training_rows: DataFrame, truth: DataFrame) -> DataFrame:
    """Left join of `listing_truth.log_fair_price` (the oracle's prediction): no row lost or added."""
    return training_rows.join(truth.select("listing_id", "log_fair_price"), "listing_id", "left")


def with_out_of_time_split(rows: DataFrame, days: int) -> DataFrame:
    cutoff = F.to_timestamp(F.date_sub(F.col("as_of"), days))
    return rows.withColumn("oot_split", F.when(F.col("closed_at") >= cutoff, "test")
                           .when(F.col("split") == "validation", "validation").otherwise("train"))
