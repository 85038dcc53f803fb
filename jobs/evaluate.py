"""Evaluate: baselines, the oracle, constraint grids, ablations and seeds -> docs/EVALUATION.md, PNGs, Delta.

  spark-submit jobs/evaluate.py                    # the conf's grid (make eval: quick)
  spark-submit jobs/evaluate.py --grid full        # the committed report's grids and seeds
  spark-submit jobs/evaluate.py --resume RUN_ID    # finish an interrupted run (done units are skipped)

Reads `training_set` at its current Delta version (pinned for the whole run) with
`listing_truth`'s fair prices, trains every variant in this process on arrays decoded once
(the production training loop, --no-promote: evaluation models are registered in the model
store as `eval-...` versions and never become `latest`), MERGEs each finished unit's metrics
into `evaluation_runs` (keyed by model version), then writes the report and its plots.
"""
from __future__ import annotations

import sys
from pathlib import Path

from evaluation.sink import EVAL_JOB
from evaluation.stage import EvaluationRequest, EvaluationSetupError, evaluate, grid_settings, pinned_version
from jobs.common import job_parser, load_job_config, setup_logging
from pricesuggest.config import resolve_root
from pricesuggest.runinfo import new_run_id
from pricesuggest.spark import build_session

JOB = EVAL_JOB


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--grid", help="evaluation.grids entry to run (default: evaluation.grid)")
    parser.add_argument("--resume", metavar="EVAL_RUN_ID", help="continue this evaluation run")
    parser.add_argument("--report-only", action="store_true",
                        help="with --resume: write the report from what the run has recorded, train nothing")
    parser.add_argument("--report", type=Path, help="report path (default: evaluation.report_path)")
    parser.add_argument("--plots-dir", type=Path, help="plot directory (default: evaluation.plots_dir)")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    if args.report_only and not args.resume:
        parser.error("--report-only needs --resume EVAL_RUN_ID")
    grid_name = args.grid or conf.evaluation.grid
    if grid_name not in conf.evaluation.grids:
        parser.error(f"--grid {grid_name}: not in evaluation.grids ({sorted(conf.evaluation.grids)})")
    log = setup_logging()
    spark = build_session(conf, JOB)
    try:
        settings, version = grid_settings(conf, grid_name), pinned_version(spark, conf, args.resume)
    except EvaluationSetupError as exc:
        parser.error(str(exc))
    eval_run_id = args.resume or new_run_id(JOB)
    command = " ".join(["spark-submit jobs/evaluate.py", f"--grid {grid_name}"] +
                       ([f"--resume {eval_run_id}"] if args.resume else []))
    report_path = args.report or Path(resolve_root(conf.evaluation.report_path))
    result = evaluate(spark, conf, EvaluationRequest(
        eval_run_id, grid_name, settings, version, not args.report_only, report_path,
        args.plots_dir or Path(resolve_root(conf.evaluation.plots_dir)), command), log)
    print(f"evaluation {eval_run_id}: {result.metric_rows} metric rows; report {report_path}")
    if result.missing:
        print(f"{len(result.missing)} unit(s) not run yet; continue with --resume {eval_run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
