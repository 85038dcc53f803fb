"""The evaluation plan and its execution: baselines, the oracle, and every model variant × seed × split.

Pure of I/O: the job (`jobs/evaluate.py`) hands in pandas frames of the training table and a
`Sink` that persists each finished unit (metric rows to Delta, the model to the store).
Units run cheapest-and-most-needed first, so an interrupted run has its headline numbers:
  0. baselines and the oracle, per split scheme (seconds to minutes, no torch training)
  1. the headline models (MSE-trained, seller-gain full model, published baseline), all
     seeds, all split schemes
  2. the constraint grids and the ablations, seed by seed, each seed closed by its
     comparisons: every ablation re-scored at the positive count of the model it ablates
A resumed run skips the units its sink already has.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from evaluation import baselines as bl
from evaluation.metrics import metrics_by_qualification, segment_edges
from evaluation.report import Gallery
from evaluation.yardsticks import (item_loss, photo_sensitivity, photo_visible_effect, price_range_quality, qualification_auc,
                                   reason_quality)
from model.config import PretrainConfig
from model.diagnostics import modality_report
from model.inputs import ModelInputs
from model.predict import predict
from model.price_net import PriceSuggester
from model.qualification import ReasonChecks
from training.experiments import (Variant, ablated, configs, conv_features, describe, pretrained_visual_state,
                                  train_model)

BASELINES = "baselines"  # the variant name of the sklearn/oracle unit


@dataclass
class SplitData:
    """One split scheme (random or out-of-time): frames, encoded arrays and price segments."""

    scheme: str
    inputs: ModelInputs
    train_frame: pd.DataFrame
    test_frame: pd.DataFrame
    train: dict[str, np.ndarray]
    validation: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    edges: np.ndarray
    log_price_offset: float
    photo_visible: np.ndarray | None = None  # test rows: photo-visible part of the log fair price (yardsticks)


def encode_split(frame: pd.DataFrame, scheme: str, split_column: str, inputs: ModelInputs,
                 generator=None) -> SplitData:
    """This scheme's train, validation and test rows, encoded with `inputs` (fitted on its train
    rows by training.input_fitting, as training fits them), and its price segments.

    With the generator's configuration and `listing_truth`'s columns in `frame`, the test rows'
    photo-visible log fair price is computed too (the photo-sensitivity yardstick).
    """
    parts = {name: frame[frame[split_column] == name].reset_index(drop=True) for name in ("train", "validation", "test")}
    train = parts["train"]
    sold = train["label_sold"].to_numpy().astype(bool)
    log_sold = train["log_sold_price"].to_numpy(float)[sold]
    visible = (photo_visible_effect(parts["test"], generator)
               if generator is not None and "item_type" in frame else None)
    return SplitData(scheme, inputs, train, parts["test"], *(inputs.encode_frame(parts[n]) for n in parts),
                     segment_edges(log_sold), float(log_sold.mean()), visible)


def gallery(model: PriceSuggester | None, data: SplitData, device: torch.device) -> Gallery | None:
    """The report's per-item plots' input: this model's suggestions and scores on the test rows."""
    if model is None:
        return None
    out = predict(model, data.test, device)
    return Gallery(data.test_frame, out["log_price"], out["score"], model.cfg.qualification_threshold)


@dataclass(frozen=True)
class Comparison:
    """The ablations of `anchor` compared with it at the same positive fraction.

    At score >= 0.5 each ablation qualifies its own share of items, and a model that
    qualifies fewer looks better on its positives for that reason alone. Here each model's
    positives are its own top-k scores, k = the anchor's positive count. Trains nothing:
    it restores the models the earlier units registered.
    """

    anchor: str
    ablations: tuple[str, ...]
    study = "matched"

    @property
    def name(self) -> str:
        return f"matched@{self.anchor}"


@dataclass(frozen=True)
class Unit:
    """One unit of work: the baselines of a scheme, one variant trained with one seed, or a comparison."""

    scheme: str
    seed: int
    variant: Variant | Comparison | None  # None: baselines + oracle

    @property
    def name(self) -> str:
        return self.variant.name if self.variant else BASELINES


class Sink(Protocol):
    def done(self, unit: Unit) -> bool: ...
    def restore(self, unit: Unit) -> PriceSuggester | None: ...  # a model a previous run registered
    def record(self, unit: Unit, rows: list[dict], model: PriceSuggester | None, notes: dict) -> None: ...


