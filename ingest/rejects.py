"""The `listings_rejected` quarantine: what cleaning removed, why, and which run said so.

`quarantine_rows` and `counts_by_reason` are transforms; `clean_with_quarantine` and
`write_quarantine` are the stage's I/O (a MERGE into `listings_rejected`), shared by every
job that reads listings.
"""
from __future__ import annotations

import logging
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ingest.cleaning import flag_listings, split_flagged
from pricesuggest.clock import RunClock
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import write_table


def quarantine_rows(rejected: DataFrame, job: str, run_id: str, as_of: date) -> DataFrame:
    """Rejected rows (listing_id, reject_reason, reject_detail) stamped with their run, one per id
    (every copy of a duplicated id carries the same reason and detail)."""
    return rejected.dropDuplicates(["listing_id"]).select(
        "listing_id", "reject_reason", "reject_detail",
        F.lit(job).alias("rejected_by"), F.lit(run_id).alias("run_id"),
        F.to_date(F.lit(as_of.isoformat())).alias("as_of"))


def counts_by_reason(rejected: DataFrame) -> dict[str, int]:
    return {r["reject_reason"]: int(r["count"]) for r in rejected.groupBy("reject_reason").count().collect()}


def clean_with_quarantine(spark, conf: AppConfig, listings, metadata: dict, clock: RunClock, log: logging.Logger):
    """Clean `listings` (pricesuggest.clock.judged_at: the run's rows), MERGE the rejects into
    `listings_rejected`, check rows in = kept + rejected.

    Returns the kept rows (cached), or None when the accounting fails (the job then exits
    ExitCode.ROW_ACCOUNTING and commits nothing).
    """
    flagged = flag_listings(listings, conf.cleaning, future_after=clock.cutoff).cache()  # images decode once
    kept, rejected = split_flagged(flagged)
    as_of = clock.as_of
    rows_in, n_kept, by_reason = listings.count(), kept.count(), counts_by_reason(rejected)
    n_rejected = sum(by_reason.values())
    log.info("cleaning: %d in = %d kept + %d rejected %s", rows_in, n_kept, n_rejected, by_reason)
    if rows_in != n_kept + n_rejected:
        log.error("row accounting failed: %d in != %d kept + %d rejected", rows_in, n_kept, n_rejected)
        return None
    write_quarantine(spark, conf, rejected, metadata, as_of)
    return kept


def write_quarantine(spark, conf: AppConfig, rejected, metadata: dict, as_of: date, conflict_retries: int = 3) -> None:
    """MERGE rejected rows (listing_id, reject_reason, reject_detail) into `listings_rejected`."""
    write_table(spark, quarantine_rows(rejected, metadata["job"], metadata["run_id"], as_of),
                conf.storage.table_path("listings_rejected"), conf.storage.table("listings_rejected"), metadata,
                changed_only=["reject_reason", "reject_detail"], conflict_retries=conflict_retries)
