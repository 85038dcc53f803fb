"""The report's judgement of the targets: ablations at the anchor's positive count, with the seed spread."""
from __future__ import annotations

import pandas as pd

from evaluation.report import matched_table, reading_table, summarise, targets


def rows(variant, subset, smle_by_seed, umle=0.3, metric_values=(), scheme="random"):
    return [{"split_scheme": scheme, "seed": seed, "variant": variant, "subset": subset, "metric": metric, "value": v}
            for seed, smle in enumerate(smle_by_seed)
            for metric, v in (("SMLE", smle), ("UMLE", umle), ("items", 50.0), *metric_values)]


def judged(summary, kind):
    return [r for r in targets(summary, "random", "delta=0.6", [], [], ["no_text@delta=0.6", "no_image@delta=0.6"])
            if r[0].startswith(kind) or f"than {kind}" in r[0]]


def test_ablations_are_judged_on_matched_positives_with_the_seed_spread():
    results = pd.DataFrame(
        rows("delta=0.6", "positive", [0.50, 0.52, 0.54])
        + rows("no_text@delta=0.6", "positive", [0.10, 0.10, 0.10])  # fewer positives at its threshold: not judged
        + rows("no_text@delta=0.6", "matched_positive", [0.60, 0.61, 0.62])
        + rows("no_image@delta=0.6", "matched_positive", [0.51, 0.51, 0.51]))  # within the spread: photo not needed
    summary = summarise(results)
    no_text = judged(summary, "no_text")
    assert len(no_text) == 1 and no_text[0][2] == "met" and "SMLE 0.520 vs 0.610" in no_text[0][1]
    assert [r[2] for r in judged(summary, "no_image")] == ["**not met**"]  # must be worse by > 2 SD
    clearly_worse = pd.DataFrame(rows("delta=0.6", "positive", [0.50, 0.52, 0.54], umle=0.30)
                                 + rows("no_image@delta=0.6", "matched_positive", [0.60, 0.60, 0.60], umle=0.40))
    assert [r[2] for r in judged(summarise(clearly_worse), "no_image")] == ["met"]
    better_ablation = pd.DataFrame(rows("delta=0.6", "positive", [0.50, 0.50, 0.50])
                                   + rows("no_text@delta=0.6", "matched_positive", [0.40, 0.40, 0.40]))
    assert [r[2] for r in judged(summarise(better_ablation), "no_text")] == ["**not met**"]


def test_ablations_without_a_comparison_are_not_judged():
    results = pd.DataFrame(rows("delta=0.6", "positive", [0.5]) + rows("no_text@delta=0.6", "positive", [0.1]))
    assert judged(summarise(results), "no_text") == []


def test_accuracy_targets_use_the_floor_and_the_peers():
    def male(variant, value):
        return [{"split_scheme": "random", "seed": 0, "variant": variant, "subset": "all", "metric": "MALE",
                 "value": value}]

    results = pd.DataFrame(male("mse", 0.40) + male("category_mean", 0.80) + male("observable_floor", 0.20)
                           + male("gbt", 0.55) + male("tfidf_ridge", 0.60))
    verdicts = {r[0]: (r[1], r[2]) for r in targets(summarise(results), "random", "delta=0.6", [], [], [])}
    assert verdicts["MSE model: mean MALE of sold test items ≤ 0.42"][1] == "met"
    assert verdicts["MSE model MALE ≥ 20% below the best baseline"] == ("27% below gbt (0.550)", "met")
    gap = verdicts["MSE model closes ≥ 60% of the MALE gap category mean → observable floor"]
    assert gap[0].startswith("67%") and gap[1] == "met"  # (0.8 - 0.4) / (0.8 - 0.2)
    assert verdicts["MSE model MALE ≥ 10% below the TF-IDF peer"][1] == "met"


def test_positive_share_is_judged_within_three_points():
    share = lambda v: [{"split_scheme": "random", "seed": 0, "variant": "delta=0.6", "subset": "all",  # noqa: E731
                        "metric": "positive_share", "value": v}]
    for value, verdict in ((0.62, "met"), (0.635, "**not met**")):
        rows_ = [r for r in targets(summarise(pd.DataFrame(share(value))), "random", "delta=0.6", [0.6], [], [])
                 if "positive share" in r[0]]
        assert [r[2] for r in rows_] == [verdict]


def test_matched_table_lists_the_anchor_then_its_ablations():
    results = pd.DataFrame(rows("delta=0.6", "positive", [0.5]) + rows("delta=0.6", "negative", [0.7])
                           + rows("no_text@delta=0.6", "matched_positive", [0.6])
                           + rows("no_text@delta=0.6", "matched_negative", [0.8]))
    lines = matched_table(summarise(results), "random", "delta=0.6", ["no_text@delta=0.6"]).splitlines()
    assert lines[2].startswith("| delta=0.6 | positive | 50 | 0.500") and lines[4].startswith("| no_text@delta=0.6 | positive | 50 | 0.600")
    assert lines[5].startswith("|  | negative | 50 | 0.800")


def test_reading_table_lists_what_each_model_reads():
    results = pd.DataFrame(rows("delta=0.6", "all", [0.5], metric_values=(("photo_importance", 0.4),
                                                                           ("photo_reason_items", 12.0))))
    lines = reading_table(summarise(results), "random", ["delta=0.6", "absent"]).splitlines()
    assert len(lines) == 3 and lines[2].startswith("| delta=0.6 | 0.40 |") and "| 12 |" in lines[2]


