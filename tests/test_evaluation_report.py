"""The report's judgement of the targets: ablations at the anchor's positive count, with the seed spread."""
from __future__ import annotations

import pandas as pd

from models.evaluation_report import matched_table, reading_table, summarise, targets


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

    from models.evaluation_report import Gallery, plots

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
