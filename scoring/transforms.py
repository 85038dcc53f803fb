"""Batch scoring transforms: which listings, what happens to the ones that cannot be scored, suggestions.

DataFrame -> DataFrame functions, no I/O; `jobs/score_listings.py` reads, calls them and writes.
`score` runs the registered model inside the executors (`scoring.inference`, imported there:
this module, like the rest of the data layer, does not import torch).
Outcomes by input problem (README, `price_suggestions`):
  missing / undecodable photo, empty title  -> rejected (quarantine + a `rejected` row), no suggestion
  placeholder or outlying list price        -> scored, `list_price_flag` says what is wrong with it
  unknown category (no statistics)          -> scored, not qualified, reason "unknown category"
  unknown (cold-start) seller               -> scored; the model sees missing seller statistics
  empty description                         -> scored; if not qualified, the reason says so
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from feature_repo.definitions import PLATFORM_ID, view_name
from pricesuggest.clock import RunClock, judged_at
from pricesuggest.faults import WorkerKill

if TYPE_CHECKING:
    from model.qualification import ReasonChecks

SCORED_COLUMNS = T.StructType([
    T.StructField("listing_id", T.LongType(), False),
    T.StructField("suggested_price", T.DoubleType(), True),
    T.StructField("log_price", T.DoubleType(), True),  # to 6 decimals: the service's parity is checked on it
    T.StructField("price_low", T.DoubleType(), True),
    T.StructField("price_high", T.DoubleType(), True),
    T.StructField("range_low", T.DoubleType(), True),  # the calibrated range (model/conformal.py)
    T.StructField("range_high", T.DoubleType(), True),
    T.StructField("range_level", T.DoubleType(), True),
    T.StructField("qualified", T.BooleanType(), True),
    T.StructField("qualification_score", T.DoubleType(), True),
    T.StructField("not_qualified_reason", T.StringType(), True),
    T.StructField("model_version", T.StringType(), True),
])
# price_suggestions, in order (the README documents each column).
SUGGESTION_COLUMNS = [
    "listing_id", "seller_id", "category", "list_price", "suggested_price", "log_price", "price_low", "price_high",
    "range_low", "range_high", "range_level", "qualified", "qualification_score", "not_qualified_reason", "list_price_flag", "state", "reject_reason",
    "model_version", "as_of", "features_as_of", "closed_as_of", "scored_at", "run_id",
]
# A rerun that changes none of these leaves the row (and its scored_at / run_id) alone.
COMPARED_COLUMNS = [c for c in SUGGESTION_COLUMNS if c not in ("listing_id", "scored_at", "run_id")]
CATEGORY_KNOWN = "category_known"


def active_listings(listings: DataFrame, clock: RunClock, listing_ids: list[int] | None = None) -> DataFrame:
    """Listings open at the clock's as-of 00:00 (all of them, or the given ids among them), with
    the active rows created after its cutoff or never (cleaning rejects those)."""
    active = judged_at(listings, clock).where(F.col("status") == "active")
    return active.where(F.col("listing_id").isin(listing_ids)) if listing_ids else active


def split_for_scoring(flagged: DataFrame, flag_only_reasons: list[str]) -> tuple[DataFrame, DataFrame]:
    """Cleaning's verdicts, for scoring: (rows to score with list_price_flag, rejected rows).

    Reasons in `flag_only_reasons` (prices) are kept as a flag on a scored row: an absurd list
    price is where a suggestion helps most. Any other reason makes the row unscorable.
    """
    rejected_now = F.col("reject_reason").isNotNull() & ~F.col("reject_reason").isin(flag_only_reasons)
    flag = F.when(F.col("reject_reason").isNotNull(), F.concat_ws(": ", "reject_reason", "reject_detail"))
    to_score = flagged.where(~rejected_now) \
        .withColumn("list_price_flag", flag).drop("reject_reason", "reject_detail")
    rejected = flagged.where(rejected_now).select("listing_id", "seller_id", "category", "list_price",
                                                  "reject_reason", "reject_detail")
    return to_score, rejected


def scoring_entities(listings: DataFrame, as_of: date) -> DataFrame:
    """Feast's entity frame: every listing asks for the statistics known at as_of 00:00."""
    return listings.select("listing_id", "seller_id", "category", F.lit(PLATFORM_ID).alias("platform"),
                           F.to_timestamp(F.lit(as_of.isoformat())).alias("event_timestamp"))


def with_features(listings: DataFrame, features: DataFrame, feature_columns: list[str]) -> DataFrame:
    """Listings + their statistics + whether their category has any price history."""
    joined = listings.join(features.select("listing_id", *feature_columns), "listing_id", "left")
    category_columns = [c for c in feature_columns if c.startswith(view_name("category") + "__")]
    known = F.lit(False)
    for column in category_columns:
        known = known | F.col(column).isNotNull()
    return joined.withColumn(CATEGORY_KNOWN, known)


