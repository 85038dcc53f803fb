"""The evaluation plan, its variants and the out-of-time split (no training here)."""
from __future__ import annotations

from datetime import date, datetime

from models.evaluation import Unit, plan
from models.experiments import configs, study_variants
from features.evaluation_data import with_fair_price, with_out_of_time_split

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


def test_out_of_time_split_tests_on_the_last_days(spark):
    rows = spark.createDataFrame(
        [(1, "train", datetime(2025, 1, 5), date(2025, 2, 1)), (2, "validation", datetime(2025, 1, 10), date(2025, 2, 1)),
         (3, "test", datetime(2025, 1, 12), date(2025, 2, 1)), (4, "train", datetime(2025, 1, 18), date(2025, 2, 1)),
         (5, "validation", datetime(2025, 1, 31, 23), date(2025, 2, 1))],
        "listing_id long, split string, closed_at timestamp, as_of date")
    truth = spark.createDataFrame([(1, 4.0), (2, 5.0), (4, 6.0), (5, 7.0), (9, 1.0)], "listing_id long, log_fair_price double")
    out = with_out_of_time_split(with_fair_price(rows, truth), days=14).orderBy("listing_id").collect()
    assert [r["oot_split"] for r in out] == ["train", "validation", "train", "test", "test"]  # cutoff 2025-01-18
    assert [r["log_fair_price"] for r in out] == [4.0, 5.0, None, 6.0, 7.0]  # no row lost or added
