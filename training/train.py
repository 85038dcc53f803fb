"""The joint training loop: warm-up stage (every item positive), then classifier gating.

Batches are dicts of tensors (image, tokens, stats, fields, is_sold, log_sold, log_list) from
any iterator: Petastorm's DataLoader in jobs, in-memory tensors in the evaluation and
benchmarks. The loop is the same alone and under Horovod (`training.distributed`); only rank 0
logs and calls `on_epoch_end` (which checkpoints).

Schedule: AdamW with a one-cycle learning rate over all epochs (a function of the global
step, so a resumed run continues on the same curve), and an exponential moving average of
the weights, which is what is validated and kept. Early stopping: after each epoch of the
gated stage the objective's validation yardstick (TrainConfig.selection_metric) is compared
with the best so far; the best epoch's averaged weights are kept and restored at the end,
and training stops after `patience` epochs without improvement.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from model.config import TrainConfig
from model.inputs import MODEL_INPUTS
from model.price_net import NetOutput, PriceSuggester
from training.augment import augment_photos
from training.distributed import Single
from training.losses import mse_sold, percentile_joint, seller_gain, threshold_joint

Batch = dict[str, torch.Tensor]


def model_inputs(batch: Batch) -> list[torch.Tensor]:
    return [batch[name] for name in MODEL_INPUTS]


def item_losses(cfg: TrainConfig, pred: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-item loss, mask of items the objective applies to)."""
    if cfg.objective == "mse":  # sold items only: unsold ones have no sold price to fit
        return mse_sold(pred, batch["log_sold"], batch["is_sold"]), batch["is_sold"].bool()
    loss = seller_gain(pred, batch["log_sold"], batch["log_list"], batch["is_sold"], cfg.mu, cfg.nu)
    return loss, torch.ones_like(loss, dtype=torch.bool)


def auxiliary_loss(cfg: TrainConfig, out: NetOutput, batch: Batch, offset: float) -> torch.Tensor:
    """List price (every item) and form fields from the photo (rows with a label: ModelInputs.photo_targets)."""
    total = cfg.list_weight * F.mse_loss(out.list_value + offset, batch["log_list"])
    targets = batch.get("photo_targets", batch["form"])
    for column, (name, logits) in enumerate(sorted(out.photo_logits.items())):  # fields' columns: sorted names
        labels = targets[:, column]
        known = (labels != 0).sum().clamp(min=1)
        total = total + cfg.photo_weight * F.cross_entropy(logits, labels, ignore_index=0, reduction="sum") / known
    return total


