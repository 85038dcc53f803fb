"""The report's judgement of the ablations: at the anchor's positive count, beyond the seed spread."""
from __future__ import annotations

import pandas as pd

from models.evaluation_report import matched_table, summarise, targets


def rows(variant, subset, smle_by_seed, umle=0.3):
    return [{"split_scheme": "random", "seed": seed, "variant": variant, "subset": subset, "metric": metric, "value": v}
            for seed, smle in enumerate(smle_by_seed)
            for metric, v in (("SMLE", smle), ("UMLE", umle), ("items", 50.0))]


def ablation_rows(summary):
    return [r for r in targets(summary, "random", "delta=0.6", [], [], ["no_text@delta=0.6", "no_image@delta=0.6"])
            if "no worse than" in r[0]]


def test_ablations_are_judged_on_matched_positives_with_the_seed_spread():
    results = pd.DataFrame(
        rows("delta=0.6", "positive", [0.50, 0.52, 0.54])
        + rows("no_text@delta=0.6", "positive", [0.10, 0.10, 0.10])  # fewer positives at 0.5: not what is judged
        + rows("no_text@delta=0.6", "matched_positive", [0.60, 0.61, 0.62])
        + rows("no_image@delta=0.6", "matched_positive", [0.51, 0.51, 0.51])  # better, within the spread
        + rows("no_image@delta=0.6", "positive", [0.40, 0.40, 0.40], umle=0.2))
    judged = ablation_rows(summarise(results))
    assert [r[2] for r in judged] == ["met", "met"] and "SMLE 0.520 vs 0.610" in judged[0][1]
    worse = pd.DataFrame(rows("delta=0.6", "positive", [0.50, 0.50, 0.50])
                         + rows("no_text@delta=0.6", "matched_positive", [0.40, 0.40, 0.40]))
    assert [r[2] for r in ablation_rows(summarise(worse))] == ["**not met**"]


def test_ablations_without_a_comparison_are_not_judged():
    results = pd.DataFrame(rows("delta=0.6", "positive", [0.5]) + rows("no_text@delta=0.6", "positive", [0.1]))
    assert ablation_rows(summarise(results)) == []


def test_matched_table_lists_the_anchor_then_its_ablations():
    results = pd.DataFrame(rows("delta=0.6", "positive", [0.5]) + rows("delta=0.6", "negative", [0.7])
                           + rows("no_text@delta=0.6", "matched_positive", [0.6])
                           + rows("no_text@delta=0.6", "matched_negative", [0.8]))
    lines = matched_table(summarise(results), "random", "delta=0.6", ["no_text@delta=0.6"]).splitlines()
    assert lines[2].startswith("| delta=0.6 | positive | 50 | 0.500") and lines[4].startswith("| no_text@delta=0.6 | positive | 50 | 0.600")
    assert lines[5].startswith("|  | negative | 50 | 0.800")
