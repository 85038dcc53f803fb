"""Train the price model with Horovod on Spark over Petastorm; register it; promote it if no worse.

  spark-submit jobs/train_price_model.py                    # train, register, gate-promote `latest`
  spark-submit jobs/train_price_model.py --resume RUN_ID    # continue a crashed run from its checkpoint
  spark-submit jobs/train_price_model.py --rollback VERSION # point `latest` at an earlier version

The driver pins the training table's Delta version, plans the run (training/plan.py: the
settings, the fingerprint, the vocabulary and statistics normalisation fitted on the train
split in Spark, the Parquet files of that exact snapshot), and launches the run
(training/run.py) with `training.num_proc` processes through the distributed backend's
seam (training/distributed.py `launch`: Horovod on Spark; 1: in the driver, no Horovod).
Rank 0 checkpoints every epoch; the driver registers the final model and moves `latest`
only through the promotion gate (or --force).
"""
from __future__ import annotations

import sys
from pathlib import Path

from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from pricesuggest.delta_io import current_version, read_table
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import new_run_id
from pricesuggest.spark import build_session
from registry.store import ModelStore
from training.distributed import launch
from training.plan import RunPlanError, plan_run, run_fingerprint, run_settings
from training.run import TrainingFailed, print_diagnostics, print_validation, register_run, train_process

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
    if (visual := conf.training.pretrained_visual) and not Path(visual).is_file():
        parser.error(f"training.pretrained_visual: {visual} is not a local file")
    previous = store.load_checkpoint(args.resume) if args.resume else None
    if args.resume and previous is None:
        parser.error(f"--resume {args.resume}: no checkpoint in {store.root}")

    spark = build_session(conf, JOB)
    table_path = conf.storage.table_path("training_set")
    version = previous["data"]["version"] if previous else current_version(spark, table_path)
    table = read_table(spark, table_path, version=version)
    num_proc = args.num_proc or conf.training.num_proc
    model_cfg, train_cfg = run_settings(conf, table, previous, args.epochs, args.image_encoder)
    fingerprint = run_fingerprint(conf, table_path, version, model_cfg, train_cfg, num_proc, previous)
    if args.skip_if_trained and not previous and (done := store.find("fingerprint", fingerprint)):
        print(f"model {done} was already trained with this configuration on training_set v{version}: skipped")
        print_validation(done, store.metadata(done)["validation"])
        return 0
    try:
        run = plan_run(conf, args.resume or new_run_id(JOB), table,
                       {"table": table_path, "version": version, "fingerprint": fingerprint},
                       model_cfg, train_cfg, num_proc, previous, resume=bool(args.resume))
    except RunPlanError as exc:
        log.error("%s", exc)
        return ExitCode.TRAINING_FAILED
    log.info("run %s: training_set v%d, %d train / %d validation rows, %d process(es), %d steps/epoch, "
             "vocabulary %d, %d statistics", run.run_id, version, run.data["train_rows"],
             run.data["validation_rows"], num_proc, run.steps_per_epoch, run.model_config["vocab_size"],
             run.model_config["n_stats"])

    results = launch(train_process, run, num_proc)
    for r in results:
        log.info("rank %d/%d trained on %d distinct listings", r["rank"], r["size"], len(r["listing_ids_seen"]))
    model_version = run.run_id.removeprefix(JOB + "-")
    try:
        final, model = register_run(store, run, results, fingerprint, num_proc, model_version)
    except TrainingFailed as exc:
        log.error("%s", exc)
        return ExitCode.TRAINING_FAILED
    print(f"registered model {model_version} (best epoch {final['best']['epoch']} of {final['epoch']})")
    print_validation(model_version, {k: v for k, v in final["best"]["metrics"].items() if k.startswith("val_")})
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