def batch_loss(cfg: TrainConfig, model: PriceSuggester, batch: Batch, warm_up: bool, auxiliary: bool = True):
    """(joint loss, item losses and logits of the items the objective covers, predictions of the whole batch)."""
    regressor, classifier = model.outputs(*model_inputs(batch))
    offset = model.cfg.log_price_offset
    pred, logit = regressor.value + offset, classifier.value
    losses, mask = item_losses(cfg, pred, batch)
    covered_losses, covered_logit = losses[mask], logit[mask]
    groups = model.category_ids(batch["form"])[mask] if cfg.gate_groups == "category" else None
    if covered_losses.numel() == 0:
        total = pred.sum() * 0.0 + logit.sum() * 0.0
    elif cfg.constraint == "none":
        total = covered_losses.mean() + 0.0 * logit.sum()  # classifier idle: keep it in the graph for Horovod
    elif cfg.constraint == "percentile":
        total = percentile_joint(covered_losses, covered_logit, cfg.delta, cfg.beta, warm_up, cfg.gamma, groups,
                                 cfg.gated_out_weight)
    else:
        total = threshold_joint(covered_losses, covered_logit, cfg.eps, cfg.gamma, cfg.threshold_min_positive,
                                cfg.beta, warm_up, groups, cfg.gated_out_weight)
    if auxiliary:
        total = total + auxiliary_loss(cfg, regressor, batch, offset) + auxiliary_loss(cfg, classifier, batch, offset)
    return total, covered_losses, covered_logit, pred


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Move a batch to the device; photos travel as uint8 and are scaled to [0, 1] there."""
    moved = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    if moved["image"].dtype == torch.uint8:
        moved["image"] = moved["image"].float().div_(255.0)
    return moved


def input_batches(arrays: dict[str, np.ndarray], batch_size: int,
                  device: torch.device) -> Iterator[tuple[slice, list[torch.Tensor]]]:
    """(rows, the networks' inputs on the device) for consecutive batches of in-memory arrays, in order:
    the one batched pass over arrays that inference, the evaluation and the diagnostics share."""
    for start in range(0, len(arrays["image"]), batch_size):
        rows = slice(start, start + batch_size)
        yield rows, model_inputs(to_device({k: torch.from_numpy(arrays[k][rows]) for k in MODEL_INPUTS}, device))


def ema_update(decay: float):
    """AveragedModel's multi_avg_fn: an exponential moving average whose decay ramps up as
    min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's ExponentialMovingAverage with
    num_updates): a fixed 0.995 would keep 70 % of the initial weights after 70 steps."""
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - d)
        else:  # BatchNorm's num_batches_tracked: follow the model
            for a, c in zip(averaged, current):
                a.copy_(c)
    return update


def run_epoch(cfg: TrainConfig, model, optimizer, ema: AveragedModel | None, batches: Iterator[Batch], epoch: int,
              steps: int, ctx: Single, device: torch.device, desc: str) -> dict[str, float]:
    model.train()
    warm_up = cfg.warming_up(epoch)
    total_steps = cfg.total_epochs * steps
    sums = torch.zeros(4, dtype=torch.float64)  # loss*n, n, positives, items
    bar = tqdm(range(steps), desc=desc, disable=None if ctx.rank == 0 else True, leave=False)  # None: quiet off a terminal
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr_at(epoch * steps + step, total_steps)
        batch = to_device(next(batches), device)
        if cfg.augment:
            batch["image"] = augment_photos(batch["image"], brightness=cfg.augment_brightness,
                                            channel_gain=cfg.augment_channel_gain)
        total, losses, logit, _ = batch_loss(cfg, model, batch, warm_up)
        optimizer.zero_grad()  # horovod 0.28's DistributedOptimizer takes no set_to_none
        total.backward()
        optimizer.step()
        if ema is not None:
            ema.update_parameters(model)
        n = losses.numel()
        sums += torch.tensor([total.item() * n, n, float((logit >= 0).sum()), n], dtype=torch.float64)
        bar.set_postfix(loss=f"{total.item():.4f}")
    sums = ctx.sum(sums, name=f"{desc}.sums")
    # BatchNorm's running statistics are per process: average them, so every rank holds the
    # same model (and the validation below sees the one that is saved)
    ctx.average_buffers(model, name=f"{desc}.buffers")
    if ema is not None:
        ctx.average_buffers(ema.module, name=f"{desc}.ema_buffers")
    return {"loss": float(sums[0] / max(sums[1], 1)), "positive_fraction": float(sums[2] / max(sums[3], 1))}


@torch.no_grad()
def evaluate(cfg: TrainConfig, model, batches: Iterator[Batch], steps: int, ctx: Single,
             device: torch.device) -> dict[str, float]:
    """Validation objective (gated, no auxiliary terms), mean item loss, positive share, MALE of sold items."""
    model.eval()
    sums = torch.zeros(6, dtype=torch.float64)  # gated loss*n, n, item loss sum, positives, abs log err sold, sold
    for _ in range(steps):
        batch = to_device(next(batches), device)
        total, losses, logit, pred = batch_loss(cfg, model, batch, warm_up=False, auxiliary=False)
        sold = batch["is_sold"].bool()
        n = losses.numel()
        sums += torch.tensor([total.item() * n, n, losses.sum().item(), float((logit >= 0).sum()),
                              (pred[sold] - batch["log_sold"][sold]).abs().sum().item(), float(sold.sum())],
                             dtype=torch.float64)
    sums = ctx.sum(sums, name="validation.sums")
    n = max(float(sums[1]), 1.0)
    return {"val_loss": float(sums[0]) / n, "val_item_loss": float(sums[2]) / n,
            "val_positive_fraction": float(sums[3]) / n, "val_male_sold": float(sums[4]) / max(float(sums[5]), 1.0)}


@dataclass
class Best:
    """The best epoch so far (by TrainConfig.selection_metric) and how many epochs have not beaten it."""

    epoch: int = 0  # 1-based; 0: none yet
    value: float = math.inf
    state_dict: dict | None = None
    metrics: dict | None = None
    stale_epochs: int = 0


def fit(cfg: TrainConfig, model: PriceSuggester, train_batches: Iterator[Batch], steps_per_epoch: int,
        val_batches: Iterator[Batch] | None, val_steps: int, ctx: Single, device: torch.device,
        start_epoch: int = 0, resume: dict | None = None,
        on_epoch_end: Callable[[int, dict, dict], None] | None = None) -> list[dict]:
    """Train from `start_epoch`; returns one metrics dict per epoch run. The model ends at its best epoch.

    `on_epoch_end(epoch, metrics, state)` (rank 0) gets what a resumed run needs besides the
    model's weights: {"optimizer_state", "ema_state", "best"}; pass that dict back as `resume`.
    """
    torch.manual_seed(cfg.seed + start_epoch)
    model.to(device)
    # frozen parts (pre-trained single-task CNNs) are not optimised
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = (AveragedModel(model, multi_avg_fn=ema_update(cfg.ema_decay), use_buffers=True)
           if cfg.ema_decay else None)
    resume = resume or {}
    if resume.get("optimizer_state") is not None:
        optimizer.load_state_dict(resume["optimizer_state"])
    if ema is not None and resume.get("ema_state") is not None:
        ema.load_state_dict(resume["ema_state"])
    optimizer = ctx.wrap_optimizer(optimizer, model)
    ctx.broadcast_state(model, optimizer)
    if ema is not None:
        ctx.broadcast_state(ema, None)
    judged = ema.module if ema is not None else model  # what is validated, kept and saved
    kept = Best(**resume["best"]) if resume.get("best") else Best()
    history = []
    # mean item loss on (one epoch of) the training data, before and after: did the optimiser
    # lower the objective on the data it saw? (validation says whether that generalises)
    at_start = evaluate(cfg, model, train_batches, steps_per_epoch, ctx, device)["val_item_loss"] \
        if start_epoch == 0 else None
    for epoch in range(start_epoch, cfg.total_epochs):
        warm_up = cfg.warming_up(epoch)
        started = time.perf_counter()
        metrics = run_epoch(cfg, model, optimizer, ema, train_batches, epoch, steps_per_epoch, ctx, device,
                            desc=f"epoch {epoch + 1}/{cfg.total_epochs}{' warm-up' if warm_up else ''}")
        if val_batches is not None and val_steps > 0:
            metrics.update(evaluate(cfg, judged, val_batches, val_steps, ctx, device))
        samples, seconds = steps_per_epoch * cfg.batch_size * ctx.size, time.perf_counter() - started
        metrics.update(epoch=epoch + 1, warm_up=warm_up, lr=cfg.lr_at((epoch + 1) * steps_per_epoch - 1,
                                                                       cfg.total_epochs * steps_per_epoch),
                       seconds=seconds, samples_per_s=samples / max(seconds, 1e-9))
        if at_start is not None and not history:
            metrics["train_item_loss_at_start"] = at_start
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(f"training diverged at epoch {epoch + 1}: loss {metrics['loss']}")
        # the best epoch: only gated epochs compete (warm-up optimises another objective), by the
        # objective's yardstick, not the gated objective, which jumps with every change of C1
        selectable = not warm_up or cfg.constraint == "none"
        value = metrics.get(cfg.selection_metric, metrics["loss"])
        if selectable and value < kept.value:
            kept = Best(epoch + 1, value, {k: v.detach().cpu().clone() for k, v in judged.state_dict().items()},
                        dict(metrics), 0)
        elif selectable:
            kept.stale_epochs += 1
        metrics["best_epoch"] = kept.epoch
        history.append(metrics)
        if ctx.rank == 0:
            print("  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()),
                  flush=True)
            if on_epoch_end is not None:
                on_epoch_end(epoch, metrics, {"optimizer_state": optimizer.state_dict(),
                                              "ema_state": ema.state_dict() if ema is not None else None,
                                              "best": dict(vars(kept))})
        if kept.stale_epochs >= cfg.patience:
            if ctx.rank == 0:
                print(f"early stop after epoch {epoch + 1}: no better {cfg.selection_metric} since epoch {kept.epoch}",
                      flush=True)
            break
    model.load_state_dict(kept.state_dict if kept.state_dict is not None else judged.state_dict())
    if history:  # the kept model's mean item loss on the training data
        history[-1]["train_item_loss_at_end"] = evaluate(cfg, model, train_batches, steps_per_epoch, ctx,
                                                         device)["val_item_loss"]
    return history