def test_plots_draw_from_suggestions_without_a_model(tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from evaluation.report import Gallery, plots

    rng = np.random.default_rng(0)
    n = 40
    test = pd.DataFrame({"label_sold": np.arange(n) % 2, "log_sold_price": rng.normal(5, 1, n),
                         "category": np.where(np.arange(n) < 20, "phones", "shoes")})
    splits = {"random": SimpleNamespace(train_frame=pd.DataFrame({"sold_price": rng.lognormal(5, 1, n)}))}
    gallery = Gallery(test, test["log_sold_price"].to_numpy() + 0.1, rng.uniform(0, 1, n), 0.5)
    results = pd.DataFrame(rows("delta=0.6", "all", [0.5, 0.6], metric_values=(("positive_share", 0.61),))
                           + rows("delta=0.6", "positive", [0.4, 0.5]) + rows("delta=0.6", "negative", [0.7, 0.8]))
    figures = plots(summarise(results), splits, gallery, "delta=0.6", [0.6])
    assert set(figures) == {"price_distribution.png", "predicted_vs_actual.png", "error_by_category.png",
                            "qualification_scores.png", "positive_share_vs_delta.png", "metrics_vs_delta.png"}
    for name, figure in figures.items():
        figure.savefig(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert set(plots(summarise(results), splits, None, "delta=0.6", [0.6])) == {
        "price_distribution.png", "positive_share_vs_delta.png", "metrics_vs_delta.png"}


def fixed_results() -> pd.DataFrame:
    """A small evaluation run's metric rows, every value drawn from a fixed seed."""
    import numpy as np

    from evaluation.metrics import REGRESSION_METRICS, SEGMENT_METRICS, SELLER_GAIN_METRICS
    from evaluation.report import READING_METRICS

    rng = np.random.default_rng(7)
    variants = ["mean", "category_mean", "gbt", "tfidf_ridge", "observable_floor", "oracle", "mse", "delta=0.6",
                "delta=0.8", "eps=0.15", "published_baseline", "no_image@delta=0.6", "concat@delta=0.6"]
    metrics = ["items", "sold_items", "positive_share", *REGRESSION_METRICS, *SELLER_GAIN_METRICS, *SEGMENT_METRICS]
    rows = []
    for scheme in ("random", "out_of_time"):
        for seed in (0, 1):
            for variant in variants:
                subsets = ["all", "positive", "negative"] + (["matched_positive"] if "@" in variant else [])
                for subset in subsets:
                    for metric in metrics + (READING_METRICS if subset == "all" else []):
                        rows.append({"split_scheme": scheme, "seed": seed, "variant": variant, "subset": subset,
                                     "metric": metric, "value": float(rng.uniform(0.1, 0.9)),
                                     "git_commit": "abc1234"})
    return pd.DataFrame(rows)


def rendered_from_fixed_rows(tmp_path) -> str:
    from types import SimpleNamespace

    import numpy as np

    from evaluation.report import render_report

    rng = np.random.default_rng(0)
    split = SimpleNamespace(train={"image": np.zeros(900)}, validation={"image": np.zeros(100)},
                            test={"image": np.zeros(200)},
                            train_frame=pd.DataFrame({"sold_price": rng.lognormal(5, 1, 50)}))
    context = {"command": "spark-submit jobs/evaluate.py --grid tiny", "eval_run_id": "evaluate-20261201T000000Z-0",
               "grid": "tiny", "data": {"table": "/warehouse/training_set", "version": 3},
               "generator_config_sha256": "f00d", "git_commit": "abc1234",
               "train_schedule": {"warm_up_epochs": 3, "epochs": 15, "patience": 3, "batch_size": 128, "lr": 0.003,
                                  "ema_decay": 0.995}}
    grid = SimpleNamespace(deltas=[0.6, 0.8], epsilons=[0.15])
    ec = SimpleNamespace(ablation_delta=0.6, ablation_eps=0.15, out_of_time_days=14)
    text, _ = render_report(fixed_results(), {"random": split, "out_of_time": split}, None, "delta=0.6", grid, ec,
                            [], context, tmp_path / "plots", tmp_path)
    return text


def test_the_rendered_report_is_pinned(tmp_path):
    """The report's text from fixed metric rows, pinned (tests/golden/evaluation_report.md): a
    refactor of the renderer must leave it unchanged. Regenerate only for an intended change:
    PRICESUGGEST_REGENERATE_GOLDEN=1 python -m pytest tests/evaluation/test_evaluation_report.py"""
    import os
    from pathlib import Path

    text = rendered_from_fixed_rows(tmp_path)
    golden = Path(__file__).parent.parent / "golden" / "evaluation_report.md"
    if os.environ.get("PRICESUGGEST_REGENERATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_report_links_the_generative_figure_once_its_benchmark_drew_it(tmp_path):
    from evaluation.report import GAN_FIGURE

    without = rendered_from_fixed_rows(tmp_path)
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / GAN_FIGURE).write_bytes(b"png")
    with_figure = rendered_from_fixed_rows(tmp_path)
    assert "generative" not in without
    assert "## A generative view of cheap vs expensive items" in with_figure
    assert f"![{GAN_FIGURE}](plots/{GAN_FIGURE})" in with_figure and "bench/photo_gan.py" in with_figure
