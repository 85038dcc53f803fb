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

import dataclasses
import sys
from pathlib import Path

import torch

from evaluation import harness as ev
from evaluation.report import render_report
from evaluation.sink import EVAL_JOB, DeltaSink
from evaluation.stage import (EvaluationSetupError, encoded_splits, grid_settings, pinned_version, recorded_results,
                              write_report)
from jobs.common import job_parser, load_job_config, setup_logging
from model.qualification import ReasonChecks
from pricesuggest.config import resolve_root
from pricesuggest.delta_io import table_properties
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session

JOB = EVAL_JOB


def parse_args(argv):
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
    try:
        return parser, args, conf, grid_name, grid_settings(conf, grid_name)
    except EvaluationSetupError as exc:
        parser.error(str(exc))


def main(argv=None) -> int:
    parser, args, conf, grid_name, settings = parse_args(argv)
    log = setup_logging()
    ec, grid = conf.evaluation, conf.evaluation.grids[grid_name]
    spark = build_session(conf, JOB)
    try:
        version = pinned_version(spark, conf, args.resume)
    except EvaluationSetupError as exc:
        parser.error(str(exc))
    eval_run_id = args.resume or new_run_id(JOB)
    splits = encoded_splits(spark, conf, version)
    log.info("evaluation %s: training_set v%d, grid %s; %s", eval_run_id, version, grid_name, "; ".join(
        f"{d.scheme} split {len(d.train['image'])} train / {len(d.validation['image'])} validation / "
        f"{len(d.test['image'])} test rows" for d in splits.values()))
    generator = table_properties(spark, conf.storage.table_path("listings")).get("generator.config_sha256", "unknown")
    context = {"git_commit": git_commit(), "generator_config_sha256": generator,
               "data": {"table": conf.storage.table_path("training_set"), "version": version}}
    sink = DeltaSink(spark, conf, eval_run_id, context, splits)
    units = ev.plan(settings.variants, grid.seeds, {"random": None, "out_of_time": grid.out_of_time_variants},
                    settings.full)
    if not args.report_only:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model_base = dict(dataclasses.asdict(conf.training.model), image_size=int(conf.generator.image_size))
        ev.Runner(splits, model_base, settings.train_base, conf.training.pretrain, ec.baselines, device, sink,
                  ReasonChecks.from_conf(conf.scoring)).run(units, settings.full)

    results = recorded_results(spark, conf, eval_run_id)
    missing = [sink.key(u) for u in units if not sink.done(u)]
    gallery = ev.Unit("random", grid.seeds[0], next(v for v in settings.variants if v.name == settings.full))
    shown = ev.gallery(sink.restore(gallery), splits["random"], torch.device("cpu"))
    report_path = args.report or Path(resolve_root(ec.report_path))
    plots_dir = args.plots_dir or Path(resolve_root(ec.plots_dir))
    command = " ".join(["spark-submit jobs/evaluate.py", f"--grid {grid_name}"] +
                       ([f"--resume {eval_run_id}"] if args.resume else []))
    about = {"command": command, "eval_run_id": eval_run_id, "grid": grid_name,
             "train_schedule": settings.train_base, **context}
    text, figures = render_report(results, splits, shown, settings.full, grid, ec, missing, about, plots_dir,
                                  report_path.parent)
    write_report(text, figures, report_path, plots_dir)
    print(f"evaluation {eval_run_id}: {len(results)} metric rows; report {report_path}, plots in {plots_dir}")
    if missing:
        print(f"{len(missing)} unit(s) not run yet; continue with --resume {eval_run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
