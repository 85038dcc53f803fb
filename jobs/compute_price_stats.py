"""Daily price-statistics snapshots (platform, category, seller) into the `price_stats` Delta table.

  spark-submit jobs/compute_price_stats.py                        # incremental: new days up to --as-of
  spark-submit jobs/compute_price_stats.py --from 2026-06-02 --to 2026-08-31   # backfill a range

Reads `listings` as known at --as-of, cleans them (rejects MERGEd into `listings_rejected`
with a reason), computes every requested snapshot in one Spark pass and MERGEs them on
(snapshot_date, level, key): rerunning a date rewrites the same values, never duplicates
(stats/stage.py).
"""
from __future__ import annotations

import sys

from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.clock import run_clock
from pricesuggest.delta_io import read_table
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session
from stats.stage import compute_snapshots, snapshot_summary

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


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    spark = build_session(conf, JOB)
    clock = run_clock(spark, conf, args.as_of)
    if args.last and args.last > clock.as_of:
        parser.error(f"--to {args.last} is after --as-of {clock.as_of}: those snapshots would see the future")
    metadata = {"run_id": new_run_id(JOB), "job": JOB, "git_commit": git_commit(), "as_of": clock.as_of.isoformat()}
    run = compute_snapshots(spark, conf, clock, metadata, log, args.first, args.last)
    if run.status == "failed: row accounting":
        return ExitCode.ROW_ACCOUNTING
    if run.status == "up to date":
        log.info("price_stats is up to date for as-of %s: nothing to compute", clock.as_of)
        return ExitCode.OK
    written = run.written
    log.info("price_stats: version %d (%s) %s", written.version, written.operation,
             {k: v for k, v in written.metrics.items() if k.startswith("num") and v != "0"})
    for row in snapshot_summary(read_table(spark, written.location), run.days).collect():
        print(f"price_stats {row['level']:<9} {row['snapshots']:>4} snapshots {row['rows']:>9,} rows")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
