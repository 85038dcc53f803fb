"""Train the price model with Horovod on Spark over Petastorm; register it; promote it if no worse.

  spark-submit jobs/train_price_model.py                    # train, register, gate-promote `latest`
  spark-submit jobs/train_price_model.py --resume RUN_ID    # continue a crashed run from its checkpoint
  spark-submit jobs/train_price_model.py --rollback VERSION # point `latest` at an earlier version

The driver pins the training table's Delta version, builds the vocabulary and the
statistics normalisation from its train split (in Spark), lists the Parquet files of that
exact snapshot, and launches the run (training/run.py) with `training.num_proc`
processes through the distributed backend's seam (training/distributed.py `launch`: Horovod
on Spark; 1: in the driver, no Horovod). Rank 0 checkpoints every epoch; the driver
registers the final model and moves `latest` only through the promotion gate (or --force).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from pyspark.sql import functions as F

from pricesuggest.delta_io import current_version, read_table
from training.input_fitting import fit_configured_inputs, statistics_columns
from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from model.config import PriceModelConfig, TrainConfig
from training.distributed import launch
from model.inputs import ModelInputs
from registry.store import ModelStore
from training.run import (TrainingFailed, TrainingRun, print_diagnostics, print_validation, register_run,
                                 train_process, training_fingerprint)
from pricesuggest.runinfo import new_run_id
from pricesuggest.spark import build_session

JOB = "train_price_model"


def parse_args(argv):
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--resume", metavar="RUN_ID", help="continue this run from its last checkpoint")
    parser.add_argument("--rollback", metavar="VERSION", help="point `latest` at this registered version and exit")
    parser.add_argument("--force", action="store_true", help="promote even if the promotion gate says no")
    parser.add_argument("--no-promote", action="store_true", help="register only; never move `latest`")
    parser.add_argument("--num-proc", type=positive_int, help="training processes (default: training.num_proc)")
    parser.add_argument("--epochs", type=positive_int, help="epochs after warm-up (default: training.train.epochs)")
    parser.add_argument("--skip-if-trained", action="store_true",
                        help="exit 0 if a registered model was already trained with this configuration on "
                             "this training_set version (make demo: idempotent)")
    parser.add_argument("--image-encoder", choices=["scratch", "multi_task"],
                        help="image encoder variant (default: training.model.image_encoder)")
    args = parser.parse_args(argv)
    return parser, args, load_job_config(parser, args)


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    store = ModelStore(conf.storage.model_store)
    if args.rollback:
        try:
            store.set_latest(args.rollback)
        except KeyError as exc:
            parser.error(str(exc))
        print(f"latest -> {args.rollback}")
        return 0
    # conf's model, train and pretrain sections are typed and checked when conf loads
    train_cfg = dataclasses.replace(conf.training.train, **({"epochs": args.epochs} if args.epochs else {}))
    pretrained_visual = conf.training.pretrained_visual
    if pretrained_visual and not Path(pretrained_visual).is_file():
        parser.error(f"training.pretrained_visual: {pretrained_visual} is not a local file")

    spark = build_session(conf, JOB)
    table_path = conf.storage.table_path("training_set")
    previous = store.load_checkpoint(args.resume) if args.resume else None
    if args.resume and previous is None:
        parser.error(f"--resume {args.resume}: no checkpoint in {store.root}")
    version = previous["data"]["version"] if previous else current_version(spark, table_path)
    table = read_table(spark, table_path, version=version)
    stats_columns = statistics_columns(table)
    image_size = int(conf.generator.image_size)
    model_cfg = dataclasses.replace(conf.training.model, vocab_size=conf.training.vocab_size, image_size=image_size,
                                    n_stats=len(stats_columns),
                                    **({"image_encoder": args.image_encoder} if args.image_encoder else {}))

    fingerprint = training_fingerprint(table_path, version, dataclasses.asdict(model_cfg), dataclasses.asdict(train_cfg),
                                       dataclasses.asdict(conf.training.pretrain), pretrained_visual,
                                       args.num_proc or conf.training.num_proc)  # global batch, shards
    if previous:  # a resumed run is the run it continues
        fingerprint = previous["data"].get("fingerprint", fingerprint)
    if args.skip_if_trained and not previous and (done := store.find("fingerprint", fingerprint)):
        meta = store.metadata(done)
        print(f"model {done} was already trained with this configuration on training_set v{version}: skipped")
        print_validation(done, meta["validation"])
        return 0
    train_rows, val_rows = table.where("split = 'train'"), table.where("split = 'validation'")
    if previous:
        inputs = ModelInputs.from_dict(previous["inputs"])
    else:
        inputs = fit_configured_inputs(train_rows, conf)
    log_price_offset = train_rows.agg(F.avg("log_sold_price")).first()[0] or 0.0
    model_cfg = dataclasses.replace(model_cfg, vocab_size=inputs.vocabulary.size, log_price_offset=log_price_offset,
                                    field_sizes=inputs.field_sizes)
    if previous:  # a resumed run keeps the architecture and schedule it started with
        model_cfg = PriceModelConfig(**previous["model_config"])
        train_cfg = TrainConfig(**dict(previous["train_config"], **({"epochs": args.epochs} if args.epochs else {})))
    num_proc = args.num_proc or conf.training.num_proc
    n_train, n_val = train_rows.count(), val_rows.count()
    per_step = train_cfg.batch_size * num_proc
    if n_train < per_step:
        log.error("training split has %d rows: fewer than one step of %d x %d", n_train, num_proc, train_cfg.batch_size)
        return 1
    run = TrainingRun(
        run_id=args.resume or new_run_id(JOB), model_config=dataclasses.asdict(model_cfg),
        train_config=dataclasses.asdict(train_cfg), inputs=inputs.to_dict(),
        train_urls=train_rows.inputFiles(), val_urls=val_rows.inputFiles(),
        steps_per_epoch=n_train // per_step, val_steps=max(1, n_val // per_step) if n_val >= num_proc else 0,
        model_store=conf.storage.model_store, reader_workers=conf.training.reader_workers,
        resume=bool(args.resume), data={"table": table_path, "version": version, "train_rows": n_train,
                                        "validation_rows": n_val, "fingerprint": fingerprint},
        pretrain_config=dataclasses.asdict(conf.training.pretrain), pretrained_visual=pretrained_visual,
        diagnostics_rows=conf.training.diagnostics_rows)
    for split, urls in (("train", run.train_urls), ("validation", run.val_urls)):
        if len(urls) < num_proc:  # Petastorm shards whole row groups: an empty shard would stall Horovod
            log.error("%s split has %d file(s) for %d processes: rebuild the training set with "
                      "training_set.files_per_split >= %d", split, len(urls), num_proc, num_proc)
            return 1
    log.info("run %s: training_set v%d, %d train / %d validation rows, %d process(es), %d steps/epoch, "
             "vocabulary %d, %d statistics", run.run_id, version, n_train, n_val, num_proc, run.steps_per_epoch,
             inputs.vocabulary.size, len(stats_columns))

    results = launch(train_process, run, num_proc)
    for r in results:
        log.info("rank %d/%d trained on %d distinct listings", r["rank"], r["size"], len(r["listing_ids_seen"]))
    model_version = run.run_id.removeprefix(JOB + "-")
    try:
        final, model = register_run(store, run, results, fingerprint, num_proc, model_version)
    except TrainingFailed as exc:
        log.error("%s", exc)
        return 1
    best = final["best"]
    validation = {k: v for k, v in best["metrics"].items() if k.startswith("val_")}
    print(f"registered model {model_version} (best epoch {best['epoch']} of {final['epoch']})")
    print_validation(model_version, validation)
    print_diagnostics(final["diagnostics"], model.cfg.qualification_threshold, conf.training.min_photo_importance)
    if args.no_promote:
        print("not promoted (--no-promote)")
        return 0
    promoted, reason = store.promote(model_version, conf.training.promotion_metric, conf.training.promotion_tolerance,
                                     conf.training.min_photo_importance, force=args.force)
    print(f"{'promoted' if promoted else 'NOT promoted'} to latest: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
