"""Image encoder variant (b): multiple single-task CNNs, pre-trained, then frozen feature extractors.

Each SingleTaskCNN learns one form field from the photo (brand, category, condition; the
brand a text names wins over the form's: ModelInputs.photo_targets). Those labels are noisy
and often empty, so each task trains only on the rows that have its label (id 0, "missing",
elsewhere). The CNNs share nothing, so training them
with one summed loss is the same as training them one by one, in a single pass over the
data. Afterwards the regressor's and the classifier's encoders get copies of the same
pre-trained weights (equal values, separate parameters) and stay frozen: their
penultimate-layer features, concatenated, are the visual feature.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.nn import functional as F
from tqdm import tqdm

from model.config import PretrainConfig
from model.inputs import FORM_FIELDS
from model.price_net import MultiTaskVisualEncoder, PriceSuggester
from training.distributed import Single
from training.train import Batch, to_device


def task_losses(encoder: MultiTaskVisualEncoder, batch: Batch) -> dict[str, tuple[torch.Tensor, int, int]]:
    """task -> (summed cross-entropy over labelled rows, labelled rows, correct predictions)."""
    out = {}
    for task, net in encoder.tasks.items():
        labels = batch.get("photo_targets", batch["form"])[:, FORM_FIELDS.index(task)]
        known = labels != 0
        logits = net(batch["image"][known])
        loss = F.cross_entropy(logits, labels[known], reduction="sum") if known.any() else logits.sum() * 0.0
        out[task] = (loss, int(known.sum()), int((logits.argmax(1) == labels[known]).sum()))
    return out


def pretrain_visual(cfg: PretrainConfig, encoder: MultiTaskVisualEncoder, batches: Iterator[Batch],
                    steps_per_epoch: int, ctx: Single, device: torch.device) -> list[dict]:
    """Train every single-task CNN on its labelled rows; returns per-epoch loss and accuracy per task."""
    torch.manual_seed(cfg.seed)
    encoder.to(device).train()
    optimizer = ctx.wrap_optimizer(torch.optim.Adam(encoder.parameters(), lr=cfg.lr), encoder)
    ctx.broadcast_state(encoder, optimizer)
    tasks = list(encoder.tasks)
    history = []
    for epoch in range(cfg.epochs):
        sums = torch.zeros(3 * len(tasks), dtype=torch.float64)  # per task: loss sum, rows, correct
        bar = tqdm(range(steps_per_epoch), desc=f"pre-train visual {epoch + 1}/{cfg.epochs}",
                   disable=None if ctx.rank == 0 else True, leave=False)  # None: quiet off a terminal
        for _ in bar:
            per_task = task_losses(encoder, to_device(next(batches), device))
            # mean over each task's labelled rows, so a sparse label does not train weaker
            total = sum(loss / max(n, 1) for loss, n, _ in per_task.values())
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            sums += torch.tensor([v for loss, n, hit in per_task.values() for v in (loss.item(), n, hit)],
                                 dtype=torch.float64)
        sums = ctx.sum(sums, name=f"pretrain.{epoch}.sums")
        metrics = {"epoch": epoch + 1}
        for i, task in enumerate(tasks):
            loss, n, hit = (float(x) for x in sums[3 * i:3 * i + 3])
            metrics[f"{task}_loss"], metrics[f"{task}_accuracy"] = loss / max(n, 1), hit / max(n, 1)
        history.append(metrics)
        if ctx.rank == 0:
            print("pre-train  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                            for k, v in metrics.items()), flush=True)
    return history


def install_pretrained(model: PriceSuggester, encoder_state: dict[str, torch.Tensor]) -> None:
    """Copy pre-trained single-task CNNs into both networks and freeze them there."""
    for net in (model.regressor, model.classifier):
        net.visual.load_state_dict(encoder_state)
        net.visual.freeze()


def freeze_visual(model: PriceSuggester) -> None:
    """A resumed run: the checkpoint already holds the pre-trained weights; keep them fixed."""
    for net in (model.regressor, model.classifier):
        net.visual.freeze()
