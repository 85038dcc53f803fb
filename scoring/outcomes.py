"""Realised accuracy: how the suggestions of listings that closed by a scoring run turned out.

This is how the platform learns that its model has gone stale. Each scoring run measures the
rows it closed (`price_suggestions` rows with `closed_as_of` = its as-of, which keep their last
suggestion) against what happened:
  sold    -> the sale is judged against the suggestion's band: right when the sold price lies in
             [price_low, price_high] (the seller-gain band [sold, sold * mu], seen from the
             suggestion); the log error is |log suggestion - log sold price|
  unsold  -> the suggestion is judged against the list price the seller kept: right when it lies
             in the unsold band [list * nu, list]; the log error is |log suggestion - log list price|
One row per (as_of, model_version, category, qualified, outcome) goes to `suggestion_outcomes`,
beside the model's own validation MALE; `accuracy_drift` says when the realised figure has moved
too far from it. DataFrame in, DataFrame out: `scoring.stage.record_outcomes` reads and writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

OUTCOMES_SCHEMA = T.StructType([
    T.StructField("as_of", T.DateType(), False),           # the scoring run that saw these listings close
    T.StructField("model_version", T.StringType(), False),  # the model whose suggestion was shown
    T.StructField("category", T.StringType(), False),
    T.StructField("qualified", T.BooleanType(), False),
    T.StructField("outcome", T.StringType(), False),        # sold | unsold
    T.StructField("listings", T.LongType(), False),
    T.StructField("male", T.DoubleType(), False),           # mean |log suggestion - log realised price|
    T.StructField("in_band_share", T.DoubleType(), False),  # share whose realised price fits the band
    T.StructField("validation_male", T.DoubleType(), True),  # the model's MALE on its validation sold items
    T.StructField("run_id", T.StringType(), False),
])
OUTCOME_KEY = ["as_of", "model_version", "category", "qualified", "outcome"]


def suggestion_outcomes(suggestions: DataFrame, listings: DataFrame, as_of: date, nu: float,
                        validation_male: dict[str, float | None], run_id: str) -> DataFrame:
    """`suggestions`: the price_suggestions table; `listings`: the listings known at as_of.

    Rows closed at this as-of with a suggestion (a rejected row has none) whose listing id is not
    duplicated upstream (its outcome would be ambiguous), aggregated as OUTCOMES_SCHEMA says."""
    closed = suggestions.where((F.col("state") == "closed") & (F.col("closed_as_of") == F.lit(as_of))
                               & F.col("suggested_price").isNotNull())
    single = (listings.groupBy("listing_id")
              .agg(F.count("*").alias("copies"), F.first("status").alias("status"),
                   F.first("sold_price").alias("sold_price"), F.first("list_price").alias("kept_list_price"))
              .where("copies = 1"))
    joined = closed.join(single, "listing_id").where(F.col("status").isin("sold", "unsold"))
    realised = F.when(F.col("status") == "sold", F.col("sold_price")).otherwise(F.col("kept_list_price"))
    suggested = F.col("suggested_price")
    in_band = F.when(F.col("status") == "sold",
                     (F.col("price_low") <= F.col("sold_price")) & (F.col("sold_price") <= F.col("price_high"))
                     ).otherwise((suggested >= F.col("kept_list_price") * nu) & (suggested <= F.col("kept_list_price")))
    measured = joined.where(realised > 0).select(
        "model_version", "category", "qualified", F.col("status").alias("outcome"),
        F.abs(F.log(suggested) - F.log(realised)).alias("log_error"), in_band.cast("double").alias("in_band"))
    known = [F.lit(x) for version, male in validation_male.items() if male is not None for x in (version, float(male))]
    validation = F.create_map(*known)[F.col("model_version")] if known else F.lit(None)
    grouped = measured.groupBy("model_version", "category", "qualified", "outcome").agg(
        F.count("*").alias("listings"), F.avg("log_error").alias("male"), F.avg("in_band").alias("in_band_share"))
    return grouped.select(F.lit(as_of).alias("as_of"), "model_version", "category", "qualified", "outcome",
                          "listings", "male", "in_band_share", validation.cast("double").alias("validation_male"),
                          F.lit(run_id).alias("run_id"))


@dataclass(frozen=True)
class Drift:
    model_version: str
    sold: int
    realised_male: float
    validation_male: float

    def message(self) -> str:
        return (f"model {self.model_version}: realised MALE {self.realised_male:.3f} on {self.sold} sold listings "
                f"vs {self.validation_male:.3f} on validation ({self.realised_male / self.validation_male - 1:+.0%})")


def accuracy_drift(outcomes: list[dict], max_male_increase: float, min_sold: int) -> list[Drift]:
    """Per model version: the sold outcomes' MALE (over every category and qualification) when it
    exceeds the model's validation MALE by more than `max_male_increase` (a share), judged only
    with at least `min_sold` sold listings, so one odd day of a few sales does not page anyone."""
    totals: dict[str, list[float]] = {}
    validation: dict[str, float] = {}
    for row in outcomes:
        if row["outcome"] != "sold" or row["validation_male"] is None:
            continue
        n, error = totals.setdefault(row["model_version"], [0, 0.0])
        totals[row["model_version"]] = [n + row["listings"], error + row["male"] * row["listings"]]
        validation[row["model_version"]] = row["validation_male"]
    drifts = []
    for version, (n, error) in sorted(totals.items()):
        realised = error / n
        if n >= min_sold and realised > validation[version] * (1 + max_male_increase):
            drifts.append(Drift(version, int(n), realised, validation[version]))
    return drifts
