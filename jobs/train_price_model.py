"""Train the price model with Horovod on Spark over Petastorm; register it; promote it if no worse.

  spark-submit jobs/train_price_model.py                    # train, register, gate-promote `latest`
  spark-submit jobs/train_price_model.py --resume RUN_ID    # continue a crashed run from its checkpoint
  spark-submit jobs/train_price_model.py --rollback VERSION # point `latest` at an earlier version

The driver pins the training table's Delta version, builds the vocabulary and the
statistics normalisation from its train split (in Spark), lists the Parquet files of that
exact snapshot, and launches `horovod.spark.run` with `training.num_proc` processes (1: in
the driver, no Horovod). Rank 0 checkpoints every epoch; the driver registers the final
model and moves `latest` only through the promotion gate (or --force).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.delta_io import current_version, read_table
from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from models.distributed import context, device_for
from models.diagnostics import modality_report
from models.inputs import FORM_FIELDS, ModelInputs
from models.payload import PAYLOAD_FORMAT, build_model, model_payload
from models.petastorm_data import collect_arrays, petastorm_batches
from models.config import PretrainConfig, PriceModelConfig, TrainConfig
from models.pretrain import freeze_visual, install_pretrained, pretrain_visual
from models.qualification import fit_qualification
from models.price_net import PriceSuggester
from models.stats_input import StatsNormalizer
from models.store import ModelStore
from models.text import Vocabulary, tokenize
from models.train import fit
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session

JOB = "train_price_model"


@dataclass
class TrainingRun:
    """Everything a training process needs; pickled to the Horovod processes."""

    run_id: str
    model_config: dict
    train_config: dict
    inputs: dict
    train_urls: list[str]
    val_urls: list[str]
    steps_per_epoch: int
    val_steps: int
    model_store: str
    reader_workers: int
    resume: bool
    data: dict
    pretrain_config: dict
    pretrained_visual: str | None = None
    diagnostics_rows: int = 20_000  # validation rows rank 0 reads for the threshold and the modality report


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def train_process(run: TrainingRun) -> dict:
    """One training process: alone, or one Horovod rank (then launched in a Spark task).

    After training, rank 0 fits what the model needs besides its weights on the validation
    split (the qualification threshold and reference embeddings: models.qualification),
    measures what it reads (models.diagnostics) and writes the final checkpoint.
    """
    # pyarrow 14 deprecation notices from inside petastorm 0.12, once per row group: noise.
    warnings.filterwarnings("ignore", category=FutureWarning, module="petastorm")
    # BatchedDataLoader wraps Arrow-owned (read-only) arrays; nothing writes to them in place
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    ctx = context()
    device = device_for(ctx)
    model_cfg, train_cfg = PriceModelConfig(**run.model_config), TrainConfig(**run.train_config)
    inputs = ModelInputs.from_dict(run.inputs)
    model = PriceSuggester(model_cfg)
    store = ModelStore(run.model_store)
    start_epoch, resume = 0, None
    if run.resume:
        checkpoint = store.load_checkpoint(run.run_id)
        if checkpoint is None:
            raise FileNotFoundError(f"no checkpoint for run {run.run_id} in {store.root}")
        model.load_state_dict(checkpoint["state_dict"])
        start_epoch = int(checkpoint["epoch"])
        resume = {k: checkpoint.get(k) for k in ("optimizer_state", "ema_state", "best")}
    pretrain_history = []
    if model_cfg.image_encoder == "multi_task":
        if run.resume:
            freeze_visual(model)
        else:
            pretrain_history = prepare_visual_encoder(run, model, inputs, ctx, device, store)
    about = {"model_config": run.model_config, "train_config": run.train_config, "inputs": run.inputs,
             "data": run.data, "run_id": run.run_id}

    def save(epoch: int, metrics: dict, state: dict) -> None:  # rank 0 only
        store.save_checkpoint(run.run_id, {
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "epoch": epoch + 1, "metrics": metrics, **state, **about})

    seen: set[int] = set()  # listing ids this rank trained on: shows each rank read its own shard

    def recording(batches):
        for batch in batches:
            seen.update(batch["listing_id"].tolist())
            yield batch

    bs = train_cfg.batch_size
    with petastorm_batches(run.train_urls, inputs, bs, ctx.rank, ctx.size, train_cfg.seed, run.reader_workers) as train, \
            petastorm_batches(run.val_urls, inputs, bs, ctx.rank, ctx.size, train_cfg.seed, run.reader_workers) as val:
        history = fit(train_cfg, model, recording(train), run.steps_per_epoch, val, run.val_steps, ctx, device,
                      start_epoch, resume, on_epoch_end=save)
    digest = weights_digest(model)  # the kept weights, before rank 0 adds what it fits alone
    if ctx.rank == 0:
        validation = collect_arrays(run.val_urls, inputs, run.reader_workers, run.diagnostics_rows)
        fit_qualification(model, train_cfg, validation, device)
        report = modality_report(train_cfg, model, validation, device)
        last = store.load_checkpoint(run.run_id)  # the last epoch's, with the best epoch's record
        store.save_checkpoint(run.run_id, {
            **last, "final": True, "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_config": dataclasses.asdict(model.cfg), "diagnostics": report.to_dict(),
            "validation_rows_for_diagnostics": len(validation["image"])})
    return {"rank": ctx.rank, "size": ctx.size, "history": history, "weights_digest": digest,
            "listing_ids_seen": sorted(seen), "pretrain_history": pretrain_history}


def prepare_visual_encoder(run: TrainingRun, model: PriceSuggester, inputs: ModelInputs, ctx, device,
                           store: ModelStore) -> list[dict]:
    """Single-task CNNs: loaded from `training.pretrained_visual`, or pre-trained here on the shard."""
    if run.pretrained_visual:
        install_pretrained(model, torch.load(run.pretrained_visual, map_location="cpu", weights_only=True))
        return []
    cfg = PretrainConfig(**run.pretrain_config)
    encoder = model.regressor.visual
    with petastorm_batches(run.train_urls, inputs, run.train_config["batch_size"], ctx.rank, ctx.size, cfg.seed,
                           run.reader_workers) as batches:
        history = pretrain_visual(cfg, encoder, batches, run.steps_per_epoch, ctx, device)
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    install_pretrained(model, state)
    if ctx.rank == 0:
        store.save_visual_encoder(run.run_id, state)
    return history


def fit_field_values(train_rows, min_count: int) -> dict[str, list[str]]:
    """Values of each form field with at least `min_count` train rows (rarer ones get id 0, as missing)."""
    values = {}
    for name in FORM_FIELDS:
        rows = (train_rows.where(F.col(name).isNotNull()).groupBy(name).count()
                .where(F.col("count") >= min_count).orderBy(name).collect())
        values[name] = [r[name] for r in rows]
    return values


def fit_inputs(train_rows, stats_columns: list[str], vocab_size: int, min_count: int, image_size: int,
               text_length: int, bigram_buckets: int, field_min_count: int) -> ModelInputs:
    """Vocabulary, form-field values and statistics normalisation from the train split, computed in Spark."""
    tokens = F.pandas_udf(lambda texts: texts.map(tokenize), T.ArrayType(T.StringType()))
    words = (train_rows.select(F.explode(tokens(F.concat_ws(" ", "title", "description"))).alias("w"))
             .groupBy("w").count().where(F.col("count") >= min_count)
             .orderBy(F.desc("count"), "w").limit(vocab_size - 2).collect())
    # Missing (null or NaN) stays missing, as in StatsNormalizer.fit: F.greatest skips nulls,
    # so without the `when` a missing value would count as 0 in the mean and spread.
    present = [F.col(c).isNotNull() & ~F.isnan(F.col(c).cast("double")) for c in stats_columns]
    logged = [F.when(ok, F.log1p(F.greatest(F.col(c).cast("double"), F.lit(0.0))))
              for c, ok in zip(stats_columns, present)]
    moments = train_rows.agg(*[F.avg(x).alias(f"m{i}") for i, x in enumerate(logged)],
                             *[F.stddev_pop(x).alias(f"s{i}") for i, x in enumerate(logged)]).first()
    mean = [moments[f"m{i}"] if moments[f"m{i}"] is not None else 0.0 for i in range(len(stats_columns))]
    std = [moments[f"s{i}"] if moments[f"s{i}"] and moments[f"s{i}"] > 1e-6 else 1.0 for i in range(len(stats_columns))]
    return ModelInputs(Vocabulary([r["w"] for r in words]), StatsNormalizer(stats_columns, mean, std),
                       image_size, text_length, bigram_buckets, fit_field_values(train_rows, field_min_count))


def training_fingerprint(table_path: str, version: int, *settings) -> str:
    """What determines a trained model: the data snapshot and every setting (seeds included)."""
    text = json.dumps([table_path, version, *settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def print_validation(version: str, validation: dict) -> None:
    print(f"validation metrics of model {version}:")
    for key, value in validation.items():
        print(f"  {key:<24} {value:.4f}")


def print_diagnostics(diagnostics: dict, threshold: float, min_photo_importance: float) -> None:
    """What the model reads (models.diagnostics), and a loud warning when it ignores the photo."""
    print("what the model reads (validation; importance = relative rise of the item loss when shuffled "
          "within category):")
    for key, value in diagnostics.items():
        print(f"  {key:<24} {'n/a' if value is None else f'{value:.4f}'}")
    print(f"  {'qualification threshold':<24} {threshold:.4f}")
    if diagnostics["photo_importance"] < min_photo_importance:
        print("!" * 78)
        print(f"!! PHOTO IGNORED: photo importance {diagnostics['photo_importance']:.4f} is below "
              f"training.min_photo_importance {min_photo_importance:g}.")
        print("!! The promotion gate refuses this model: it would suggest the same price for any photo.")
        print("!" * 78)


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
    stats_columns = sorted(c for c in table.columns if "__" in c)
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
        inputs = fit_inputs(train_rows, stats_columns, conf.training.vocab_size, conf.training.vocab_min_count,
                            image_size, model_cfg.text_length, model_cfg.bigram_buckets, conf.training.field_min_count)
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

    if num_proc > 1:
        import horovod.spark

        results = horovod.spark.run(train_process, args=(run,), num_proc=num_proc, use_gloo=True, use_mpi=False,
                                    stdout=sys.stdout, stderr=sys.stderr, verbose=1)
    else:
        results = [train_process(run)]
    digests = {r["weights_digest"] for r in results}
    if len(digests) != 1:
        log.error("ranks ended with different weights: %s", digests)
        return 1
    seen = [set(r["listing_ids_seen"]) for r in results]
    overlap = len(set.intersection(*seen)) if len(seen) > 1 else 0
    for r in results:
        log.info("rank %d/%d trained on %d distinct listings", r["rank"], r["size"], len(r["listing_ids_seen"]))

    final = store.load_checkpoint(run.run_id)
    if not final or not final.get("final"):
        log.error("run %s ended without its final checkpoint (rank 0's fitting after training)", run.run_id)
        return 1
    model_version = f"{run.run_id.removeprefix(JOB + '-')}"
    best = final["best"]
    validation = {k: v for k, v in best["metrics"].items() if k.startswith("val_")}
    model = build_model(final["model_config"], final["state_dict"])
    payload = model_payload(model, final["train_config"], ModelInputs.from_dict(final["inputs"]), final["data"],
                            model_version, git_commit())
    metadata = {"model_version": model_version, "run_id": run.run_id, "git_commit": payload["git_commit"],
                "fingerprint": fingerprint, "payload_format": PAYLOAD_FORMAT,
                "training_table": run.data, "model_config": payload["model_config"], "train_config": run.train_config,
                "validation": validation, "epochs": final["epoch"], "best_epoch": best["epoch"],
                "diagnostics": final["diagnostics"], "num_proc": num_proc,
                "ranks": [{"rank": r["rank"], "listings_seen": len(r["listing_ids_seen"])} for r in results],
                "shard_overlap": overlap,
                "history": [h for r in results if r["rank"] == 0 for h in r["history"]],
                "pretrain_history": [h for r in results if r["rank"] == 0 for h in r["pretrain_history"]]}
    store.register(model_version, payload, metadata)
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
