"""Score every active listing: suggested price, qualification and why not, MERGEd into price_suggestions.

  spark-submit jobs/score_listings.py [--as-of YYYY-MM-DD] [--model-version V] [--listing-ids 1,2,3]
                                      [--dry-run] [--allow-stale]

Reads `listings` as known at --as-of (default pipeline.as_of: the data's clock, never the
wall clock), keeps the active ones, cleans them with the training set's transform (photo and
title problems are rejected to `listings_rejected`; price problems only flag the row), asks
Feast's offline store for the statistics as of that day, scores in executors and MERGEs one
row per listing into `price_suggestions`; then appends the run's summary to `scoring_runs`.

Exit codes: 0 scored; 1 rows in != scored + rejected; 2 usage; 3 nothing scored;
4 features older than scoring.max_feature_age_days (use --allow-stale); 5 no such model;
6 lost every retry against concurrent writers (nothing committed: rerun).
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from pyspark.sql import functions as F

from ingest.cleaning import flag_listings
from pricesuggest.clock import known_at, resolve_as_of
from pricesuggest.delta_io import WRITE_CONFLICTS, current_version, read_table, table_exists, write_table
from feature_repo.store import historical_features
from ingest.rejects import counts_by_reason, write_quarantine
from scoring.transforms import (COMPARED_COLUMNS, active_listings, score, scoring_entities, split_for_scoring,
                              suggestion_changes, suggestion_rows, with_features)
from scoring.runs import SCORING_RUNS_SCHEMA, newest_snapshot, run_summary_row, summary_text
from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from model.inputs import ModelInputs
from model.qualification import ReasonChecks
from registry.store import ModelStore
from pricesuggest.faults import crash_while_writing
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session

JOB = "score_listings"
EXIT_ACCOUNTING, EXIT_NOTHING_SCORED, EXIT_STALE, EXIT_NO_MODEL, EXIT_CONFLICT = 1, 3, 4, 5, 6


def listing_ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--listing-ids: expected comma-separated numbers, got {text!r}") from None


def parse_args(argv):
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--as-of", type=iso_date, help="score listings active at this day 00:00 UTC "
                                                       "(default: pipeline.as_of)")
    parser.add_argument("--model-version", help="registered model version (default: scoring.model_version)")
    parser.add_argument("--listing-ids", type=listing_ids, help="score only these active listings (comma-separated)")
    parser.add_argument("--dry-run", action="store_true", help="score and print the summary, write nothing")
    parser.add_argument("--allow-stale", action="store_true",
                        help="score even if the newest statistics are older than scoring.max_feature_age_days")
    parser.add_argument("--examples", type=int, default=5, help="example suggestions to print")
    args = parser.parse_args(argv)
    return parser, args, load_job_config(parser, args)


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    started = time.perf_counter()
    scored_at = datetime.now(timezone.utc).replace(tzinfo=None)  # when, for people; never what is scored
    run_id = new_run_id(JOB)
    store = ModelStore(conf.storage.model_store)
    try:
        model_version = store.resolve(args.model_version or conf.scoring.model_version)
    except KeyError as exc:
        log.error("no model to score with: %s (train one: spark-submit jobs/train_price_model.py)", exc)
        return EXIT_NO_MODEL
    model_meta = store.metadata(model_version)

    spark = build_session(conf, JOB)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(conf.scoring.arrow_batch_rows))
    listings_path = conf.storage.table_path("listings")
    listings_version = current_version(spark, listings_path)
    listings_all = read_table(spark, listings_path, version=listings_version)
    as_of = resolve_as_of(args.as_of, conf.pipeline.as_of, listings_all)
    features_as_of = newest_snapshot(read_table(spark, conf.storage.table_path("price_stats")), as_of)
    age = None if features_as_of is None else (as_of - features_as_of).days
    if age is None or age > conf.scoring.max_feature_age_days:
        if not args.allow_stale:
            log.error("statistics are stale: newest snapshot %s for --as-of %s (limit %d days); run "
                      "compute_price_stats + materialize_features, or pass --allow-stale",
                      features_as_of, as_of, conf.scoring.max_feature_age_days)
            return EXIT_STALE
        log.warning("scoring with stale statistics (snapshot %s, as of %s): --allow-stale", features_as_of, as_of)
    metadata = {"run_id": run_id, "job": JOB, "git_commit": git_commit(), "as_of": as_of.isoformat(),
                "model_version": model_version}

    active = active_listings(listings_all, as_of, args.listing_ids)
    # price fences from every listing known then (as the training set's cleaning), not just these
    flagged = flag_listings(active, conf.cleaning, reference=known_at(listings_all, as_of)).cache()
    to_score, rejected = split_for_scoring(flagged, conf.scoring.reject_reasons)
    features, feature_columns = historical_features(spark, conf, scoring_entities(to_score, as_of))
    listings = with_features(to_score, features, feature_columns)
    checks = ReasonChecks.from_conf(conf.scoring)
    model_columns = ModelInputs.from_dict(store.load(model_version)["inputs"]).feature_columns()
    scored = score(listings, str(store.root), model_version, checks, conf.scoring.batch_size, model_columns)
    rows = suggestion_rows(listings, scored, rejected, as_of, features_as_of, scored_at, run_id).persist()

    rows_in = active.count()
    by_state = {r["state"]: r["count"] for r in rows.groupBy("state").count().collect()}
    n_scored, n_rejected = by_state.get("active", 0), by_state.get("rejected", 0)
    summary = run_summary_row(
        run_id=run_id, as_of=as_of, model_version=model_version, features_as_of=features_as_of,
        listings_version=listings_version, rows_in=rows_in, rows=rows, rejected_by_reason=counts_by_reason(rejected),
        dry_run=args.dry_run, scored_at=scored_at, subset=bool(args.listing_ids),
        model_training_version=model_meta["training_table"]["version"])
    accounting_ok = rows_in == n_scored + n_rejected
    if not accounting_ok:
        log.error("row accounting failed: %d in != %d scored + %d rejected", rows_in, n_scored, n_rejected)
    status = ("failed: row accounting" if not accounting_ok else "failed: nothing scored" if n_scored == 0
              else "dry run" if args.dry_run else "succeeded")
    if not args.dry_run and accounting_ok and n_scored:
        write_quarantine(spark, conf, rejected, metadata, as_of, conf.scoring.commit_retries)
        target = conf.storage.table_path("price_suggestions")
        current = read_table(spark, target) if table_exists(spark, target) else None
        # a full run also marks closed the listings that closed by as_of; a --listing-ids run touches only its ids
        closed_since = None if args.listing_ids else known_at(listings_all, as_of).where(F.col("status") != "active")
        changes = suggestion_changes(current, rows, closed_since, as_of, run_id)
        try:
            with crash_while_writing(target):  # no-op unless a test arms PRICESUGGEST_FAULT
                written = write_table(spark, changes, target, conf.storage.table("price_suggestions"), metadata,
                                      changed_only=COMPARED_COLUMNS, conflict_retries=conf.scoring.commit_retries)
        except WRITE_CONFLICTS as exc:
            log.error("price_suggestions: lost %d retries against concurrent writers; nothing of this run "
                      "was committed, rerun it: %s", conf.scoring.commit_retries, str(exc).splitlines()[0])
            return EXIT_CONFLICT
        summary["price_suggestions_version"] = written.version
    summary.update(status=status, duration_s=round(time.perf_counter() - started, 1))
    if not args.dry_run:
        write_table(spark, spark.createDataFrame([summary], schema=SCORING_RUNS_SCHEMA),
                    conf.storage.table_path("scoring_runs"), conf.storage.table("scoring_runs"), metadata)
    print(summary_text(summary))
    if n_scored and args.examples:
        print(f"example suggestions (model {model_version}):")
        print(rows.where("state = 'active'").orderBy("listing_id").limit(args.examples).select(
            "listing_id", "category", "list_price", "suggested_price", "price_low", "price_high", "qualified",
            F.round("qualification_score", 3).alias("score"), "not_qualified_reason", "list_price_flag")
            .toPandas().to_string(index=False))
    rows.unpersist()
    if not accounting_ok:
        return EXIT_ACCOUNTING
    return 0 if n_scored else EXIT_NOTHING_SCORED


if __name__ == "__main__":
    sys.exit(main())
