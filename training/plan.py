"""Planning a training run in the driver (jobs/train_price_model.py): the settings, the
fingerprint that makes `--skip-if-trained` idempotent, the inputs fitted on the pinned
training table's train split, and the shard checks that would otherwise stall Horovod.
"""
from __future__ import annotations

import dataclasses

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from model.config import PriceModelConfig, TrainConfig
from model.inputs import ModelInputs
from pricesuggest.config import AppConfig
from training.input_fitting import fit_configured_inputs, statistics_columns
from training.run import TrainingRun, training_fingerprint


class RunPlanError(ValueError):
    """The run cannot start on this table with these settings (the job logs it and exits 8, TRAINING_FAILED)."""


def run_settings(conf: AppConfig, table: DataFrame, previous: dict | None, epochs: int | None = None,
                 image_encoder: str | None = None) -> tuple[PriceModelConfig, TrainConfig]:
    """conf's model and training settings with the job's overrides; a resumed run keeps the
    architecture and schedule it started with (only --epochs may change)."""
    more_epochs = {"epochs": epochs} if epochs else {}
    if previous:
        return (PriceModelConfig(**previous["model_config"]),
                TrainConfig(**dict(previous["train_config"], **more_epochs)))
    model_cfg = dataclasses.replace(conf.training.model, vocab_size=conf.training.vocab_size,
                                    image_size=int(conf.generator.image_size),
                                    n_stats=len(statistics_columns(table)),
                                    **({"image_encoder": image_encoder} if image_encoder else {}))
    return model_cfg, dataclasses.replace(conf.training.train, **more_epochs)


def run_fingerprint(conf: AppConfig, table_path: str, version: int, model_cfg: PriceModelConfig,
                    train_cfg: TrainConfig, num_proc: int, previous: dict | None) -> str:
    """What the run trains on and with (global batch and shards included); a resumed run is the run it continues."""
    if previous and "fingerprint" in previous["data"]:
        return previous["data"]["fingerprint"]
    return training_fingerprint(table_path, version, dataclasses.asdict(model_cfg), dataclasses.asdict(train_cfg),
                                dataclasses.asdict(conf.training.pretrain), conf.training.pretrained_visual, num_proc)


def shard_problem(split: str, rows: int, files: int, num_proc: int, batch_size: int) -> str | None:
    """Why this split cannot feed num_proc processes, or None."""
    if split == "train" and rows < batch_size * num_proc:
        return f"training split has {rows} rows: fewer than one step of {num_proc} x {batch_size}"
    if files < num_proc:  # Petastorm shards whole row groups: an empty shard would stall Horovod
        return (f"{split} split has {files} file(s) for {num_proc} processes: rebuild the training set with "
                f"training_set.files_per_split >= {num_proc}")
    return None


def plan_run(conf: AppConfig, run_id: str, table: DataFrame, data: dict, model_cfg: PriceModelConfig,
             train_cfg: TrainConfig, num_proc: int, previous: dict | None, resume: bool) -> TrainingRun:
    """The run's spec: inputs fitted on the train split (or the resumed run's), steps per epoch,
    the Parquet files of the pinned snapshot. `data` holds the table, version and fingerprint."""
    train_rows, val_rows = table.where("split = 'train'"), table.where("split = 'validation'")
    n_train, n_val = train_rows.count(), val_rows.count()
    train_urls, val_urls = train_rows.inputFiles(), val_rows.inputFiles()
    for split, rows, urls in (("train", n_train, train_urls), ("validation", n_val, val_urls)):
        if problem := shard_problem(split, rows, len(urls), num_proc, train_cfg.batch_size):
            raise RunPlanError(problem)
    if previous:
        inputs = ModelInputs.from_dict(previous["inputs"])
    else:
        inputs = fit_configured_inputs(train_rows, conf)
        model_cfg = dataclasses.replace(
            model_cfg, vocab_size=inputs.vocabulary.size, field_sizes=inputs.field_sizes,
            log_price_offset=train_rows.agg(F.avg("log_sold_price")).first()[0] or 0.0)
    per_step = train_cfg.batch_size * num_proc
    return TrainingRun(
        run_id=run_id, model_config=dataclasses.asdict(model_cfg), train_config=dataclasses.asdict(train_cfg),
        inputs=inputs.to_dict(), train_urls=train_urls, val_urls=val_urls,
        steps_per_epoch=n_train // per_step, val_steps=max(1, n_val // per_step) if n_val >= num_proc else 0,
        model_store=conf.storage.model_store, reader_workers=conf.training.reader_workers, resume=resume,
        data={**data, "train_rows": n_train, "validation_rows": n_val},
        pretrain_config=dataclasses.asdict(conf.training.pretrain),
        pretrained_visual=conf.training.pretrained_visual, diagnostics_rows=conf.training.diagnostics_rows,
        decoded_cache_mb=conf.training.decoded_cache_mb)
