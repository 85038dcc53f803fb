"""The one step list (pricesuggest/pipeline.py) and the plans `make demo` and the refresh make of it."""
import pytest

from jobs import refresh
from pricesuggest.pipeline import STEPS, jobs


def plan(*argv):
    return [" ".join(step) for step in refresh.steps(refresh.parse_args(list(argv)))]


def test_demo_runs_every_step_in_order_and_trains_only_when_needed():
    assert plan("--demo") == ["generate_marketplace.py", "compute_price_stats.py", "materialize_features.py",
                              "build_training_set.py", "train_price_model.py --skip-if-trained", "score_listings.py"]
    assert [p.split(".py")[0] for p in plan("--demo")] == [s.job for s in STEPS]


def test_daily_refresh_ingests_scores_and_leaves_the_model_alone():
    assert plan("--until", "2026-09-02") == ["generate_marketplace.py --until 2026-09-02 --no-summary",
                                            "compute_price_stats.py", "materialize_features.py", "score_listings.py"]
    assert plan() == ["compute_price_stats.py", "materialize_features.py", "score_listings.py"]  # ingestion is upstream's
    weekly = plan("--until", "2026-09-02", "--retrain", "--maintain")
    assert weekly[3:] == ["build_training_set.py", "train_price_model.py --skip-if-trained", "score_listings.py",
                          "maintain_tables.py"]


def test_feast_is_applied_before_any_step_reads_it():
    order = jobs()
    assert order.index("materialize_features") < min(order.index("build_training_set"), order.index("score_listings"))
    assert jobs(through="train_price_model")[-1] == "train_price_model"


def test_through_stops_after_that_step_and_must_be_one_of_the_refresh():
    assert plan("--demo", "--through", "build_training_set")[-1] == "build_training_set.py"
    assert len(plan("--demo", "--through", "build_training_set")) == 4
    with pytest.raises(SystemExit):
        refresh.parse_args(["--through", "train_price_model"])  # a daily refresh does not retrain


def test_demo_and_until_together_are_refused():
    with pytest.raises(SystemExit):
        refresh.parse_args(["--demo", "--until", "2026-09-02"])
