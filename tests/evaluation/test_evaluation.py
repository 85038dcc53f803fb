"""The evaluation plan, its variants and the out-of-time split (no training here)."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.data import TRUTH_COLUMNS, with_out_of_time_split, with_truth
from evaluation.harness import Comparison, Runner, SplitData, Unit, comparisons, plan, top_k
from evaluation.metrics import segment_edges
from model.config import PriceModelConfig
from model.predict import predict
from model.price_net import PriceSuggester
from training.experiments import configs, study_variants

TRAIN_BASE = {"warm_up": True, "warm_up_epochs": 2, "epochs": 4, "batch_size": 8}
MODEL_BASE = {"image_size": 64, "n_stats": 3}


def test_variants_cover_the_published_grids_and_ablations():
    variants = study_variants([0.4, 0.6], [0.1, 0.15], 0.6, 0.15)
    names = [v.name for v in variants]
    assert names[-1] == "published_baseline"  # gated by delta=0.6, so after it
    assert {"mse", "delta=0.4", "delta=0.6", "eps=0.1", "eps=0.15", "no_text@delta=0.6",
            "multi_task_visual@eps=0.15", "no_warm_up@delta=0.6"} <= set(names)
    assert len(names) == len(set(names))
    by_name = {v.name: v for v in variants}
    model, train = configs(by_name["no_image@eps=0.15"], MODEL_BASE, TRAIN_BASE, seed=3)
    assert not model.use_image and train.constraint == "threshold" and train.eps == 0.15 and train.seed == 3
    model, train = configs(by_name["published_baseline"], MODEL_BASE, TRAIN_BASE, seed=0)
    assert train.constraint == "none" and train.objective == "seller_gain"
    assert configs(by_name["mse"], MODEL_BASE, TRAIN_BASE, 0)[1].objective == "mse"


def test_without_warm_up_trains_as_many_epochs():
    variants = {v.name: v for v in study_variants([0.6], [], 0.6, 0.15)}
    _, with_warm = configs(variants["delta=0.6"], MODEL_BASE, TRAIN_BASE, 0)
    _, without = configs(variants["no_warm_up@delta=0.6"], MODEL_BASE, TRAIN_BASE, 0)
    assert not without.warm_up and without.total_epochs == with_warm.total_epochs == 6


def test_headline_grid_ablates_the_delta_model_only():
    names = {v.name for v in study_variants([0.6], [], 0.6, 0.15)}
    assert "no_image@delta=0.6" in names and not any("eps" in n for n in names)


def test_full_model_is_added_when_the_grid_lacks_it():
    names = [v.name for v in study_variants([0.4], [], 0.6, 0.15, with_ablations=False)]
    assert names.index("delta=0.6") < names.index("published_baseline")


def test_plan_runs_baselines_then_headline_models_over_all_seeds_then_the_rest():
    variants = study_variants([0.4, 0.6], [0.15], 0.6, 0.15, with_ablations=False)
    units = plan(variants, [0, 1], {"random": None, "out_of_time": ["delta=0.6"]}, "delta=0.6")
    assert units[:2] == [Unit("random", 0, None), Unit("out_of_time", 0, None)]
    names = [(u.scheme, u.seed, u.name) for u in units]
    assert len(names) == len(set(names))
    headline_end = max(i for i, u in enumerate(units) if u.variant and u.variant.study == "headline")
    assert all(u.name in ("mse", "delta=0.6", "published_baseline") for u in units[2:headline_end + 1])
    assert {(u.seed, u.name) for u in units if u.scheme == "out_of_time" and u.variant} == {(0, "delta=0.6"), (1, "delta=0.6")}
    for seed in (0, 1):  # the gate trains before the model it gates
        assert names.index(("random", seed, "delta=0.6")) < names.index(("random", seed, "published_baseline"))
    assert ("random", 1, "delta=0.4") in names


def test_each_ablated_model_gets_a_comparison_after_its_ablations_in_every_seed():
    variants = study_variants([0.4, 0.6], [0.1], 0.6, 0.15)  # eps=0.15 is not in the grid: it is added
    assert {c.anchor for c in comparisons(variants)} == {"delta=0.6", "eps=0.15"}
    units = plan(variants, [0, 1], {"random": None, "out_of_time": ["mse", "delta=0.6"]}, "delta=0.6")
    names = [(u.scheme, u.seed, u.name) for u in units]
    compared = [u for u in units if isinstance(u.variant, Comparison)]
    assert {(u.scheme, u.seed, u.variant.anchor) for u in compared} == {
        ("random", s, a) for s in (0, 1) for a in ("delta=0.6", "eps=0.15")}  # none out of time: no ablations there
    for u in compared:
        assert len(u.variant.ablations) == 5
        for name in (u.variant.anchor, *u.variant.ablations):
            assert names.index((u.scheme, u.seed, name)) < names.index((u.scheme, u.seed, u.name))
    assert names.index(("random", 0, "matched@delta=0.6")) < names.index(("random", 1, "delta=0.4"))


def test_top_k_gates_the_k_highest_scores():
    assert top_k(np.array([0.2, 0.9, 0.4, 0.9, 0.1]), 3).tolist() == [False, True, True, True, False]
    assert top_k(np.array([0.2, 0.9]), 0).sum() == 0


SMALL = PriceModelConfig(image_size=16, conv_channels=(4,), stem_channels=0, vocab_size=20, bigram_buckets=0,
                         text_length=8, embedding_dim=4, field_sizes={"brand": 2, "category": 2, "condition": 2},
                         field_dim=2, fusion_dim=4, n_stats=1, hidden=(8,), log_price_offset=4.0)


class MemorySink:
    def __init__(self, models):
        self.models, self.recorded = models, {}

    def done(self, unit):
        return False

    def restore(self, unit):
        return self.models.get(unit.name)

    def record(self, unit, rows, model, notes):
        self.recorded[unit.name] = rows


def test_comparison_scores_each_ablation_on_its_own_top_scores_at_the_anchors_positive_count():
    rng = np.random.default_rng(0)
    n = 200
    test = {"image": rng.random((n, 3, 16, 16), dtype=np.float32), "tokens": rng.integers(0, 20, (n, 8)),
            "stats": rng.normal(size=(n, 2)).astype(np.float32), "form": rng.integers(0, 2, (n, 3))}
    sold = rng.random(n) < 0.6
    log_sold = rng.normal(4, 1, n)
    frame = pd.DataFrame({"label_sold": sold, "log_sold_price": np.where(sold, log_sold, np.nan),
                          "log_list_price": log_sold + 0.2})
    data = SplitData("random", None, frame, frame, test, test, test, segment_edges(log_sold), 4.0)
    models = {}
    for i, name in enumerate(["delta=0.6", "no_text@delta=0.6", "no_image@delta=0.6"]):
        torch.manual_seed(i)
        models[name] = PriceSuggester(dataclasses.replace(SMALL))  # own config: thresholds differ
    # the anchor qualifies at its own fitted threshold: about 40 % of the items here
    anchor_scores = predict(models["delta=0.6"], test, torch.device("cpu"))["score"]
    models["delta=0.6"].cfg.qualification_threshold = float(np.quantile(anchor_scores, 0.6))
    sink = MemorySink(models)
    unit = Unit("random", 0, Comparison("delta=0.6", ("no_text@delta=0.6", "no_image@delta=0.6")))
    Runner({"random": data}, {}, {}, None, None, torch.device("cpu"), sink).run([unit], "delta=0.6")
    rows = pd.DataFrame(sink.recorded["matched@delta=0.6"])
    k = int((anchor_scores >= models["delta=0.6"].cfg.qualification_threshold).sum())
    assert 0.35 * n < k < 0.45 * n
    assert set(rows["variant"]) == {"no_text@delta=0.6", "no_image@delta=0.6"}
    assert set(rows["subset"]) == {"matched_positive", "matched_negative"} and set(rows["study"]) == {"matched"}
    for name in ("no_text@delta=0.6", "no_image@delta=0.6"):
        mine = rows[rows.variant == name].set_index(["subset", "metric"])["value"]
        assert mine[("matched_positive", "items")] == k and mine[("matched_negative", "items")] == n - k
        out = predict(models[name], test, torch.device("cpu"))
        pred, qualification = out["log_price"], out["score"]
        chosen = np.argsort(-qualification, kind="stable")[:k]
        chosen = chosen[sold[chosen]]
        assert mine[("matched_positive", "MALE")] == pytest.approx(np.abs(pred[chosen] - log_sold[chosen]).mean())


def test_a_comparison_without_its_models_says_which_is_missing():
    unit = Unit("random", 0, Comparison("delta=0.6", ("no_text@delta=0.6",)))
    with pytest.raises(RuntimeError, match="delta=0.6"):
        Runner({"random": None}, {}, {}, None, None, torch.device("cpu"), MemorySink({})).run([unit], "delta=0.6")


def test_out_of_time_split_tests_on_the_last_days(spark):
    rows = spark.createDataFrame(
        [(1, "train", datetime(2025, 1, 5), date(2025, 2, 1)), (2, "validation", datetime(2025, 1, 10), date(2025, 2, 1)),
         (3, "test", datetime(2025, 1, 12), date(2025, 2, 1)), (4, "train", datetime(2025, 1, 18), date(2025, 2, 1)),
         (5, "validation", datetime(2025, 1, 31, 23), date(2025, 2, 1))],
        "listing_id long, split string, closed_at timestamp, as_of date")
    truth = spark.createDataFrame(
        [(i, fair, *[None] * (len(TRUTH_COLUMNS) - 1)) for i, fair in ((1, 4.0), (2, 5.0), (4, 6.0), (5, 7.0), (9, 1.0))],
        "listing_id long, log_fair_price double, " + ", ".join(f"{c} string" for c in TRUTH_COLUMNS[1:]))
    out = with_out_of_time_split(with_truth(rows, truth), days=14).orderBy("listing_id").collect()
    assert [r["oot_split"] for r in out] == ["train", "validation", "train", "test", "test"]  # cutoff 2025-01-18
    assert [r["log_fair_price"] for r in out] == [4.0, 5.0, None, 6.0, 7.0]  # no row lost or added
