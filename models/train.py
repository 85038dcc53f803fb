"""The joint training loop: warm-up stage (every item positive), then classifier gating.

Batches are dicts of tensors (image, tokens, stats, is_sold, log_sold, log_list) from any
iterator: Petastorm's DataLoader in jobs, in-memory tensors in notebooks and benchmarks.
The loop is the same alone and under Horovod (`models.distributed`); only rank 0 logs and
calls `on_epoch_end` (which checkpoints).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from tqdm import tqdm

from models.distributed import Single
from models.losses import mse_sold, percentile_joint, seller_gain, threshold_joint
from models.price_net import PriceSuggester

Batch = dict[str, torch.Tensor]


@dataclass
class TrainConfig:
    objective: str = "seller_gain"  # mse | seller_gain
    constraint: str = "percentile"  # none | percentile | threshold
    delta: float = 0.6  # percentile: at least this share of items positive
    beta: float = 10.0  # weight of the percentile constraint (must outweigh item losses)
    eps: float = 0.15  # threshold: positive when the item loss is below eps
    gamma: float = 1.0  # weight of the weighted cross-entropy
    # threshold: the paper's Eq. 3 keeps a beta * max(0, delta - share positive) term so the
    # classifier cannot settle on "all negative"; a low floor leaves the share to eps.
    threshold_min_positive: float = 0.1
    mu: float = 1.2
    nu: float = 1 / 1.2
    warm_up: bool = True
    warm_up_epochs: int = 3
    epochs: int = 5  # after warm-up
    lr_warm_up: float = 5e-4
    lr: float = 2e-4
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in ("mse", "seller_gain"):
            raise ValueError(f"objective must be mse|seller_gain, got {self.objective!r}")
        if self.constraint not in ("none", "percentile", "threshold"):
            raise ValueError(f"constraint must be none|percentile|threshold, got {self.constraint!r}")

    @property
    def total_epochs(self) -> int:
        return (self.warm_up_epochs if self.warm_up else 0) + self.epochs

    def stage(self, epoch: int) -> tuple[bool, float]:
        """(warm-up?, learning rate) of a 0-based epoch."""
        warm = self.warm_up and epoch < self.warm_up_epochs
        return warm, self.lr_warm_up if warm else self.lr


def item_losses(cfg: TrainConfig, pred: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-item loss, mask of items the objective applies to)."""
    if cfg.objective == "mse":  # sold items only: unsold ones have no sold price to fit
        return mse_sold(pred, batch["log_sold"], batch["is_sold"]), batch["is_sold"].bool()
    loss = seller_gain(pred, batch["log_sold"], batch["log_list"], batch["is_sold"], cfg.mu, cfg.nu)
    return loss, torch.ones_like(loss, dtype=torch.bool)


