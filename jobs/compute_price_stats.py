"""Daily price-statistics snapshots (platform, category, seller) into the `price_stats` Delta table.

  spark-submit jobs/compute_price_stats.py                        # incremental: new days up to --as-of
  spark-submit jobs/compute_price_stats.py --from 2026-06-02 --to 2026-08-31   # backfill a range

Reads `listings` as known at --as-of, cleans them (rejects MERGEd into `listings_rejected`
with a reason), computes every requested snapshot in one Spark pass and MERGEs them on
(snapshot_date, level, key): rerunning a date rewrites the same values, never duplicates.
"""
from __future__ import annotations

import sys
from datetime import date, timedelta

from pyspark.sql import functions as F

from ingest.rejects import clean_with_quarantine
from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.clock import judged_at, known_at, run_clock
from pricesuggest.delta_io import read_table, table_exists, write_table
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session
from stats.price_stats import price_stats, snapshot_dates

JOB = "compute_price_stats"


def parse_args(argv):
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--as-of", type=iso_date, help="the pipeline's date (default: pipeline.as_of)")
    parser.add_argument("--from", dest="first", type=iso_date, help="first snapshot day of a backfill")
    parser.add_argument("--to", dest="last", type=iso_date, help="last snapshot day of a backfill (default: --as-of)")
    args = parser.parse_args(argv)
    if args.first and args.last and args.last < args.first:
        parser.error(f"--to {args.last} is before --from {args.first}")
    return parser, args, load_job_config(parser, args)


def requested_days(spark, args, as_of: date, stats_path: str, listings) -> tuple[date, date] | None:
    """Backfill range, or for a scheduled run the days after the newest snapshot up to as_of."""
    last = min(args.last or as_of, as_of)
    if args.first:
        return args.first, last
    if table_exists(spark, stats_path):
        newest = read_table(spark, stats_path).agg(F.max("snapshot_date")).first()[0]
        if newest is not None:
            return (newest + timedelta(days=1), last) if newest < last else None
    first_close = listings.agg(F.min("closed_at")).first()[0]
    return (first_close.date() + timedelta(days=1), last) if first_close else None


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    spark = build_session(conf, JOB)
    run_id = new_run_id(JOB)
    listings_all = read_table(spark, conf.storage.table_path("listings"))
    clock = run_clock(spark, conf, args.as_of)
    as_of = clock.as_of
    if args.last and args.last > as_of:
        parser.error(f"--to {args.last} is after --as-of {as_of}: those snapshots would see the future")
    listings = known_at(listings_all, as_of)
    stats_path = conf.storage.table_path("price_stats")
    days = requested_days(spark, args, as_of, stats_path, listings)
    metadata = {"run_id": run_id, "job": JOB, "git_commit": git_commit(), "as_of": as_of.isoformat()}

    kept = clean_with_quarantine(spark, conf, judged_at(listings_all, clock), metadata, clock, log)
    if kept is None:
        return ExitCode.ROW_ACCOUNTING

    if days is None:
        log.info("price_stats is up to date for as-of %s: nothing to compute", as_of)
        return 0
    log.info("computing snapshots %s..%s (window %d days) as of %s", days[0], days[1], conf.stats.window_days, as_of)
    stats = price_stats(kept, snapshot_dates(spark, *days), conf.stats.window_days,
                        conf.stats.percentile_accuracy, conf.stats.seller_min_count,
                        conf.stats.seller_partitions)
    # a day's rows come from every seller partition: one shuffle puts each day in one task, so a
    # run writes one file per snapshot partition instead of one per seller partition
    written = write_table(spark, stats.repartition("snapshot_date"), stats_path, conf.storage.table("price_stats"),
                          metadata, {"stats.window_days": conf.stats.window_days})
    log.info("price_stats: version %d (%s) %s", written.version, written.operation,
             {k: v for k, v in written.metrics.items() if k.startswith("num") and v != "0"})
    summary = read_table(spark, stats_path).where(F.col("snapshot_date").between(*days)) \
        .groupBy("level").agg(F.countDistinct("snapshot_date").alias("snapshots"), F.count("*").alias("rows"))
    for row in summary.orderBy("level").collect():
        print(f"price_stats {row['level']:<9} {row['snapshots']:>4} snapshots {row['rows']:>9,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
