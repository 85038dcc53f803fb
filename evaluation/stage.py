"""The evaluation stage (jobs/evaluate.py): a grid's settings, the pinned `training_set`
version, both schemes' encoded splits, the run of every unit, and the written report.

A run reads `training_set` at one Delta version for its whole life (a resumed run keeps
the version its first units recorded in `evaluation_runs`), joins `listing_truth`'s fair
prices, fits the inputs per scheme exactly as training fits them (in Spark, on that
scheme's train split) and decodes every photo once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from evaluation import harness as ev
from evaluation.data import with_out_of_time_split, with_truth
from evaluation.report import render_report
from evaluation.sink import DeltaSink
from model.qualification import ReasonChecks
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import current_version, read_table, table_exists, table_properties
from pricesuggest.runinfo import git_commit
from training.experiments import Variant, delta_name, study_variants
from training.input_fitting import fit_configured_inputs

SCHEMES = {"random": "split", "out_of_time": "oot_split"}  # scheme -> its split column
INPUT_TABLES = ("listings", "listing_truth", "training_set")


class EvaluationSetupError(ValueError):
    """The run cannot start with this grid or on these tables (the job reports it as a usage error)."""


@dataclass
class GridSettings:
    train_base: dict        # the production schedule with the grid's overrides
    variants: list[Variant]
    full: str               # the full model's variant name (the ablations' anchor)


def grid_settings(conf: AppConfig, grid_name: str) -> GridSettings:
    ec, grid = conf.evaluation, conf.evaluation.grids[grid_name]
    try:
        train_base = dataclasses.asdict(dataclasses.replace(conf.training.train, **grid.train))
    except ValueError as exc:  # the grid's overrides make an invalid TrainConfig
        raise EvaluationSetupError(f"evaluation.grids.{grid_name}.train: {exc}") from None
    variants = study_variants(grid.deltas, grid.epsilons, ec.ablation_delta, ec.ablation_eps, grid.ablations)
    unknown = sorted(set(grid.out_of_time_variants) - {v.name for v in variants})
    if unknown:
        raise EvaluationSetupError(f"evaluation.grids.{grid_name}.out_of_time_variants: unknown variant(s) {unknown}")
    return GridSettings(train_base, variants, delta_name(ec.ablation_delta))


def pinned_version(spark: SparkSession, conf: AppConfig, resume: str | None) -> int:
    """The training_set version this run reads: the current one, or the one a resumed run started on."""
    for name in INPUT_TABLES:  # the demo's tables: say so rather than a Spark trace
        if not table_exists(spark, conf.storage.table_path(name)):
            raise EvaluationSetupError(f"no {name} table at {conf.storage.table_path(name)}: "
                                       "build the data first (make demo)")
    if not resume:
        return current_version(spark, conf.storage.table_path("training_set"))
    runs_path = conf.storage.table_path("evaluation_runs")
    if not table_exists(spark, runs_path):
        raise EvaluationSetupError(f"--resume {resume}: no evaluation_runs table")
    pinned = read_table(spark, runs_path).where(F.col("eval_run_id") == resume) \
        .select("training_set_version").distinct().collect()
    if not pinned:
        raise EvaluationSetupError(f"--resume {resume}: no such evaluation run")
    return int(pinned[0][0])


def encoded_splits(spark: SparkSession, conf: AppConfig, version: int) -> dict[str, ev.SplitData]:
    """Both schemes' train/validation/test arrays from that training_set version, photos decoded once."""
    rows = with_out_of_time_split(
        with_truth(read_table(spark, conf.storage.table_path("training_set"), version=version),
                   read_table(spark, conf.storage.table_path("listing_truth"))),
        conf.evaluation.out_of_time_days).cache()  # read by both schemes' fitting and toPandas
    inputs = {scheme: fit_configured_inputs(rows.where(F.col(column) == "train"), conf)  # as training fits them
              for scheme, column in SCHEMES.items()}
    frame = rows.toPandas()
    rows.unpersist()
    return {scheme: ev.encode_split(frame, scheme, column, inputs[scheme], conf.generator)
            for scheme, column in SCHEMES.items()}


def write_report(text: str, figures: dict[str, Figure], report_path: Path, plots_dir: Path) -> None:
    """The report's Markdown and its PNGs (the report links them relative to its own directory)."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(plots_dir / name, dpi=110, bbox_inches="tight")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text)


def recorded_results(spark: SparkSession, conf: AppConfig, eval_run_id: str) -> pd.DataFrame:
    """Every metric row this evaluation run has MERGEd into `evaluation_runs`."""
    return read_table(spark, conf.storage.table_path("evaluation_runs")) \
        .where(F.col("eval_run_id") == eval_run_id).toPandas()


@dataclass(frozen=True)
class EvaluationRequest:
    eval_run_id: str
    grid_name: str
    settings: GridSettings
    version: int             # the pinned training_set version (pinned_version)
    train: bool              # False: report what the run has recorded (--report-only)
    report_path: Path
    plots_dir: Path
    command: str             # how to rerun it, for the report


@dataclass(frozen=True)
class EvaluationResult:
    metric_rows: int
    missing: list[str]       # units not run yet (finish with --resume)


def evaluate(spark: SparkSession, conf: AppConfig, request: EvaluationRequest, log) -> EvaluationResult:
    """Train and measure every unit of the grid not yet recorded (MERGEd into `evaluation_runs`
    one unit at a time), then render the report and its plots from what the run has recorded."""
    ec, grid, settings = conf.evaluation, conf.evaluation.grids[request.grid_name], request.settings
    splits = encoded_splits(spark, conf, request.version)
    log.info("evaluation %s: training_set v%d, grid %s; %s", request.eval_run_id, request.version,
             request.grid_name, "; ".join(
                 f"{d.scheme} split {len(d.train['image'])} train / {len(d.validation['image'])} validation / "
                 f"{len(d.test['image'])} test rows" for d in splits.values()))
    generator = table_properties(spark, conf.storage.table_path("listings")).get("generator.config_sha256", "unknown")
    context = {"git_commit": git_commit(), "generator_config_sha256": generator,
               "data": {"table": conf.storage.table_path("training_set"), "version": request.version}}
    sink = DeltaSink(spark, conf, request.eval_run_id, context, splits)
    units = ev.plan(settings.variants, grid.seeds, {"random": None, "out_of_time": grid.out_of_time_variants},
                    settings.full)
    if request.train:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model_base = dict(dataclasses.asdict(conf.training.model), image_size=int(conf.generator.image_size))
        ev.Runner(splits, model_base, settings.train_base, conf.training.pretrain, ec.baselines, device, sink,
                  ReasonChecks.from_conf(conf.scoring)).run(units, settings.full)

    results = recorded_results(spark, conf, request.eval_run_id)
    missing = [sink.key(u) for u in units if not sink.done(u)]
    gallery = ev.Unit("random", grid.seeds[0], next(v for v in settings.variants if v.name == settings.full))
    shown = ev.gallery(sink.restore(gallery), splits["random"], torch.device("cpu"))
    about = {"command": request.command, "eval_run_id": request.eval_run_id, "grid": request.grid_name,
             "train_schedule": settings.train_base, **context}
    text, figures = render_report(results, splits, shown, settings.full, grid, ec, missing, about,
                                  request.plots_dir, request.report_path.parent)
    write_report(text, figures, request.report_path, request.plots_dir)
    return EvaluationResult(len(results), missing)
