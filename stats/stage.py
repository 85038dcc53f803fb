"""The statistics stage (jobs/compute_price_stats.py): cleaned `listings` -> `price_stats` snapshots.

Cleans the listings a run at the clock's as-of must account for (rejects MERGEd into
`listings_rejected` with a reason), computes every requested snapshot day in one Spark pass
(`stats/price_stats.py`) and MERGEs them on (snapshot_date, level, key): rerunning a day
rewrites the same values, never duplicates.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.rejects import clean_with_quarantine
from pricesuggest.clock import RunClock, judged_at, known_at
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import WriteResult, read_table, table_exists, write_table
from stats.price_stats import price_stats, snapshot_dates


def requested_days(spark: SparkSession, stats_path: str, listings: DataFrame, as_of: date,
                   first: date | None = None, last: date | None = None) -> tuple[date, date] | None:
    """A backfill's days [first, last], or for a scheduled run the days after the newest
    snapshot up to as_of (None: up to date). `listings`: as known at as_of."""
    last = min(last or as_of, as_of)
    if first:
        return first, last
    if table_exists(spark, stats_path):
        newest = read_table(spark, stats_path).agg(F.max("snapshot_date")).first()[0]
        if newest is not None:
            return (newest + timedelta(days=1), last) if newest < last else None
    first_close = listings.agg(F.min("closed_at")).first()[0]
    return (first_close.date() + timedelta(days=1), last) if first_close else None


@dataclass(frozen=True)
class StatsRun:
    status: str                      # computed | up to date | failed: row accounting
    days: tuple[date, date] | None = None
    written: WriteResult | None = None


def compute_snapshots(spark: SparkSession, conf: AppConfig, clock: RunClock, metadata: dict, log: logging.Logger,
                      first: date | None = None, last: date | None = None) -> StatsRun:
    """Clean (always: the quarantine is every reading job's duty), then compute and MERGE the days
    `requested_days` names."""
    listings_all = read_table(spark, conf.storage.table_path("listings"))
    stats_path = conf.storage.table_path("price_stats")
    days = requested_days(spark, stats_path, known_at(listings_all, clock.as_of), clock.as_of, first, last)
    kept = clean_with_quarantine(spark, conf, judged_at(listings_all, clock), metadata, clock, log)
    if kept is None:
        return StatsRun("failed: row accounting", days)
    if days is None:
        return StatsRun("up to date")
    log.info("computing snapshots %s..%s (window %d days) as of %s", days[0], days[1], conf.stats.window_days,
             clock.as_of)
    stats = price_stats(kept, snapshot_dates(spark, *days), conf.stats.window_days,
                        conf.stats.percentile_accuracy, conf.stats.seller_min_count,
                        conf.stats.seller_partitions)
    # a day's rows come from every seller partition: one shuffle puts each day in one task, so a
    # run writes one file per snapshot partition instead of one per seller partition
    written = write_table(spark, stats.repartition("snapshot_date"), stats_path, conf.storage.table("price_stats"),
                          metadata, {"stats.window_days": conf.stats.window_days})
    return StatsRun("computed", days, written)


def snapshot_summary(stats: DataFrame, days: tuple[date, date]) -> DataFrame:
    """Snapshots and rows per level over the days a run computed."""
    return (stats.where(F.col("snapshot_date").between(*days)).groupBy("level")
            .agg(F.countDistinct("snapshot_date").alias("snapshots"), F.count("*").alias("rows")).orderBy("level"))
