"""Train one model variant on arrays in memory and predict a test set: the evaluation's unit of work.

The evaluation trains dozens of variants (constraint grids, ablations, seeds) on the same
few thousand rows. They run in one process on arrays decoded once, through the same
`training.train.fit` as the production job (which reads Petastorm shards under Horovod): the
loop, losses and schedule are identical, only the batch source differs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from model.config import PretrainConfig, PriceModelConfig, TrainConfig
from model.payload import cpu_weights
from model.price_net import PriceSuggester
from model.qualification import fit_qualification
from training.distributed import Single
from training.petastorm_data import in_memory_batches
from training.pretrain import install_pretrained, pretrain_visual
from training.train import fit, to_device

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Variant:
    """A named change to the base model and training configuration."""

    name: str
    study: str  # headline | delta | eps | ablation
    model: dict = field(default_factory=dict)  # PriceModelConfig overrides
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    # the published baseline is scored on the positives of this variant's classifier
    gate_from: str | None = None


def delta_name(delta: float) -> str:
    """The variant name of the percentile constraint at delta: the report and the job look variants up by it."""
    return f"delta={delta:g}"


def eps_name(eps: float) -> str:
    """The variant name of the threshold constraint at eps."""
    return f"eps={eps:g}"


def ablated(name: str) -> str | None:
    """The variant an ablation's name says it ablates ("no_text@eps=0.15" -> "eps=0.15"); None for others."""
    return name.split("@", 1)[1] if "@" in name else None


def ablations(constraint: dict, suffix: str) -> list[Variant]:
    """The published ablations at one constraint setting."""
    return [Variant(f"no_attention{suffix}", "ablation", {"fusion": "concat"}, constraint),
            Variant(f"no_image{suffix}", "ablation", {"use_image": False}, constraint),
            Variant(f"no_text{suffix}", "ablation", {"use_text": False}, constraint),
            Variant(f"no_warm_up{suffix}", "ablation", {}, {**constraint, "warm_up": False}),
            Variant(f"multi_task_visual{suffix}", "ablation", {"image_encoder": "multi_task"}, constraint)]


def study_variants(deltas: list[float], epsilons: list[float], ablation_delta: float, ablation_eps: float,
                   with_ablations: bool = True) -> list[Variant]:
    """Every variant of the studies, named so that a name says what it is ("delta=0.6", "no_text@eps=0.15").
    The ε ablations run only with the ε study (`epsilons` not empty)."""
    percentile = lambda d: {"constraint": "percentile", "delta": d}  # noqa: E731
    threshold = lambda e: {"constraint": "threshold", "eps": e}  # noqa: E731
    full = delta_name(ablation_delta)
    variants = [Variant("mse", "headline", {}, {"objective": "mse", **percentile(ablation_delta)})]
    variants += [Variant(delta_name(d), "delta", {}, percentile(d)) for d in deltas]
    variants += [Variant(eps_name(e), "eps", {}, threshold(e)) for e in epsilons]
    if with_ablations:
        variants += ablations(percentile(ablation_delta), "@" + full)
        if epsilons:
            variants += ablations(threshold(ablation_eps), "@" + eps_name(ablation_eps))
    names = {v.name for v in variants}
    if full not in names:  # the published baseline's gate must be trained
        variants.append(Variant(full, "delta", {}, percentile(ablation_delta)))
    if with_ablations and epsilons and eps_name(ablation_eps) not in names:  # so must the model the ε ablations ablate
        variants.append(Variant(eps_name(ablation_eps), "eps", {}, threshold(ablation_eps)))
    # last: it is scored on the positives of `full`, which must have run before it
    return variants + [Variant("published_baseline", "headline", {}, {"constraint": "none"}, gate_from=full)]


def configs(variant: Variant, model_base: dict, train_base: dict, seed: int) -> tuple[PriceModelConfig, TrainConfig]:
    model_cfg = PriceModelConfig(**{**model_base, **variant.model})
    train_cfg = TrainConfig(**{**train_base, **variant.train, "seed": seed})
    base = TrainConfig(**train_base)
    if base.warm_up and not train_cfg.warm_up:  # "without warm-up" trains as many epochs, all gated
        train_cfg = dataclasses.replace(train_cfg, epochs=base.warm_up_epochs + train_cfg.epochs)
    return model_cfg, train_cfg


def pretrained_visual_state(model_cfg: PriceModelConfig, pretrain: PretrainConfig, train: Arrays,
                            batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Single-task CNNs (brand, category, condition) pre-trained on the train arrays."""
    torch.manual_seed(pretrain.seed)
    encoder = PriceSuggester(model_cfg).regressor.visual
    steps = max(1, len(train["image"]) // batch_size)
    pretrain_visual(pretrain, encoder, in_memory_batches(train, batch_size, pretrain.seed), steps, Single(), device)
    return cpu_weights(encoder)


def train_model(model_cfg: PriceModelConfig, train_cfg: TrainConfig, train: Arrays, validation: Arrays,
                device: torch.device, visual_state: dict | None = None) -> tuple[PriceSuggester, list[dict]]:
    """A model trained with the production loop on in-memory arrays; returns it and its history."""
    torch.manual_seed(train_cfg.seed)  # initial weights depend on the seed, as in the job
    model = PriceSuggester(model_cfg)
    if model_cfg.image_encoder == "multi_task":
        if visual_state is None:
            raise ValueError("a multi_task model needs pre-trained visual weights")
        install_pretrained(model, visual_state)
    bs = train_cfg.batch_size
    steps = len(train["image"]) // bs
    if steps == 0:
        raise ValueError(f"{len(train['image'])} training rows: fewer than one batch of {bs}")
    val_steps = len(validation["image"]) // bs
    history = fit(train_cfg, model, in_memory_batches(train, bs, train_cfg.seed), steps,
                  in_memory_batches(validation, bs, train_cfg.seed) if val_steps else None, val_steps,
                  Single(), device)
    fit_qualification(model, train_cfg, validation, device)  # as the job does: threshold and references
    return model, history


@torch.no_grad()
def conv_features(model: PriceSuggester, images: np.ndarray, device: torch.device, batch_size: int = 512) -> np.ndarray:
    """The regressor's last conv block output, flattened: the CNN-feature baseline's input."""
    cnn = model.regressor.visual
    if not hasattr(cnn, "features"):
        raise ValueError("conv features need the from-scratch image encoder")
    model.eval().to(device)
    out = [cnn.features(to_device({"image": torch.from_numpy(images[i:i + batch_size])}, device)["image"])
           .flatten(1).cpu().numpy() for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0))


def describe(model_cfg: PriceModelConfig, train_cfg: TrainConfig) -> dict:
    """Plain dicts of both configs, for metadata."""
    return {"model_config": dataclasses.asdict(model_cfg), "train_config": dataclasses.asdict(train_cfg)}