def batch_loss(cfg: TrainConfig, model: PriceSuggester, batch: Batch, warm_up: bool):
    """(joint loss, item losses and logits of the items the objective covers, predictions of the whole batch)."""
    pred, logit = model(batch["image"], batch["tokens"], batch["stats"])
    losses, mask = item_losses(cfg, pred, batch)
    losses, logit = losses[mask], logit[mask]
    if losses.numel() == 0:
        return pred.sum() * 0.0, losses, logit, pred
    if cfg.constraint == "none":
        total = losses.mean() + 0.0 * logit.sum()  # classifier idle: keep it in the graph for Horovod
    elif cfg.constraint == "percentile":
        total = percentile_joint(losses, logit, cfg.delta, cfg.beta, warm_up)
    else:
        total = threshold_joint(losses, logit, cfg.eps, cfg.gamma, cfg.threshold_min_positive, cfg.beta, warm_up)
    return total, losses, logit, pred


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Move a batch to the device; photos travel as uint8 and are scaled to [0, 1] there."""
    moved = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    if moved["image"].dtype == torch.uint8:
        moved["image"] = moved["image"].float().div_(255.0)
    return moved


def run_epoch(cfg: TrainConfig, model, optimizer, batches: Iterator[Batch], steps: int, warm_up: bool,
              ctx: Single, device: torch.device, desc: str) -> dict[str, float]:
    model.train()
    sums = torch.zeros(4, dtype=torch.float64)  # loss*n, n, positives, items
    bar = tqdm(range(steps), desc=desc, disable=ctx.rank != 0, leave=False)
    for _ in bar:
        batch = to_device(next(batches), device)
        total, losses, logit, _ = batch_loss(cfg, model, batch, warm_up)
        optimizer.zero_grad()  # horovod 0.28's DistributedOptimizer takes no set_to_none
        total.backward()
        optimizer.step()
        n = losses.numel()
        sums += torch.tensor([total.item() * n, n, float((logit >= 0).sum()), n], dtype=torch.float64)
        bar.set_postfix(loss=f"{total.item():.4f}")
    sums = ctx.sum(sums, name=f"{desc}.sums")
    return {"loss": float(sums[0] / max(sums[1], 1)), "positive_fraction": float(sums[2] / max(sums[3], 1))}


@torch.no_grad()
def evaluate(cfg: TrainConfig, model, batches: Iterator[Batch], steps: int, ctx: Single,
             device: torch.device) -> dict[str, float]:
    """Validation loss (gated), mean item loss, positive share, and MALE of sold items (log space)."""
    model.eval()
    sums = torch.zeros(6, dtype=torch.float64)  # gated loss*n, n, item loss sum, positives, abs log err sold, sold
    for _ in range(steps):
        batch = to_device(next(batches), device)
        total, losses, logit, pred = batch_loss(cfg, model, batch, warm_up=False)
        sold = batch["is_sold"].bool()
        n = losses.numel()
        sums += torch.tensor([total.item() * n, n, losses.sum().item(), float((logit >= 0).sum()),
                              (pred[sold] - batch["log_sold"][sold]).abs().sum().item(), float(sold.sum())],
                             dtype=torch.float64)
    sums = ctx.sum(sums, name="validation.sums")
    n = max(float(sums[1]), 1.0)
    return {"val_loss": float(sums[0]) / n, "val_item_loss": float(sums[2]) / n,
            "val_positive_fraction": float(sums[3]) / n, "val_male_sold": float(sums[4]) / max(float(sums[5]), 1.0)}


def fit(cfg: TrainConfig, model: PriceSuggester, train_batches: Iterator[Batch], steps_per_epoch: int,
        val_batches: Iterator[Batch] | None, val_steps: int, ctx: Single, device: torch.device,
        start_epoch: int = 0, optimizer_state: dict | None = None,
        on_epoch_end: Callable[[int, dict, torch.optim.Optimizer], None] | None = None) -> list[dict]:
    """Train from `start_epoch` to cfg.total_epochs; returns one metrics dict per epoch run."""
    torch.manual_seed(cfg.seed)
    model.to(device)
    # frozen parts (pre-trained single-task CNNs) are not optimised
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr_warm_up if cfg.warm_up else cfg.lr)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    optimizer = ctx.wrap_optimizer(optimizer, model)
    ctx.broadcast_state(model, optimizer)
    history = []
    # mean item loss on (one epoch of) the training data, before and after: did the optimiser
    # lower the objective on the data it saw? (validation says whether that generalises)
    at_start = evaluate(cfg, model, train_batches, steps_per_epoch, ctx, device)["val_item_loss"] \
        if start_epoch == 0 else None
    for epoch in range(start_epoch, cfg.total_epochs):
        warm_up, lr = cfg.stage(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        metrics = run_epoch(cfg, model, optimizer, train_batches, steps_per_epoch, warm_up, ctx, device,
                            desc=f"epoch {epoch + 1}/{cfg.total_epochs}{' warm-up' if warm_up else ''}")
        if val_batches is not None and val_steps > 0:
            metrics.update(evaluate(cfg, model, val_batches, val_steps, ctx, device))
        samples = steps_per_epoch * cfg.batch_size * ctx.size
        metrics.update(epoch=epoch + 1, warm_up=warm_up, lr=lr, seconds=time.perf_counter() - started,
                       samples_per_s=samples / max(time.perf_counter() - started, 1e-9))
        if at_start is not None and not history:
            metrics["train_item_loss_at_start"] = at_start
        if epoch == cfg.total_epochs - 1:
            metrics["train_item_loss_at_end"] = evaluate(cfg, model, train_batches, steps_per_epoch, ctx,
                                                         device)["val_item_loss"]
        history.append(metrics)
        if ctx.rank == 0:
            print("  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()),
                  flush=True)
            if on_epoch_end is not None:
                on_epoch_end(epoch, metrics, optimizer)
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(f"training diverged at epoch {epoch + 1}: loss {metrics['loss']}")
    return history
