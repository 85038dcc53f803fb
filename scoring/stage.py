"""The scoring stage (jobs/score_listings.py): from a model version and a day to the rows
MERGEd into `price_suggestions`, the quarantined rows, and the run's status.

Reads `listings` as known at as_of, keeps the active ones, cleans them with the training
set's rules (photo and title problems are rejected; price problems only flag the row), asks
Feast's offline store for the statistics as of that day and scores in the executors.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from feature_repo.store import historical_features
from ingest.cleaning import flag_listings
from ingest.rejects import counts_by_reason, write_quarantine
from model.config import NU
from model.inputs import ModelInputs
from model.qualification import ReasonChecks
from pricesuggest.clock import RunClock, known_at, run_clock
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import WriteResult, current_version, read_table, table_exists, write_table
from pricesuggest.exit_codes import ExitCode
from pricesuggest.faults import crash_while_writing
from pricesuggest.runinfo import git_commit
from registry.store import ModelStore
from scoring.comps import (COMPS_COMPARED, COMPS_SCHEMA, EMBEDDED_COLUMNS, EMBEDDINGS_COMPARED, INDEX_COLUMNS,
                           Snapshot, comps_rows, embed, missing_embeddings, sold_in_window)
from scoring.outcomes import OUTCOME_KEY, OUTCOMES_SCHEMA, Drift, accuracy_drift, suggestion_outcomes
from scoring.runs import SCORING_RUNS_SCHEMA, newest_snapshot, run_summary_row
from scoring.transforms import (COMPARED_COLUMNS, active_listings, score, scoring_entities, split_for_scoring,
                                suggestion_changes, suggestion_rows, with_features)

log = logging.getLogger("pricesuggest")

@dataclass
class Suggestions:
    active: DataFrame    # the active listings asked for (rows in)
    rejected: DataFrame  # quarantined, with their reasons
    rows: DataFrame      # one price_suggestions row per active listing: scored, or rejected


def stale_features(features_as_of: date | None, as_of: date, max_age_days: int) -> str | None:
    """Why the newest statistics are too old to score with at as_of, or None."""
    if features_as_of is None:
        return f"no statistics snapshot on or before {as_of}"
    age = (as_of - features_as_of).days
    if age > max_age_days:
        return f"newest statistics snapshot {features_as_of} is {age} days before {as_of} (limit {max_age_days})"
    return None


def run_status(rows_in: int, scored: int, rejected: int, dry_run: bool) -> str:
    """The scoring_runs status: rows in must be scored + rejected, and something must be scored."""
    if rows_in != scored + rejected:
        return "failed: row accounting"
    if scored == 0:
        return "failed: nothing scored"
    return "dry run" if dry_run else "succeeded"


def suggest(spark: SparkSession, conf: AppConfig, store: ModelStore, model_version: str, listings_all: DataFrame,
            clock: RunClock, features_as_of: date | None, scored_at: datetime, run_id: str,
            listing_ids: list[int] | None = None) -> Suggestions:
    """Every active listing (or these ids) at the clock's as-of, scored by the model or rejected with its reason."""
    as_of = clock.as_of
    active = active_listings(listings_all, clock, listing_ids)
    # price fences from every listing known then (as the training set's cleaning), not just these
    flagged = flag_listings(active, conf.cleaning, reference=known_at(listings_all, as_of),
                            future_after=clock.cutoff).cache()
    to_score, rejected = split_for_scoring(flagged, conf.scoring.flag_only_reasons)
    features, feature_columns = historical_features(spark, conf, scoring_entities(to_score, as_of))
    listings = with_features(to_score, features, feature_columns)
    model_columns = ModelInputs.from_dict(store.load(model_version)["inputs"]).feature_columns()
    scored = score(listings, str(store.root), model_version, ReasonChecks.from_conf(conf.scoring),
                   conf.scoring.batch_size, model_columns)
    rows = suggestion_rows(listings, scored, rejected, as_of, features_as_of, scored_at, run_id)
    return Suggestions(active, rejected, rows)


def commit(spark: SparkSession, conf: AppConfig, suggestions: Suggestions, listings_all: DataFrame, as_of: date,
           metadata: dict, subset: bool) -> WriteResult:
    """Quarantine the rejected rows and MERGE the changed suggestions (raises WRITE_CONFLICTS when
    every retry lost). A full run also marks closed the listings that closed by as_of; a subset
    run touches only its ids."""
    write_quarantine(spark, conf, suggestions.rejected, metadata, as_of, conf.scoring.commit_retries)
    target = conf.storage.table_path("price_suggestions")
    current = read_table(spark, target) if table_exists(spark, target) else None
    closed_since = None if subset else known_at(listings_all, as_of).where(F.col("status") != "active")
    changes = suggestion_changes(current, suggestions.rows, closed_since, as_of, metadata["run_id"])
    with crash_while_writing(target):  # no-op unless a test arms PRICESUGGEST_FAULT
        return write_table(spark, changes, target, conf.storage.table("price_suggestions"), metadata,
                           changed_only=COMPARED_COLUMNS, conflict_retries=conf.scoring.commit_retries)


