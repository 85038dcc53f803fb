"""Train the price model with Horovod on Spark over Petastorm; register it; promote it if no worse.

  spark-submit jobs/train_price_model.py                    # train, register, gate-promote `latest`
  spark-submit jobs/train_price_model.py --resume RUN_ID    # continue a crashed run from its checkpoint
  spark-submit jobs/train_price_model.py --rollback VERSION # point `latest` at an earlier version

The driver pins the training table's Delta version, plans the run (training/plan.py: the
settings, the fingerprint, the vocabulary and statistics normalisation fitted on the train
split in Spark, the Parquet files of that exact snapshot), and launches the run
(training/run.py) with `training.num_proc` processes through the distributed backend's
seam (training/distributed.py `launch`: Horovod on Spark; 1: in the driver, no Horovod);
training/stage.py holds that sequence. Rank 0 checkpoints every epoch; the driver registers
the final model and moves `latest` only through the promotion gate (or --force).
"""
from __future__ import annotations

import sys
from pathlib import Path

from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from pricesuggest.runinfo import new_run_id
from pricesuggest.spark import build_session
from registry.store import ModelStore
from training.stage import TrainingRequest, report_and_promote, train_and_register

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

    run_id = args.resume or new_run_id(JOB)
    request = TrainingRequest(run_id, args.num_proc or conf.training.num_proc, previous, args.epochs,
                              args.image_encoder, args.skip_if_trained)
    outcome = train_and_register(build_session(conf, JOB), conf, store, request, run_id.removeprefix(JOB + "-"), log)
    return report_and_promote(outcome, conf, store, log, promote=not args.no_promote, force=args.force)


if __name__ == "__main__":
    sys.exit(main())
