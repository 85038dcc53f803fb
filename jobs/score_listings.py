"""Score every active listing: suggested price, qualification and why not, MERGEd into price_suggestions.

  spark-submit jobs/score_listings.py [--as-of YYYY-MM-DD] [--model-version V] [--listing-ids 1,2,3]
                                      [--dry-run] [--allow-stale]

Scores the listings active at --as-of (default pipeline.as_of: the data's clock, never the
wall clock) with the stage's functions (scoring/stage.py): rejected rows go to
`listings_rejected`, one row per listing is MERGEd into `price_suggestions`, and the run's
summary is appended to `scoring_runs`.

Exit codes (pricesuggest/exit_codes.py, the README's table): 0 scored; 3 nothing scored;
4 features older than scoring.max_feature_age_days (use --allow-stale); 5 no such model;
6 lost every retry against concurrent writers (nothing committed: rerun); 7 rows in !=
scored + rejected (nothing committed); 9 committed, with an accuracy drift warning.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.delta_io import WRITE_CONFLICTS
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import new_run_id
from pricesuggest.spark import build_session
from registry.store import ModelStore
from scoring.runs import example_suggestions, summary_text
from scoring.stage import ScoringRequest, StaleFeatures, score_run

JOB = "score_listings"


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
    store = ModelStore(conf.storage.model_store)
    try:
        model_version = store.resolve(args.model_version or conf.scoring.model_version)
    except KeyError as exc:
        log.error("no model to score with: %s (train one: spark-submit jobs/train_price_model.py)", exc)
        return ExitCode.NO_MODEL
    request = ScoringRequest(new_run_id(JOB), model_version, datetime.now(timezone.utc).replace(tzinfo=None),
                             args.as_of, args.listing_ids, args.dry_run, args.allow_stale)
    try:
        result = score_run(build_session(conf, JOB), conf, store, request, JOB)
    except StaleFeatures as exc:
        log.error("statistics are stale: %s; run compute_price_stats + materialize_features, or pass "
                  "--allow-stale", exc)
        return ExitCode.STALE_FEATURES
    except WRITE_CONFLICTS as exc:
        log.error("price_suggestions: lost %d retries against concurrent writers; nothing of this run "
                  "was committed, rerun it: %s", conf.scoring.commit_retries, str(exc).splitlines()[0])
        return ExitCode.WRITE_CONFLICT
    summary = result.summary
    print(summary_text(summary))
    if summary["scored"] and args.examples:
        print(example_suggestions(result.rows, model_version, args.examples))
    result.rows.unpersist()
    for drift in result.drifts:
        log.warning("ACCURACY DRIFT (suggestions committed; retrain or roll back the model): %s", drift.message())
    return result.exit_code()


if __name__ == "__main__":
    sys.exit(main())