def validation_male(store: ModelStore, version: str) -> float | None:
    """The model's MALE on its validation sold items, as training recorded it (None: not known)."""
    try:
        return store.metadata(version).get("validation", {}).get("val_male_sold")
    except KeyError:  # a suggestion from a model version no longer in the store
        return None


def record_outcomes(spark: SparkSession, conf: AppConfig, store: ModelStore, listings_all: DataFrame, as_of: date,
                    metadata: dict) -> list[Drift]:
    """MERGE the realised accuracy of the suggestions this run closed into `suggestion_outcomes`
    (computed from the committed table, so a rerun recomputes the same rows and commits nothing);
    returns the model versions whose sold listings' MALE drifted past conf's threshold."""
    suggestions = read_table(spark, conf.storage.table_path("price_suggestions"))
    closed_now = suggestions.where((F.col("state") == "closed") & (F.col("closed_as_of") == F.lit(as_of)))
    versions = [r[0] for r in closed_now.where("model_version IS NOT NULL").select("model_version").distinct().collect()]
    outcomes = suggestion_outcomes(suggestions, known_at(listings_all, as_of), as_of, NU,
                                   {v: validation_male(store, v) for v in versions}, metadata["run_id"]).collect()
    if outcomes:  # a handful of rows: categories x qualified x outcome per model version
        compared = [c for c in OUTCOMES_SCHEMA.fieldNames() if c not in (*OUTCOME_KEY, "run_id")]
        write_table(spark, spark.createDataFrame(outcomes, OUTCOMES_SCHEMA), conf.storage.table_path("suggestion_outcomes"),
                    conf.storage.table("suggestion_outcomes"), metadata, changed_only=compared,
                    conflict_retries=conf.scoring.commit_retries)
    return accuracy_drift([r.asDict() for r in outcomes], conf.scoring.max_male_increase,
                          conf.scoring.min_sold_outcomes)


def record_comps(spark: SparkSession, conf: AppConfig, store: ModelStore, model_version: str, rows: DataFrame,
                 active: DataFrame, listings_all: DataFrame, as_of: date, metadata: dict) -> dict:
    """MERGE the comparable sold listings of this run's scored listings into `price_comps`, after
    embedding what has no `listing_embeddings` row for the model yet; returns the run's comps counts."""
    k = conf.scoring.comps_k
    scored = rows.where(F.col("state") == "active").select("listing_id")
    queries = active.join(scored, "listing_id")
    sold = sold_in_window(known_at(listings_all, as_of), as_of, conf.stats.window_days)
    embeddings_path = conf.storage.table_path("listing_embeddings")
    existing = read_table(spark, embeddings_path) if table_exists(spark, embeddings_path) else None
    needed = missing_embeddings(queries.select(*EMBEDDED_COLUMNS).unionByName(sold.select(*EMBEDDED_COLUMNS)),
                                existing, model_version)
    # persisted: the MERGE reads its source more than once, and each read would run the model again
    new = embed(needed, str(store.root), model_version, conf.scoring.batch_size, conf.cleaning.photo).persist()
    write_table(spark, new.withColumn("run_id", F.lit(metadata["run_id"])), embeddings_path,
                conf.storage.table("listing_embeddings"), metadata, changed_only=EMBEDDINGS_COMPARED,
                conflict_retries=conf.scoring.commit_retries)
    embedded = read_table(spark, embeddings_path).where(F.col("model_version") == F.lit(model_version))
    usable = embedded.where("embedding IS NOT NULL").select("listing_id", "embedding")
    found = comps_rows(queries.join(usable, "listing_id"), sold.join(usable, "listing_id"), k).select(
        *COMPS_SCHEMA.fieldNames(), F.lit(model_version).alias("model_version"), F.lit(as_of).alias("as_of"),
        F.lit(metadata["run_id"]).alias("run_id")).persist()
    written = write_table(spark, found, conf.storage.table_path("price_comps"), conf.storage.table("price_comps"),
                          metadata, changed_only=COMPS_COMPARED, conflict_retries=conf.scoring.commit_retries)
    new.unpersist()
    found.unpersist()
    # the service's in-memory index: what this run searched, for this model (serving/comps_index.py);
    # a folder of its own, so a concurrent run for the same day never overwrites it mid-write
    snapshot = Snapshot(as_of, metadata["run_id"]).path(conf.storage.comps_index_path(model_version))
    sold.join(usable, "listing_id").select(*INDEX_COLUMNS).write.mode("overwrite").parquet(snapshot)
    counts = sold.select("listing_id").join(embedded, "listing_id").agg(
        F.count("embedding").alias("usable"), F.sum(F.col("embedding").isNull().cast("long")).alias("unusable")).first()
    return {"comps_version": written.version, "comps_candidates": counts["usable"],
            "comps_unusable_candidates": counts["unusable"] or 0}


