"""Build the `training_set` Delta table: closed listings with point-in-time Feast statistics.

  spark-submit jobs/build_training_set.py [--as-of YYYY-MM-DD]

Cleans `listings` as known at --as-of (rejects to `listings_rejected`), asks Feast for the
price-model feature service as of each listing's creation time, splits by a seeded hash
of listing_id and overwrites the table in one Delta transaction. The table's properties
record the Delta versions of `listings` and `price_stats` it was built from.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys

from pyspark.sql import functions as F

from feature_repo.store import historical_features
from ingest.rejects import clean_with_quarantine
from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.clock import judged_at, run_clock
from pricesuggest.delta_io import current_version, read_table, table_exists, table_properties, write_table
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session
from stats.price_stats import closed_outcomes
from training.training_set import assign_split, feature_entities, training_rows

JOB = "build_training_set"


def settings_digest(conf) -> str:
    """What else decides the table's content: cleaning rules and split settings."""
    text = json.dumps([dataclasses.asdict(conf.cleaning), dataclasses.asdict(conf.training_set)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--as-of", type=iso_date, help="build from data known at this day 00:00 UTC (default: pipeline.as_of)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the table is up to date")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    log = setup_logging()
    spark = build_session(conf, JOB)
    run_id = new_run_id(JOB)
    listings_path, stats_path = conf.storage.table_path("listings"), conf.storage.table_path("price_stats")
    listings_version, stats_version = current_version(spark, listings_path), current_version(spark, stats_path)
    listings_all = read_table(spark, listings_path, version=listings_version)
    clock = run_clock(spark, conf, args.as_of)
    as_of = clock.as_of
    metadata = {"run_id": run_id, "job": JOB, "git_commit": git_commit(), "as_of": as_of.isoformat()}
    inputs = {"listings_version": listings_version, "price_stats_version": stats_version,
              "feature_service": conf.feast.feature_service, "as_of": as_of.isoformat(),
              "settings_sha256": settings_digest(conf)}
    table_path = conf.storage.table_path("training_set")
    if not args.force and table_exists(spark, table_path) and all(
            table_properties(spark, table_path).get(k) == str(v) for k, v in inputs.items()):
        # same inputs, same settings: the same table (make demo reruns; training then skips too)
        print(f"training_set version {current_version(spark, table_path)} is up to date "
              f"(listings v{listings_version}, price_stats v{stats_version}, as of {as_of}): nothing to do")
        return 0

    kept = clean_with_quarantine(spark, conf, judged_at(listings_all, clock), metadata, clock, log)
    if kept is None:
        return ExitCode.ROW_ACCOUNTING

    closed = closed_outcomes(kept)
    features, feature_columns = historical_features(spark, conf, feature_entities(closed))
    rows = assign_split(training_rows(closed, features, feature_columns), conf.training_set.split_seed,
                        conf.training_set.validation_share, conf.training_set.test_share)
    rows = rows.withColumn("as_of", F.to_date(F.lit(as_of.isoformat()))).withColumn("run_id", F.lit(run_id)) \
        .repartition(conf.training_set.files_per_split, "listing_id")  # n files in every split directory
    written = write_table(spark, rows, table_path, conf.storage.table("training_set"), metadata,
                          {**inputs, "run_id": run_id})
    table = read_table(spark, conf.storage.table_path("training_set"), version=written.version)
    n_closed, n_rows = closed.count(), table.count()
    if n_rows != n_closed:
        log.error("training rows %d != closed cleaned listings %d", n_rows, n_closed)
        return ExitCode.ROW_ACCOUNTING
    print(f"training_set version {written.version}: {n_rows:,} rows from listings v{listings_version}, "
          f"price_stats v{stats_version}, as of {as_of}")
    print(table.groupBy("split").count().orderBy("split").toPandas().to_string(index=False))
    coverage = table.agg(*[F.avg(F.col(c).isNotNull().cast("double")).alias(c.split("__")[0])
                           for c in feature_columns if c.endswith("__sold_q2")]).toPandas()
    print("feature coverage (share of rows with a sold median):")
    print(coverage.to_string(index=False, float_format="%.3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
