"""One training run of the price model: its spec, the process that trains (alone or as one
Horovod rank), and its registration. The job (`jobs/train_price_model.py`) plans the run
from conf and the training table, launches it (`training.distributed.launch`) and promotes.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass

import torch

from model.config import PretrainConfig, PriceModelConfig, TrainConfig
from model.diagnostics import modality_report
from model.inputs import ModelInputs
from model.payload import PAYLOAD_FORMAT, build_model, checkpoint_payload, cpu_weights, model_payload
from model.price_net import PriceSuggester
from model.qualification import fit_qualification
from pricesuggest.runinfo import git_commit
from registry.store import ModelStore
from training.distributed import context, device_for
from training.petastorm_data import collect_arrays, shard_batches
from training.pretrain import freeze_visual, install_pretrained, pretrain_visual
from training.train import fit


class TrainingFailed(RuntimeError):
    """The processes ended, but without a model that can be registered."""


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
    decoded_cache_mb: float = 0  # a shard's decoded rows kept in memory after the first pass, up to this (0: stream)


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def train_process(run: TrainingRun) -> dict:
    """One training process: alone, or one Horovod rank (then launched in a Spark task).

    After training, rank 0 fits what the model needs besides its weights on the validation
    split (the qualification threshold and reference embeddings: model.qualification),
    measures what it reads (model.diagnostics) and writes the final checkpoint.
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
    about = {"train_config": run.train_config, "inputs": run.inputs, "data": run.data, "run_id": run.run_id}

    def save(epoch: int, metrics: dict, state: dict) -> None:  # rank 0 only
        store.save_checkpoint(run.run_id, checkpoint_payload(model, about, epoch=epoch + 1, metrics=metrics, **state))

    seen: set[int] = set()  # listing ids this rank trained on: shows each rank read its own shard

    def recording(batches):
        for batch in batches:
            seen.update(batch["listing_id"].tolist())
            yield batch

    bs = train_cfg.batch_size
    shard = dict(rank=ctx.rank, size=ctx.size, seed=train_cfg.seed, workers=run.reader_workers,
                 cache_mb=run.decoded_cache_mb)
    with shard_batches(run.train_urls, inputs, bs, **shard) as train, shard_batches(run.val_urls, inputs, bs, **shard) as val:
        history = fit(train_cfg, model, recording(train), run.steps_per_epoch, val, run.val_steps, ctx, device,
                      start_epoch, resume, on_epoch_end=save)
    digest = weights_digest(model)  # the kept weights, before rank 0 adds what it fits alone
    if ctx.rank == 0:
        validation = collect_arrays(run.val_urls, inputs, run.reader_workers, run.diagnostics_rows)
        fit_qualification(model, train_cfg, validation, device)
        report = modality_report(train_cfg, model, validation, device)
        last = store.load_checkpoint(run.run_id)  # the last epoch's, with the best epoch's record
        store.save_checkpoint(run.run_id, checkpoint_payload(
            model, last, final=True, diagnostics=report.to_dict(),
            validation_rows_for_diagnostics=len(validation["image"])))
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
    with shard_batches(run.train_urls, inputs, run.train_config["batch_size"], ctx.rank, ctx.size, cfg.seed,
                       run.reader_workers, run.decoded_cache_mb) as batches:
        history = pretrain_visual(cfg, encoder, batches, run.steps_per_epoch, ctx, device)
    state = cpu_weights(encoder)
    install_pretrained(model, state)
    if ctx.rank == 0:
        store.save_visual_encoder(run.run_id, state)
    return history


def training_fingerprint(table_path: str, version: int, *settings) -> str:
    """What determines a trained model: the data snapshot and every setting (seeds included)."""
    text = json.dumps([table_path, version, *settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def register_run(store: ModelStore, run: TrainingRun, results: list[dict], fingerprint: str, num_proc: int,
                 model_version: str) -> tuple[dict, PriceSuggester]:
    """Check what the processes returned, register the final checkpoint's model with its metadata;
    returns (the final checkpoint, the model)."""
    digests = {r["weights_digest"] for r in results}
    if len(digests) != 1:
        raise TrainingFailed(f"ranks ended with different weights: {digests}")
    seen = [set(r["listing_ids_seen"]) for r in results]
    overlap = len(set.intersection(*seen)) if len(seen) > 1 else 0
    final = store.load_checkpoint(run.run_id)
    if not final or not final.get("final"):
        raise TrainingFailed(f"run {run.run_id} ended without its final checkpoint (rank 0's fitting after training)")
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
    return final, model


def print_validation(version: str, validation: dict) -> None:
    print(f"validation metrics of model {version}:")
    for key, value in validation.items():
        print(f"  {key:<24} {value:.4f}")


def print_diagnostics(diagnostics: dict, threshold: float, min_photo_importance: float) -> None:
    """What the model reads (model.diagnostics), and a loud warning when it ignores the photo."""
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