class StaleFeatures(RuntimeError):
    """The newest statistics are older than scoring.max_feature_age_days (and stale was not allowed)."""


@dataclass(frozen=True)
class ScoringRequest:
    run_id: str
    model_version: str
    scored_at: datetime        # when, for people; never what is scored
    as_of: date | None = None  # None: pipeline.as_of (the data's clock)
    listing_ids: list[int] | None = None
    dry_run: bool = False
    allow_stale: bool = False


@dataclass(frozen=True)
class ScoringResult:
    summary: dict        # the run's scoring_runs row
    rows: DataFrame      # its suggestion rows (persisted: the caller unpersists)
    drifts: list[Drift]  # model versions whose realised accuracy drifted (record_outcomes)

    def exit_code(self) -> ExitCode:
        """Failed accounting or nothing scored (nothing committed) first; then a drift warning."""
        failed = {"failed: row accounting": ExitCode.ROW_ACCOUNTING, "failed: nothing scored": ExitCode.NOTHING_SCORED}
        if self.summary["status"] in failed:
            return failed[self.summary["status"]]
        return ExitCode.ACCURACY_DRIFT if self.drifts else ExitCode.OK


def score_run(spark: SparkSession, conf: AppConfig, store: ModelStore, request: ScoringRequest,
              job: str) -> ScoringResult:
    """One scoring run, end to end: score or reject every active listing, then (unless a dry run
    or the accounting fails) quarantine, MERGE the changed suggestions, record the realised
    accuracy of the suggestions it closed and append the run's `scoring_runs` row.

    Raises StaleFeatures before any work, and WRITE_CONFLICTS when every commit retry lost (then
    nothing of the run is committed and no scoring_runs row is written: rerun it)."""
    started = time.perf_counter()
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(conf.scoring.arrow_batch_rows))
    listings_version = current_version(spark, conf.storage.table_path("listings"))
    listings_all = read_table(spark, conf.storage.table_path("listings"), version=listings_version)
    clock = run_clock(spark, conf, request.as_of)
    as_of = clock.as_of
    features_as_of = newest_snapshot(read_table(spark, conf.storage.table_path("price_stats")), as_of)
    if stale := stale_features(features_as_of, as_of, conf.scoring.max_feature_age_days):
        if not request.allow_stale:
            raise StaleFeatures(stale)
        log.warning("scoring with stale statistics (--allow-stale): %s", stale)
    metadata = {"run_id": request.run_id, "job": job, "git_commit": git_commit(), "as_of": as_of.isoformat(),
                "model_version": request.model_version}
    suggestions = suggest(spark, conf, store, request.model_version, listings_all, clock, features_as_of,
                          request.scored_at, request.run_id, request.listing_ids)
    rows = suggestions.rows.persist()
    rows_in, subset = suggestions.active.count(), bool(request.listing_ids)
    summary = run_summary_row(
        run_id=request.run_id, as_of=as_of, model_version=request.model_version, features_as_of=features_as_of,
        listings_version=listings_version, rows_in=rows_in, rows=rows,
        rejected_by_reason=counts_by_reason(suggestions.rejected), dry_run=request.dry_run,
        scored_at=request.scored_at, subset=subset,
        model_training_version=store.metadata(request.model_version)["training_table"]["version"])
    # rows, not ids: every copy of a duplicated id is a rejected row, though the table keeps one per id
    n_scored, n_rejected = summary["scored"], summary["rejected"]
    status = run_status(rows_in, n_scored, n_rejected, request.dry_run)
    if status == "failed: row accounting":
        log.error("row accounting failed: %d in != %d scored + %d rejected", rows_in, n_scored, n_rejected)
    drifts: list[Drift] = []
    if status == "succeeded":
        summary["price_suggestions_version"] = commit(spark, conf, suggestions, listings_all, as_of, metadata,
                                                      subset).version
        if not subset:  # a subset run closes nothing
            drifts = record_outcomes(spark, conf, store, listings_all, as_of, metadata)
        if conf.scoring.comps_k:
            summary.update(record_comps(spark, conf, store, request.model_version, rows, suggestions.active,
                                        listings_all, as_of, metadata))
    summary.update(status=status, duration_s=round(time.perf_counter() - started, 1))
    if not request.dry_run:
        write_table(spark, spark.createDataFrame([summary], schema=SCORING_RUNS_SCHEMA),
                    conf.storage.table_path("scoring_runs"), conf.storage.table("scoring_runs"), metadata)
    return ScoringResult(summary, rows, drifts)
