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
from pyspark.sql import functions as F

from pricesuggest.delta_io import current_version, read_table, table_exists, table_properties
from evaluation.data import with_out_of_time_split, with_truth
from training.input_fitting import fit_configured_inputs
from jobs.common import job_parser, load_job_config, setup_logging
from evaluation import harness as ev
from evaluation.report import render_report
from evaluation.sink import EVAL_JOB, DeltaSink
from training.experiments import delta_name, study_variants
from model.qualification import ReasonChecks
from pricesuggest.config import resolve_root
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session

JOB = EVAL_JOB
SCHEMES = {"random": "split", "out_of_time": "oot_split"}


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
    return parser, args, conf, grid_name


def main(argv=None) -> int:
    parser, args, conf, grid_name = parse_args(argv)
    log = setup_logging()
    ec, grid = conf.evaluation, conf.evaluation.grids[grid_name]
    try:
        train_base = dataclasses.asdict(dataclasses.replace(conf.training.train, **grid.train))
    except ValueError as exc:  # the grid's overrides make an invalid TrainConfig
        parser.error(f"evaluation.grids.{grid_name}.train: {exc}")
    baseline_cfg, pretrain = ec.baselines, conf.training.pretrain
    variants = study_variants(grid.deltas, grid.epsilons, ec.ablation_delta, ec.ablation_eps, grid.ablations)
    full = delta_name(ec.ablation_delta)
    unknown = sorted(set(grid.out_of_time_variants) - {v.name for v in variants})
    if unknown:
        parser.error(f"evaluation.grids.{grid_name}.out_of_time_variants: unknown variant(s) {unknown}")

    spark = build_session(conf, JOB)
    for name in ("listings", "listing_truth", "training_set"):  # the demo's tables: say so rather than a Spark trace
        if not table_exists(spark, conf.storage.table_path(name)):
            parser.error(f"no {name} table at {conf.storage.table_path(name)}: build the data first (make demo)")
    table_path = conf.storage.table_path("training_set")
    listings_props = table_properties(spark, conf.storage.table_path("listings"))
    eval_run_id = args.resume or new_run_id(JOB)
    runs_path = conf.storage.table_path("evaluation_runs")
    if args.resume:  # a resumed run keeps its data version
        if not table_exists(spark, runs_path):
            parser.error(f"--resume {args.resume}: no evaluation_runs table")
        pinned = read_table(spark, runs_path).where(F.col("eval_run_id") == args.resume) \
            .select("training_set_version").distinct().collect()
        if not pinned:
            parser.error(f"--resume {args.resume}: no such evaluation run")
        version = int(pinned[0][0])
    else:
        version = current_version(spark, table_path)
    rows = with_out_of_time_split(with_truth(read_table(spark, table_path, version=version),
                                                  read_table(spark, conf.storage.table_path("listing_truth"))),
                                  ec.out_of_time_days).cache()  # read by both schemes' fitting and toPandas
    inputs = {scheme: fit_configured_inputs(rows.where(F.col(column) == "train"), conf)  # as training fits them
              for scheme, column in SCHEMES.items()}
    frame = rows.toPandas()
    log.info("evaluation %s: training_set v%d, %d rows, grid %s", eval_run_id, version, len(frame), grid_name)
    image_size = int(conf.generator.image_size)
    splits = {scheme: ev.encode_split(frame, scheme, column, inputs[scheme], conf.generator)
              for scheme, column in SCHEMES.items()}
    for data in splits.values():
        log.info("%s split: %d train / %d validation / %d test rows", data.scheme, len(data.train["image"]),
                 len(data.validation["image"]), len(data.test["image"]))
    context = {"git_commit": git_commit(), "data": {"table": table_path, "version": version},
               "generator_config_sha256": listings_props.get("generator.config_sha256", "unknown")}
    sink = DeltaSink(spark, conf, eval_run_id, context, splits)
    units = ev.plan(variants, grid.seeds, {"random": None, "out_of_time": grid.out_of_time_variants}, full)
    model_base = dict(dataclasses.asdict(conf.training.model), image_size=image_size)
    if not args.report_only:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        checks = ReasonChecks.from_conf(conf.scoring)
        ev.Runner(splits, model_base, train_base, pretrain, baseline_cfg, device, sink, checks).run(units, full)

    results = read_table(spark, runs_path).where(F.col("eval_run_id") == eval_run_id).toPandas()
    missing = [sink.key(u) for u in units if not sink.done(u)]
    gallery = ev.Unit("random", grid.seeds[0], next(v for v in variants if v.name == full))
    report_path = args.report or Path(resolve_root(ec.report_path))
    plots_dir = args.plots_dir or Path(resolve_root(ec.plots_dir))
    command = " ".join(["spark-submit jobs/evaluate.py", f"--grid {grid_name}"] +
                       ([f"--resume {eval_run_id}"] if args.resume else []))
    shown = ev.gallery(sink.restore(gallery), splits["random"], torch.device("cpu"))
    text, figures = render_report(results, splits, shown, full, grid, ec, missing,
                                  {"command": command, "eval_run_id": eval_run_id, "grid": grid_name,
                                   "train_schedule": train_base,
                                   **context}, plots_dir, report_path.parent)
    plots_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(plots_dir / name, dpi=110, bbox_inches="tight")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text)
    print(f"evaluation {eval_run_id}: {len(results)} metric rows; report {report_path}, plots in {plots_dir}")
    if missing:
        print(f"{len(missing)} unit(s) not run yet; continue with --resume {eval_run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
