"""The training stage (jobs/train_price_model.py): the pinned training table -> a registered model.

The driver pins the training table's Delta version, plans the run (training/plan.py: the
settings, the fingerprint, the inputs fitted on the train split in Spark, the Parquet files of
that exact snapshot), launches it (training/run.py) with `num_proc` processes through the
distributed backend's seam (training/distributed.py `launch`: Horovod on Spark; 1: in the
driver, no Horovod) and registers rank 0's final model. Promotion is the job's last word.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import SparkSession

from pricesuggest.config import AppConfig
from pricesuggest.delta_io import current_version, read_table
from pricesuggest.exit_codes import ExitCode
from registry.store import ModelStore
from training.distributed import launch
from training.plan import RunPlanError, plan_run, run_fingerprint, run_settings
from training.run import TrainingFailed, print_diagnostics, print_validation, register_run, train_process


@dataclass(frozen=True)
class TrainingRequest:
    run_id: str                       # a new run's id, or the resumed run's
    num_proc: int
    previous: dict | None = None      # the checkpoint a resumed run continues
    epochs: int | None = None         # override of training.train.epochs
    image_encoder: str | None = None  # override of training.model.image_encoder
    skip_if_trained: bool = False     # a registered model with the same fingerprint: done


@dataclass(frozen=True)
class TrainingOutcome:
    status: str                     # registered | skipped (already trained) | failed
    model_version: str | None = None
    detail: str = ""                # why it failed, or what was skipped
    final: dict | None = None       # the registered checkpoint (best epoch, diagnostics)
    model: object | None = None     # the registered PriceSuggester


def train_and_register(spark: SparkSession, conf: AppConfig, store: ModelStore, request: TrainingRequest,
                       model_version: str, log: logging.Logger) -> TrainingOutcome:
    previous = request.previous
    table_path = conf.storage.table_path("training_set")
    version = previous["data"]["version"] if previous else current_version(spark, table_path)
    table = read_table(spark, table_path, version=version)
    model_cfg, train_cfg = run_settings(conf, table, previous, request.epochs, request.image_encoder)
    fingerprint = run_fingerprint(conf, table_path, version, model_cfg, train_cfg, request.num_proc, previous)
    if request.skip_if_trained and not previous and (done := store.find("fingerprint", fingerprint)):
        return TrainingOutcome("skipped", done, f"already trained with this configuration on training_set v{version}")
    try:
        run = plan_run(conf, request.run_id, table, {"table": table_path, "version": version, "fingerprint": fingerprint},
                       model_cfg, train_cfg, request.num_proc, previous, resume=previous is not None)
    except RunPlanError as exc:
        return TrainingOutcome("failed", detail=str(exc))
    log.info("run %s: training_set v%d, %d train / %d validation rows, %d process(es), %d steps/epoch, "
             "vocabulary %d, %d statistics", run.run_id, version, run.data["train_rows"],
             run.data["validation_rows"], request.num_proc, run.steps_per_epoch, run.model_config["vocab_size"],
             run.model_config["n_stats"])
    results = launch(train_process, run, request.num_proc)
    for r in results:
        log.info("rank %d/%d trained on %d distinct listings", r["rank"], r["size"], len(r["listing_ids_seen"]))
    try:
        final, model = register_run(store, run, results, fingerprint, request.num_proc, model_version)
    except TrainingFailed as exc:
        return TrainingOutcome("failed", detail=str(exc))
    return TrainingOutcome("registered", model_version, final=final, model=model)


def report_and_promote(outcome: TrainingOutcome, conf: AppConfig, store: ModelStore, log: logging.Logger,
                       promote: bool = True, force: bool = False) -> ExitCode:
    """Print what a run gave (validation, what the model reads) and move `latest` through the
    promotion gate (or --force); the job's exit code."""
    if outcome.status == "failed":
        log.error("%s", outcome.detail)
        return ExitCode.TRAINING_FAILED
    if outcome.status == "skipped":
        print(f"model {outcome.model_version} was {outcome.detail}: skipped")
        print_validation(outcome.model_version, store.metadata(outcome.model_version)["validation"])
        return ExitCode.OK
    final, model_version, tc = outcome.final, outcome.model_version, conf.training
    print(f"registered model {model_version} (best epoch {final['best']['epoch']} of {final['epoch']})")
    print_validation(model_version, {k: v for k, v in final["best"]["metrics"].items() if k.startswith("val_")})
    print_diagnostics(final["diagnostics"], outcome.model.cfg.qualification_threshold, tc.min_photo_importance)
    if not promote:
        print("not promoted (--no-promote)")
        return ExitCode.OK
    promoted, reason = store.promote(model_version, tc.promotion_metric, tc.promotion_tolerance,
                                     tc.min_photo_importance, force=force)
    print(f"{'promoted' if promoted else 'NOT promoted'} to latest: {reason}")
    return ExitCode.OK
