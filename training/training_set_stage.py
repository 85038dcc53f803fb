"""The training-set stage (jobs/build_training_set.py): `listings` + `price_stats` -> `training_set`.

Cleans the listings a run at the clock's as-of must account for (rejects to
`listings_rejected`), keeps the closed ones, asks Feast for the price-model feature service as
of each listing's creation time, splits by a seeded hash of listing_id and overwrites the table
in one Delta transaction. The table's properties record what it was built from (the Delta
versions of `listings` and `price_stats`, the feature service, the as-of and a digest of the
cleaning and split settings): with the same inputs the stage does nothing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from feature_repo.store import historical_features
from ingest.rejects import clean_with_quarantine
from pricesuggest.clock import RunClock, judged_at
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import current_version, read_table, table_exists, table_properties, write_table
from stats.price_stats import closed_outcomes
from training.training_set import assign_split, feature_entities, training_rows


def settings_digest(conf: AppConfig) -> str:
    """What else decides the table's content: cleaning rules and split settings."""
    text = json.dumps([dataclasses.asdict(conf.cleaning), dataclasses.asdict(conf.training_set)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingSetBuild:
    status: str                  # built | up to date | failed: row accounting | failed: rows lost
    version: int | None = None   # the table's version (built or already there)
    inputs: dict | None = None   # the table properties that pin what it was built from
    table: DataFrame | None = None
    rows: int = 0
    feature_columns: tuple[str, ...] = ()


def build_training_set(spark: SparkSession, conf: AppConfig, clock: RunClock, run_id: str, metadata: dict,
                       log: logging.Logger, force: bool = False) -> TrainingSetBuild:
    """Build (or, with unchanged inputs and settings and not `force`, keep) the training table."""
    listings_path, stats_path = conf.storage.table_path("listings"), conf.storage.table_path("price_stats")
    listings_version, stats_version = current_version(spark, listings_path), current_version(spark, stats_path)
    as_of = clock.as_of
    inputs = {"listings_version": listings_version, "price_stats_version": stats_version,
              "feature_service": conf.feast.feature_service, "as_of": as_of.isoformat(),
              "settings_sha256": settings_digest(conf)}
    table_path = conf.storage.table_path("training_set")
    if not force and table_exists(spark, table_path) and all(
            table_properties(spark, table_path).get(k) == str(v) for k, v in inputs.items()):
        return TrainingSetBuild("up to date", current_version(spark, table_path), inputs)  # make demo reruns

    listings_all = read_table(spark, listings_path, version=listings_version)
    kept = clean_with_quarantine(spark, conf, judged_at(listings_all, clock), metadata, clock, log)
    if kept is None:
        return TrainingSetBuild("failed: row accounting", inputs=inputs)
    closed = closed_outcomes(kept)
    features, feature_columns = historical_features(spark, conf, feature_entities(closed))
    rows = assign_split(training_rows(closed, features, feature_columns), conf.training_set.split_seed,
                        conf.training_set.validation_share, conf.training_set.test_share)
    rows = rows.withColumn("as_of", F.to_date(F.lit(as_of.isoformat()))).withColumn("run_id", F.lit(run_id)) \
        .repartition(conf.training_set.files_per_split, "listing_id")  # n files in every split directory
    written = write_table(spark, rows, table_path, conf.storage.table("training_set"), metadata,
                          {**inputs, "run_id": run_id})
    table = read_table(spark, table_path, version=written.version)
    n_closed, n_rows = closed.count(), table.count()
    if n_rows != n_closed:
        log.error("training rows %d != closed cleaned listings %d", n_rows, n_closed)
        return TrainingSetBuild("failed: rows lost", written.version, inputs)
    return TrainingSetBuild("built", written.version, inputs, table, n_rows, tuple(feature_columns))


def coverage_by_view(table: DataFrame, feature_columns: tuple[str, ...]) -> DataFrame:
    """Share of rows with a sold median, per feature view (how often a listing had history)."""
    return table.agg(*[F.avg(F.col(c).isNotNull().cast("double")).alias(c.split("__")[0])
                       for c in feature_columns if c.endswith("__sold_q2")])