def score(listings: DataFrame, store_root: str, model_version: str, checks: ReasonChecks, batch_size: int,
          model_columns: list[str]) -> DataFrame:
    """Model outputs per listing, computed in executors (the model loads once per worker process).

    `model_columns`: what the model reads (ModelInputs.feature_columns: photo, text, form fields, statistics).
    """
    needed = ["listing_id", CATEGORY_KNOWN, *model_columns]
    worker_kill = WorkerKill.armed()  # a no-op unless a test arms PRICESUGGEST_FAULT

    def score_batches(frames):  # runs in the executors' Python workers
        from pyspark import TaskContext

        from scoring.inference import cached_model, limit_cpu_threads, score_frame

        # torch would start one thread per core in every concurrent task: N tasks x N cores
        # threads thrash. Each task gets the cores Spark gave it (spark.task.cpus).
        task = TaskContext.get()
        limit_cpu_threads(task.cpus() if task is not None else None)
        loaded = cached_model(store_root, model_version)
        for frame in frames:
            worker_kill.maybe_kill()
            yield score_frame(frame, loaded, checks, batch_size, CATEGORY_KNOWN)

    return listings.select(*needed).mapInPandas(score_batches, SCORED_COLUMNS)


def suggestion_rows(listings: DataFrame, scored: DataFrame, rejected: DataFrame, as_of: date,
                    features_as_of: date | None, scored_at: datetime, run_id: str) -> DataFrame:
    """price_suggestions rows of this run: one per scored listing and one per rejected listing."""
    stamp = [F.to_date(F.lit(as_of.isoformat())).alias("as_of"),
             F.to_date(F.lit(features_as_of.isoformat() if features_as_of else None)).alias("features_as_of"),
             F.lit(None).cast("date").alias("closed_as_of"),
             F.lit(scored_at).cast("timestamp").alias("scored_at"), F.lit(run_id).alias("run_id")]
    base = listings.select("listing_id", "seller_id", "category", "list_price", "list_price_flag")
    scored_rows = base.join(scored, "listing_id").select(
        *base.columns, *[c for c in scored.columns if c != "listing_id"],
        F.lit("active").alias("state"), F.lit(None).cast("string").alias("reject_reason"), *stamp)
    # every copy of a duplicated id is rejected; the table keeps one row per id (a MERGE source
    # never holds a key twice): the copy first in a fixed order, so reruns pick the same one
    first_copy = Window.partitionBy("listing_id").orderBy(
        F.col("seller_id").asc_nulls_last(), F.col("category").asc_nulls_last(), F.col("list_price").asc_nulls_last())
    rejected_rows = rejected.withColumn("copy", F.row_number().over(first_copy)).where("copy = 1").select(
        "listing_id", "seller_id", "category", "list_price",
        *[F.lit(None).cast(f.dataType).alias(f.name) for f in SCORED_COLUMNS.fields
          if f.name not in ("listing_id", "model_version")],
        F.lit(None).cast("string").alias("list_price_flag"), F.lit("rejected").alias("state"),
        F.concat_ws(": ", "reject_reason", "reject_detail").alias("reject_reason"),
        F.lit(None).cast("string").alias("model_version"), *stamp)
    return scored_rows.select(*SUGGESTION_COLUMNS).unionByName(rejected_rows.select(*SUGGESTION_COLUMNS))


def suggestion_changes(current: DataFrame | None, rows: DataFrame, closed_since: DataFrame | None, as_of: date,
                       run_id: str) -> DataFrame:
    """This run's rows, plus the listings the table still shows open that `closed_since`
    (listing_id of listings closed by as_of) says have closed, marked closed. Pass
    closed_since=None to close nothing (--listing-ids runs). Closed rows keep their last
    suggestion, so history stays queryable. (The write drops rows equal to the table's.)
    """
    if current is None or closed_since is None:
        return rows
    # an id this run already has a row for (an active copy of a duplicated id) is not closed too:
    # a MERGE source never holds a key twice
    closed = (current.where(F.col("state") != "closed").join(closed_since.select("listing_id").distinct(), "listing_id")
              .join(rows.select("listing_id"), "listing_id", "left_anti")
              .withColumn("state", F.lit("closed"))
              .withColumn("closed_as_of", F.to_date(F.lit(as_of.isoformat())))
              .withColumn("run_id", F.lit(run_id)))
    return rows.unionByName(closed.select(*SUGGESTION_COLUMNS))