def plan(variants: list[Variant], seeds: list[int], schemes: dict[str, list[str] | None], full: str) -> list[Unit]:
    """Units in run order. `schemes`: scheme -> variant names to run there (None: all)."""
    def chosen(scheme):
        names = schemes[scheme]
        return [v for v in variants if names is None or v.name in names]

    headline = lambda v: v.study == "headline" or v.name == full  # noqa: E731
    units = [Unit(s, seeds[0], None) for s in schemes]
    units += [Unit(s, seed, v) for seed in seeds for s in schemes for v in chosen(s) if headline(v)]
    for seed in seeds:
        for s in schemes:
            units += [Unit(s, seed, v) for v in chosen(s) if not headline(v)]
            units += [Unit(s, seed, c) for c in comparisons(chosen(s))]
    return units


def comparisons(variants: list[Variant]) -> list[Comparison]:
    """One comparison per ablated model among `variants` (which must include it)."""
    names = {v.name for v in variants}
    by_anchor: dict[str, list[str]] = {}
    for v in variants:
        if ablated(v.name) in names:
            by_anchor.setdefault(ablated(v.name), []).append(v.name)
    return [Comparison(anchor, tuple(ablations)) for anchor, ablations in by_anchor.items()]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """True for the k highest scores (ties broken by position), False for the rest: a positive gate."""
    gate = np.zeros(len(scores), dtype=bool)
    gate[np.argsort(-scores, kind="stable")[:k]] = True
    return gate


def metric_rows(unit: Unit, study: str, variant: str, by_subset: dict[str, dict[str, float]]) -> list[dict]:
    return [{"split_scheme": unit.scheme, "seed": unit.seed, "study": study, "variant": variant,
             "subset": subset, "metric": metric, "value": float(value)}
            for subset, values in by_subset.items() for metric, value in values.items()]


