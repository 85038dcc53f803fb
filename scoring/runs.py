"""The `scoring_runs` table: one row per scoring run, what went in and what came out."""
from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

SCORING_RUNS_SCHEMA = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("status", T.StringType(), False),  # succeeded | dry run | failed: <why>
    T.StructField("as_of", T.DateType(), False),
    T.StructField("features_as_of", T.DateType(), True),
    T.StructField("model_version", T.StringType(), False),
    T.StructField("model_training_set_version", T.LongType(), True),
    T.StructField("listings_version", T.LongType(), False),
    T.StructField("subset", T.BooleanType(), False),  # --listing-ids run
    T.StructField("rows_in", T.LongType(), False),
    T.StructField("scored", T.LongType(), False),
    T.StructField("qualified", T.LongType(), False),
    T.StructField("rejected", T.LongType(), False),
    T.StructField("rejected_by_reason", T.MapType(T.StringType(), T.LongType()), False),
    T.StructField("not_qualified_by_reason", T.MapType(T.StringType(), T.LongType()), False),
    T.StructField("list_price_flagged", T.LongType(), False),
    T.StructField("price_suggestions_version", T.LongType(), True),
    # comparable sold listings (scoring/comps.py): price_comps' version, and the window's sold
    # listings searched (with a usable photo) and left out (photo unusable); null: none computed
    T.StructField("comps_version", T.LongType(), True),
    T.StructField("comps_candidates", T.LongType(), True),
    T.StructField("comps_unusable_candidates", T.LongType(), True),
    T.StructField("duration_s", T.DoubleType(), True),
    T.StructField("scored_at", T.TimestampType(), False),
])


def newest_snapshot(price_stats: DataFrame, as_of: date) -> date | None:
    """The newest statistics snapshot a job running at as_of 00:00 can use."""
    return price_stats.where(F.col("snapshot_date") <= F.lit(as_of)).agg(F.max("snapshot_date")).first()[0]


def run_summary_row(*, run_id: str, as_of: date, model_version: str, features_as_of: date | None,
                    listings_version: int, rows_in: int, rows: DataFrame, rejected_by_reason: dict[str, int],
                    dry_run: bool, scored_at: datetime, subset: bool, model_training_version: int | None) -> dict:
    """A scoring_runs row (status and duration filled in by the job) from this run's suggestion rows."""
    scored = rows.where(F.col("state") == "active")
    totals = scored.agg(F.count("*").alias("n"), F.sum(F.col("qualified").cast("long")).alias("q"),
                        F.sum(F.col("list_price_flag").isNotNull().cast("long")).alias("f")).first()
    reasons = {r["not_qualified_reason"]: int(r["count"]) for r in
               scored.where(~F.col("qualified")).groupBy("not_qualified_reason").count().collect()}
    return {
        "run_id": run_id, "status": "dry run" if dry_run else "running", "as_of": as_of,
        "features_as_of": features_as_of, "model_version": model_version,
        "model_training_set_version": model_training_version, "listings_version": listings_version,
        "subset": subset, "rows_in": rows_in, "scored": int(totals["n"]), "qualified": int(totals["q"] or 0),
        "rejected": sum(rejected_by_reason.values()), "rejected_by_reason": rejected_by_reason,
        "not_qualified_by_reason": reasons, "list_price_flagged": int(totals["f"] or 0),
        "price_suggestions_version": None, "comps_version": None, "comps_candidates": None,
        "comps_unusable_candidates": None, "duration_s": None, "scored_at": scored_at,
    }


def summary_text(summary: dict) -> str:
    lines = [f"scoring run {summary['run_id']}: {summary['status']}",
             f"  as of {summary['as_of']}, statistics of {summary['features_as_of']}, model {summary['model_version']}",
             f"  rows in {summary['rows_in']:,} = scored {summary['scored']:,} + rejected {summary['rejected']:,}",
             f"  qualified {summary['qualified']:,} of {summary['scored']:,}"
             + (f" ({summary['qualified'] / summary['scored']:.1%})" if summary["scored"] else ""),
             f"  list price flagged {summary['list_price_flagged']:,}"]
    lines += [f"  rejected: {reason}: {n:,}" for reason, n in sorted(summary["rejected_by_reason"].items())]
    lines += [f"  not qualified: {reason}: {n:,}" for reason, n in sorted(summary["not_qualified_by_reason"].items())]
    if summary.get("price_suggestions_version") is not None:
        lines.append(f"  price_suggestions version {summary['price_suggestions_version']}")
    if summary.get("comps_version") is not None:
        lines.append(f"  price_comps version {summary['comps_version']}: comps among {summary['comps_candidates']:,} "
                     f"sold in the window ({summary['comps_unusable_candidates']:,} more with an unusable photo)")
    if summary.get("duration_s") is not None:
        lines.append(f"  duration {summary['duration_s']:.1f} s")
    return "\n".join(lines)


def example_suggestions(rows: DataFrame, model_version: str, n: int) -> str:
    """The first n scored rows of a run, as a table for the job's output."""
    table = rows.where("state = 'active'").orderBy("listing_id").limit(n).select(
        "listing_id", "category", "list_price", "suggested_price", "price_low", "price_high", "qualified",
        F.round("qualification_score", 3).alias("score"), "not_qualified_reason", "list_price_flag").toPandas()
    return f"example suggestions (model {model_version}):\n{table.to_string(index=False)}"
