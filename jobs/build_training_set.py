"""Build the `training_set` Delta table: closed listings with point-in-time Feast statistics.

  spark-submit jobs/build_training_set.py [--as-of YYYY-MM-DD] [--force]

Cleans `listings` as known at --as-of (rejects to `listings_rejected`), asks Feast for the
price-model feature service as of each listing's creation time, splits by a seeded hash
of listing_id and overwrites the table in one Delta transaction (training/training_set_stage.py).
The table's properties record the Delta versions of `listings` and `price_stats` it was built from.
"""
from __future__ import annotations

import sys

from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.clock import run_clock
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session
from training.training_set_stage import build_training_set, coverage_by_view

JOB = "build_training_set"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--as-of", type=iso_date, help="build from data known at this day 00:00 UTC (default: pipeline.as_of)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the table is up to date")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    log = setup_logging()
    spark = build_session(conf, JOB)
    run_id = new_run_id(JOB)
    clock = run_clock(spark, conf, args.as_of)
    metadata = {"run_id": run_id, "job": JOB, "git_commit": git_commit(), "as_of": clock.as_of.isoformat()}
    build = build_training_set(spark, conf, clock, run_id, metadata, log, force=args.force)
    pinned = (f"listings v{build.inputs['listings_version']}, price_stats v{build.inputs['price_stats_version']}, "
              f"as of {clock.as_of}")
    if build.status == "up to date":  # same inputs, same settings: the same table (training then skips too)
        print(f"training_set version {build.version} is up to date ({pinned}): nothing to do")
        return ExitCode.OK
    if build.status != "built":
        return ExitCode.ROW_ACCOUNTING
    print(f"training_set version {build.version}: {build.rows:,} rows from {pinned}")
    print(build.table.groupBy("split").count().orderBy("split").toPandas().to_string(index=False))
    print("feature coverage (share of rows with a sold median):")
    print(coverage_by_view(build.table, build.feature_columns).toPandas().to_string(index=False, float_format="%.3f"))
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