def score(data: SplitData, pred: np.ndarray, positive: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Metrics of test predictions: all items, and with a gate (the model's own positives, or the
    ones it is scored on) its positive and negative items."""
    test = data.test_frame
    frame = pd.DataFrame({"pred": pred, "is_sold": test["label_sold"].to_numpy(),
                          "log_sold": test["log_sold_price"].to_numpy(float),
                          "log_list": test["log_list_price"].to_numpy(float)})
    if positive is not None:
        frame["positive"] = positive
    return metrics_by_qualification(frame, data.edges)


def run_baselines(unit: Unit, data: SplitData, cfg: bl.BaselineConfig) -> tuple[list[dict], dict]:
    predictions, notes = bl.fit_baselines(data.train_frame, data.train, data.test_frame, data.test, data.edges, cfg)
    rows = [r for name, pred in predictions.items() for r in metric_rows(unit, "baseline", name, score(data, pred))]
    rows += metric_rows(unit, "oracle", "oracle", score(data, data.test_frame["log_fair_price"].to_numpy(float)))
    return rows, {"svm_best_params": notes["svm_segments"]["best_params"]}


class Runner:
    """Executes a plan; keeps what later units need (gate scores, pre-trained encoders) in memory."""

    def __init__(self, splits: dict[str, SplitData], model_base: dict, train_base: dict, pretrain: PretrainConfig,
                 baseline_cfg: bl.BaselineConfig, device: torch.device, sink: Sink,
                 checks: ReasonChecks = ReasonChecks()):
        self.splits, self.model_base, self.train_base = splits, model_base, train_base
        self.pretrain, self.baseline_cfg, self.device, self.sink = pretrain, baseline_cfg, device, sink
        self.checks = checks
        # (scheme, seed, variant) -> its test positives (score >= its fitted threshold)
        self.gates: dict[tuple[str, int, str], np.ndarray] = {}
        self.visual: dict[tuple[str, int], dict] = {}

    def run(self, units: Iterable[Unit], full: str) -> None:
        units = [u for u in units if not self.sink.done(u)]
        for unit in tqdm(units, desc="evaluation units"):
            tqdm.write(f"-- {unit.scheme} seed {unit.seed}: {unit.name}")
            data = self.splits[unit.scheme]
            if isinstance(unit.variant, Comparison):
                self.sink.record(unit, self.compare(unit, data), None, {})
                continue
            if unit.variant is None:
                rows, notes = run_baselines(unit, data, self.baseline_cfg)
                self.sink.record(unit, rows, None, notes)
                continue
            rows, model, notes = self.run_variant(unit, data, full)
            self.sink.record(unit, rows, model, notes)

    def run_variant(self, unit: Unit, data: SplitData, full: str):
        variant = unit.variant
        model_base = dict(self.model_base, vocab_size=data.inputs.vocabulary.size,
                          n_stats=len(data.inputs.stats_columns), log_price_offset=data.log_price_offset,
                          bigram_buckets=data.inputs.bigram_buckets, field_sizes=data.inputs.field_sizes)
        model_cfg, train_cfg = configs(variant, model_base, self.train_base, unit.seed)
        visual = None
        if model_cfg.image_encoder == "multi_task":
            key = (unit.scheme, unit.seed)
            if key not in self.visual:
                pre = dataclasses.replace(self.pretrain, seed=unit.seed)
                self.visual[key] = pretrained_visual_state(model_cfg, pre, data.train, train_cfg.batch_size, self.device)
            visual = self.visual[key]
        model, history = train_model(model_cfg, train_cfg, data.train, data.validation, self.device, visual)
        out = predict(model, data.test, self.device)
        pred, qualification = out["log_price"], out["score"]
        positive = qualification >= model.cfg.qualification_threshold
        self.gates[(unit.scheme, unit.seed, variant.name)] = positive
        gate = self.gate(unit, data, variant.gate_from) if variant.gate_from else positive
        rows = metric_rows(unit, variant.study, variant.name, score(data, pred, gate))
        rows += metric_rows(unit, variant.study, variant.name,
                            {"all": self.yardsticks(data, model, train_cfg, pred, qualification, unit.seed)})
        if variant.name == full and model_cfg.image_encoder == "scratch" and model_cfg.use_image:
            rows += self.cnn_baseline(unit, data, model)
        return rows, model, {"history": history, **describe(model.cfg, train_cfg)}

    def yardsticks(self, data: SplitData, model: PriceSuggester, train_cfg, pred: np.ndarray,
                   qualification: np.ndarray, seed: int) -> dict[str, float]:
        """What the model reads (validation, as in the job's metadata) and, on test, its photo
        sensitivity and (with a trained classifier) the flag's AUC and reasons."""
        out = {k: math.nan if v is None else v
               for k, v in modality_report(train_cfg, model, data.validation, self.device).to_dict().items()}
        test = data.test_frame
        if model.cfg.use_image and "item_type" in test:
            out["photo_sensitivity_slope"] = photo_sensitivity(model, data.test, test, data.photo_visible,
                                                               self.device, seed)
        out.update(price_range_quality(model, pred, qualification, data.test, data.validation))
        if train_cfg.constraint != "none":
            out["qualification_threshold"] = model.cfg.qualification_threshold
            out["qualification_auc"] = qualification_auc(item_loss(train_cfg, pred, data.test), qualification)
            if "photo_defect" in test:
                out.update(reason_quality(model, data.test, test, self.checks, self.device))
        return out

    def gate(self, unit: Unit, data: SplitData, name: str) -> np.ndarray:
        """The test positives of variant `name` (same scheme and seed), restored if not in memory."""
        key = (unit.scheme, unit.seed, name)
        if key not in self.gates:
            model = self.restore(unit, name)
            self.gates[key] = predict(model, data.test, self.device)["score"] >= model.cfg.qualification_threshold
        return self.gates[key]

    def restore(self, unit: Unit, name: str) -> PriceSuggester:
        model = self.sink.restore(Unit(unit.scheme, unit.seed, Variant(name, "")))
        if model is None:
            raise RuntimeError(f"{unit.name} needs {name}, which has not been trained for {unit.scheme} seed {unit.seed}")
        return model

    def compare(self, unit: Unit, data: SplitData) -> list[dict]:
        """Each ablation's metrics on its own top-k items, k = the anchor's positives (subsets matched_*)."""
        k = int(self.gate(unit, data, unit.variant.anchor).sum())
        rows = []
        for name in unit.variant.ablations:
            out = predict(self.restore(unit, name), data.test, self.device)
            pred, qualification = out["log_price"], out["score"]
            by_subset = score(data, pred, top_k(qualification, k))
            rows += metric_rows(unit, unit.variant.study, name,
                                {f"matched_{s}": by_subset[s] for s in ("positive", "negative")})
        return rows

    def cnn_baseline(self, unit: Unit, data: SplitData, model: PriceSuggester) -> list[dict]:
        """Linear regression on the trained encoder's last conv layer (PCA 256), fitted on sold train rows."""
        sold = data.train_frame["label_sold"].to_numpy().astype(bool)
        train_x = conv_features(model, data.train["image"][sold], self.device)
        pred = bl.linear_on_features(train_x, data.train_frame["log_sold_price"].to_numpy(float)[sold],
                                     conv_features(model, data.test["image"], self.device),
                                     self.baseline_cfg.cnn_pca, unit.seed)
        return metric_rows(unit, "baseline", "cnn_linear", score(data, pred))
