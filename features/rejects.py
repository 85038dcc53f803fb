"""The `listings_rejected` quarantine: what cleaning removed, why, and which run said so."""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def quarantine_rows(rejected: DataFrame, job: str, run_id: str, as_of: date) -> DataFrame:
    """Rejected rows (listing_id, reject_reason, reject_detail) stamped with their run."""
    return rejected.select(
        "listing_id", "reject_reason", "reject_detail",
        F.lit(job).alias("rejected_by"), F.lit(run_id).alias("run_id"),
        F.to_date(F.lit(as_of.isoformat())).alias("as_of"))


def counts_by_reason(rejected: DataFrame) -> dict[str, int]:
    return {r["reject_reason"]: int(r["count"]) for r in rejected.groupBy("reject_reason").count().collect()}
