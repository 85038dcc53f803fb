"""jobs/evaluate.py end to end on a tiny world: metric rows, registered models, report, resume."""
from __future__ import annotations

import json

import pytest

from evaluation import sink as evaluation_sink
from jobs import evaluate
from pricesuggest.delta_io import read_table
from registry.store import ModelStore
from tests.pipeline_steps import generate_and_train

TINY_GRID = {"PRICESUGGEST__evaluation__grids__tiny": json.dumps(
                 {"seeds": [0], "deltas": [0.6], "epsilons": [0.15], "ablations": False,
                  "out_of_time_variants": ["delta=0.6"], "train": {"warm_up_epochs": 1, "epochs": 1}}),
             "PRICESUGGEST__evaluation__grid": "tiny",
             "PRICESUGGEST__evaluation__baselines": json.dumps(
                 {"hog_pca": 8, "cnn_pca": 8, "svm_tune_rows": 60, "svm_fit_rows": 200, "tfidf_features": 50,
                  "gbt_iterations": 20, "svm_c": [1.0, 10.0], "svm_gamma": [0.01, 0.1]})}


@pytest.fixture(scope="module")
def evaluated(module_job_env, tmp_path_factory, spark):
    conf = module_job_env
    out = tmp_path_factory.mktemp("evaluation")
    with pytest.MonkeyPatch.context() as patch:
        generate_and_train(patch, num_proc=1, **TINY_GRID)
        latest_before = ModelStore(conf.storage.model_store).latest()
        args = ["--report", str(out / "EVALUATION.md"), "--plots-dir", str(out / "plots")]
        assert evaluate.main(args) == 0
        spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # written by the job's own session
        rows = read_table(spark, conf.storage.table_path("evaluation_runs")).toPandas()
        yield {"conf": conf, "out": out, "rows": rows, "args": args, "latest_before": latest_before, "patch": patch}


def value(rows, variant, subset, metric, scheme="random"):
    match = rows[(rows.variant == variant) & (rows.subset == subset) & (rows.metric == metric) & (rows.split_scheme == scheme)]
    assert len(match) == 1, (variant, subset, metric, scheme)
    return float(match["value"].iloc[0])


def test_every_unit_has_metric_rows_keyed_by_model_version(evaluated):
    rows = evaluated["rows"]
    assert rows["eval_run_id"].nunique() == 1
    assert not rows.duplicated(["eval_run_id", "model_version", "split_scheme", "subset", "metric"]).any()
    random = set(rows[rows.split_scheme == "random"]["variant"])
    assert {"oracle", "mean", "category_mean", "hog_linear", "cnn_linear", "svm_segments", "gbt", "mse",
            "delta=0.6", "eps=0.15", "published_baseline"} <= random
    assert {"delta=0.6", "oracle", "gbt"} <= set(rows[rows.split_scheme == "out_of_time"]["variant"])
    assert (rows["training_set_version"] >= 0).all() and rows["generator_config_sha256"].str.len().eq(64).all()


def test_positives_and_negatives_partition_the_test_items(evaluated):
    rows = evaluated["rows"]
    for variant in ("delta=0.6", "eps=0.15", "published_baseline"):
        total = value(rows, variant, "all", "items")
        assert value(rows, variant, "positive", "items") + value(rows, variant, "negative", "items") == total
        assert value(rows, variant, "all", "positive_share") == pytest.approx(value(rows, variant, "positive", "items") / total)
    # the published baseline is scored on the positives the joint classifier picks
    assert value(rows, "published_baseline", "positive", "items") == value(rows, "delta=0.6", "positive", "items")
    assert value(rows, "oracle", "all", "MALE") < value(rows, "mean", "all", "MALE")


def test_models_are_registered_but_never_promoted(evaluated):
    store = ModelStore(evaluated["conf"].storage.model_store)
    assert store.latest() == evaluated["latest_before"]
    trained = set(evaluated["rows"].query("variant in ['mse', 'delta=0.6', 'eps=0.15']")["model_version"])
    assert trained and trained <= set(store.versions())
    meta = store.metadata(sorted(trained)[0])
    assert meta["purpose"] == "evaluation" and meta["training_table"]["version"] >= 0


def test_report_and_plots(evaluated):
    text = (evaluated["out"] / "EVALUATION.md").read_text()
    rows = evaluated["rows"]
    assert "--grid tiny" in text and rows["eval_run_id"].iloc[0] in text
    assert f"Delta version {int(rows['training_set_version'].iloc[0])}" in text
    for section in ("## Targets", "## Percentile constraint", "## Threshold constraint", "## Ablations"):
        assert section in text
    for png in ("predicted_vs_actual.png", "error_by_category.png", "positive_share_vs_delta.png",
                "metrics_vs_delta.png", "price_distribution.png", "qualification_scores.png"):
        assert (evaluated["out"] / "plots" / png).stat().st_size > 0
        assert f"plots/{png}" in text


def test_resume_of_a_finished_run_trains_nothing(evaluated, spark):
    conf, rows = evaluated["conf"], evaluated["rows"]
    store = ModelStore(conf.storage.model_store)
    versions = store.versions()
    run_id = rows["eval_run_id"].iloc[0]
    assert evaluate.main([*evaluated["args"], "--resume", run_id]) == 0
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    again = read_table(spark, conf.storage.table_path("evaluation_runs")).toPandas()
    assert len(again) == len(rows) and store.versions() == versions


def test_report_only_needs_a_run(evaluated):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--report-only"])
    assert exc.value.code == 2


def test_comparison_rows_carry_the_version_of_the_model_they_score():
    from evaluation.harness import Comparison, Unit
    from training.experiments import Variant

    run = "evaluate-20260101T000000Z-abc"
    compared = Unit("random", 1, Comparison("delta=0.6", ("no_text@delta=0.6",)))
    assert evaluation_sink.row_versions(run, compared, [{"variant": "no_text@delta=0.6"}]) == [
        evaluation_sink.model_version(run, Unit("random", 1, Variant("no_text@delta=0.6", "ablation")))]
    trained = Unit("random", 1, Variant("delta=0.6", "delta"))
    own, cnn = evaluation_sink.row_versions(run, trained, [{"variant": "delta=0.6"}, {"variant": "cnn_linear"}])
    assert own == "eval-20260101T000000Z-abc-random-delta0.6-s1" and cnn == own + ":cnn_linear"


def test_without_the_demo_tables_the_job_says_what_to_build(job_env, capsys):
    with pytest.raises(SystemExit) as exc:
        evaluate.main([])
    assert exc.value.code == 2 and "make demo" in capsys.readouterr().err
