"""The evaluation stage's settings (evaluation/stage.py): a grid that cannot run fails before any Spark work."""
from __future__ import annotations

import dataclasses

import pytest

from evaluation.stage import EvaluationSetupError, grid_settings
from pricesuggest.config import EvaluationGrid


def with_grid(conf, **changes):
    grid = dataclasses.replace(conf.evaluation.grids["headline"], **changes)
    return dataclasses.replace(conf, evaluation=dataclasses.replace(
        conf.evaluation, grids={**conf.evaluation.grids, "headline": grid}))


def test_the_headline_grid_runs_the_production_schedule_and_names_its_anchor(tiny_conf):
    settings = grid_settings(tiny_conf, "headline")
    assert settings.train_base["epochs"] == tiny_conf.training.train.epochs
    assert settings.full == "delta=0.6" and settings.full in {v.name for v in settings.variants}
    assert {"mse", "published_baseline"} <= {v.name for v in settings.variants}


def test_a_grid_override_replaces_only_its_keys(tiny_conf):
    settings = grid_settings(with_grid(tiny_conf, train={"epochs": 4}), "headline")
    assert settings.train_base["epochs"] == 4
    assert settings.train_base["lr"] == tiny_conf.training.train.lr


def test_an_out_of_time_variant_the_grid_never_trains_is_named(tiny_conf):
    conf = with_grid(tiny_conf, out_of_time_variants=["mse", "delta=0.9"])
    with pytest.raises(EvaluationSetupError, match=r"out_of_time_variants: unknown variant\(s\) \['delta=0.9'\]"):
        grid_settings(conf, "headline")


def test_an_override_that_makes_an_invalid_schedule_names_the_grid(tiny_conf):
    grid = EvaluationGrid(seeds=[0], deltas=[0.6], epsilons=[], ablations=False, out_of_time_variants=[],
                          train={"objective": "hinge"})
    conf = dataclasses.replace(tiny_conf, evaluation=dataclasses.replace(
        tiny_conf.evaluation, grids={**tiny_conf.evaluation.grids, "bad": grid}))
    with pytest.raises(EvaluationSetupError, match="evaluation.grids.bad.train"):
        grid_settings(conf, "bad")
