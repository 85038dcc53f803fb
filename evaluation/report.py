"""docs/EVALUATION.md and its plots, from one evaluation run's metric rows (the `evaluation_runs` table).

Numbers are mean ± standard deviation over the seeds that ran (no ± with one seed). The
targets section judges each model by the yardstick of its objective: the MSE-trained model by
MALE against the sold price, seller-gain models by SMLE ... UPIMLE.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # figures without pyplot: no global backend to switch

from evaluation.metrics import SELLER_GAIN_METRICS
from model.config import MU
from training.experiments import ablated, delta_name, eps_name

BASELINE_ORDER = ["mean", "category_mean", "hog_linear", "cnn_linear", "svm_segments", "gbt", "tfidf_ridge"]
FLOOR = "observable_floor"  # ridge on listing_truth's attributes: a yardstick, not a peer
# what each model reads and how its flag does (model.diagnostics, evaluation.yardsticks), per variant
READING_METRICS = ["photo_importance", "text_importance", "photo_weight_mean", "photo_weight_std",
                   "photo_sensitivity_slope", "qualification_auc", "photo_reason_precision", "photo_reason_items",
                   "text_reason_precision", "text_reason_items", "generic_reason_share"]
# the calibrated price range (model/conformal.py, evaluation.yardsticks.price_range_quality): coverage of the
# sold test items' prices and mean log width, and a per-category constant interval's at the same level
RANGE_METRICS = ["range_level", "range_coverage", "range_width", "range_coverage_qualified", "range_width_qualified",
                 "range_coverage_unqualified", "range_width_unqualified", "constant_range_coverage",
                 "constant_range_width"]
MALE_TARGET = 0.42
GAN_FIGURE = "photo_gan.png"  # bench/photo_gan.py writes it beside the report's plots
REGRESSION_COLUMNS = ["MALE", "RMSLE", "RMSE", "MAE", "R2", "segment_precision", "segment_recall", "segment_f1"]


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """(split_scheme, variant, subset, metric) -> mean, std, seeds."""
    grouped = results.groupby(["split_scheme", "variant", "subset", "metric"])["value"]
    return pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=0), "seeds": grouped.count()})


def cell(summary: pd.DataFrame, scheme: str, variant: str, subset: str, metric: str, digits: int = 3) -> str:
    try:
        row = summary.loc[(scheme, variant, subset, metric)]
    except KeyError:
        return "–"
    if math.isnan(row["mean"]):
        return "n/a"
    if metric in ("items", "sold_items") or metric.endswith("_items"):
        return f"{row['mean']:.0f}"
    if metric == "positive_share":
        return f"{100 * row['mean']:.1f}%" + (f" ± {100 * row['std']:.1f}" if row["seeds"] > 1 else "")
    return f"{row['mean']:.{digits}f}" + (f" ± {row['std']:.{digits}f}" if row["seeds"] > 1 else "")


def value(summary, scheme, variant, subset, metric) -> tuple[float, float]:
    try:
        row = summary.loc[(scheme, variant, subset, metric)]
        return float(row["mean"]), float(row["std"])
    except KeyError:
        return math.nan, math.nan


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def headline_tables(summary, scheme: str, full: str) -> str:
    models = [v for v in ["oracle", FLOOR, *BASELINE_ORDER, "mse", full, "published_baseline"]
              if (scheme, v, "all", "MALE") in summary.index]
    accuracy = table(["model (all sold test items)", *REGRESSION_COLUMNS],
                     [[m, *[cell(summary, scheme, m, "all", c) for c in REGRESSION_COLUMNS]] for m in models])
    gain = table(["model (all test items)", *SELLER_GAIN_METRICS],
                 [[m, *[cell(summary, scheme, m, "all", c) for c in SELLER_GAIN_METRICS]] for m in models])
    return f"{accuracy}\n\n{gain}"


def grid_table(summary, scheme: str, variants: list[str], label: str) -> str:
    rows = []
    for v in variants:
        if (scheme, v, "all", "items") not in summary.index:
            continue
        for subset in ("positive", "negative"):
            rows.append([v if subset == "positive" else "", subset, cell(summary, scheme, v, subset, "items"),
                         cell(summary, scheme, v, "all", "positive_share") if subset == "positive" else "",
                         *[cell(summary, scheme, v, subset, m) for m in SELLER_GAIN_METRICS]])
    return table([label, "items", "count", "positive %", *SELLER_GAIN_METRICS], rows)


def matched_table(summary, scheme: str, anchor: str, ablations: list[str]) -> str:
    """The anchor at score >= 0.5 and each of its ablations on its own top scores, as many positives."""
    rows = []
    for v, prefix in [(anchor, ""), *[(a, "matched_") for a in ablations]]:
        if (scheme, v, prefix + "positive", "items") not in summary.index:
            continue
        for subset in ("positive", "negative"):
            rows.append([v if subset == "positive" else "", subset, cell(summary, scheme, v, prefix + subset, "items"),
                         *[cell(summary, scheme, v, prefix + subset, m) for m in SELLER_GAIN_METRICS]])
    return table(["model", "items", "count", *SELLER_GAIN_METRICS], rows)


def targets(summary, scheme: str, full: str, deltas: list[float], epsilons: list[float], ablations: list[str]) -> list[list[str]]:
    """[target, measured, met?] rows for one split scheme (the model issue's targets)."""
    out = []
    mse, mse_sd = value(summary, scheme, "mse", "all", "MALE")
    cat, _ = value(summary, scheme, "category_mean", "all", "MALE")
    floor, _ = value(summary, scheme, FLOOR, "all", "MALE")
    if not math.isnan(mse):
        out.append([f"MSE model: mean MALE of sold test items ≤ {MALE_TARGET}", f"{mse:.3f} ± {mse_sd:.3f}",
                    _verdict(mse <= MALE_TARGET)])
        peers = [(b, value(summary, scheme, b, "all", "MALE")[0]) for b in BASELINE_ORDER]
        best_name, best = min(((b, v) for b, v in peers if not math.isnan(v)), key=lambda t: t[1],
                              default=("none", math.nan))
        out.append(["MSE model MALE ≥ 20% below the best baseline",
                    f"{100 * (1 - mse / best):.0f}% below {best_name} ({best:.3f})", _verdict(mse <= 0.8 * best)])
        if not math.isnan(floor):
            closed = (cat - mse) / (cat - floor) if cat != floor else math.nan
            out.append(["MSE model closes ≥ 60% of the MALE gap category mean → observable floor",
                        f"{100 * closed:.0f}% (MALE {mse:.3f}; category mean {cat:.3f}, floor {floor:.3f})",
                        _verdict(closed >= 0.6)])
        peer, _ = value(summary, scheme, "tfidf_ridge", "all", "MALE")
        if not math.isnan(peer):
            out.append(["MSE model MALE ≥ 10% below the TF-IDF peer", f"{100 * (1 - mse / peer):.0f}% below {peer:.3f}",
                        _verdict(mse <= 0.9 * peer)])
    for name in ("mse", full):
        slope, sd = value(summary, scheme, name, "all", "photo_sensitivity_slope")
        if not math.isnan(slope):
            out.append([f"{name}: photo sensitivity slope ≥ 0.5", f"{slope:.2f} ± {sd:.2f}", _verdict(slope >= 0.5)])
    gains = []
    for metric in ("SMLE", "UMLE"):
        ours, ours_sd = value(summary, scheme, full, "positive", metric)
        base, base_sd = value(summary, scheme, "published_baseline", "positive", metric)
        if not (math.isnan(ours) or math.isnan(base)):
            gains.append((metric, ours, base, _spread(ours_sd, base_sd)))
    if gains:
        out.append([f"full model ({full}) beats the published baseline on its positives by > 1 SD (SMLE and UMLE)",
                    "; ".join(f"{m} {o:.3f} vs {b:.3f} (SD {sd:.3f})" for m, o, b, sd in gains),
                    _verdict(all(o < b - sd for _, o, b, sd in gains))])
    for d in deltas:
        share, _ = value(summary, scheme, delta_name(d), "all", "positive_share")
        if not math.isnan(share):
            out.append([f"positive share within ±3 points of δ = {d:g}", f"{100 * share:.1f}% ({100 * (share - d):+.1f})",
                        _verdict(abs(share - d) <= 0.03)])
    auc, auc_sd = value(summary, scheme, full, "all", "qualification_auc")
    if not math.isnan(auc):
        out.append([f"{full}: qualification AUC ≥ 0.75 for \"own item loss below the test median\"",
                    f"{auc:.3f} ± {auc_sd:.3f}", _verdict(auc >= 0.75)])
    for kind in ("photo", "text"):
        precision, _ = value(summary, scheme, full, "all", f"{kind}_reason_precision")
        items, _ = value(summary, scheme, full, "all", f"{kind}_reason_items")
        if not math.isnan(items):
            out.append([f"{full}: {kind} reason precision ≥ 0.8", f"{precision:.2f} ({items:.0f} items per seed)",
                        _verdict(not math.isnan(precision) and precision >= 0.8)])
    for ablation in ablations:  # at the anchor's positive count (the comparison units), both seller-gain yardsticks
        base, kind = ablated(ablation), ablation.split("@")[0]
        rows = [(m, *value(summary, scheme, base, "positive", m), *value(summary, scheme, ablation, "matched_positive", m))
                for m in ("SMLE", "UMLE")]
        if any(math.isnan(r[1]) or math.isnan(r[3]) for r in rows):
            continue
        measured = "; ".join(f"{m} {o:.3f} vs {t:.3f} (SD {_spread(osd, tsd):.3f})" for m, o, osd, t, tsd in rows)
        if kind == "no_image":  # the photo matters: without it, clearly worse
            out.append([f"{kind} worse than {base} by > 2 SD at {base}'s positive count (SMLE and UMLE)", measured,
                        _verdict(all(t > o + 2 * _spread(osd, tsd) for _, o, osd, t, tsd in rows))])
        else:
            out.append([f"{base} no worse than {kind} at its positive count (mean ≤ theirs + 1 SD, SMLE and UMLE)",
                        measured, _verdict(all(o <= t + _spread(osd, tsd) for _, o, osd, t, tsd in rows))])
    return out


def _spread(*sds: float) -> float:
    """The larger of two seed standard deviations (0 with one seed)."""
    return max(0.0 if math.isnan(sd) else sd for sd in sds)


def reading_table(summary, scheme: str, variants: list[str], metrics: list[str] = READING_METRICS) -> str:
    """One row per variant that recorded metrics[0] on this scheme."""
    rows = [[v, *[cell(summary, scheme, v, "all", m, 2 if "items" not in m else 0) for m in metrics]]
            for v in variants if (scheme, v, "all", metrics[0]) in summary.index]
    return table(["model", *metrics], rows)


def new_axes(width: float, height: float):
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


@dataclass(frozen=True)
class Gallery:
    """One model's suggestions on the random split's test rows: what the per-item plots draw."""

    test_frame: pd.DataFrame
    log_price: np.ndarray
    score: np.ndarray
    threshold: float


def photo_explanations_figure(photos: np.ndarray, maps: dict[str, np.ndarray], titles: list[str]) -> Figure:
    """A column per photo ([N, 3, H, W] uint8): the photo, then each map over it (Grad-CAM, occlusion...)."""
    fig = Figure(figsize=(1.6 * len(photos), 1.7 * (1 + len(maps))))
    axes = fig.subplots(1 + len(maps), len(photos), squeeze=False)
    for j, photo in enumerate(photos):
        picture = photo.transpose(1, 2, 0)
        axes[0, j].imshow(picture)
        axes[0, j].set_title(titles[j], fontsize=7)
        for i, (name, values) in enumerate(maps.items(), start=1):
            axes[i, j].imshow(picture)
            axes[i, j].imshow(values[j], cmap="jet" if name != "occlusion" else "coolwarm", alpha=0.5,
                              **({"vmin": -abs(values[j]).max(), "vmax": abs(values[j]).max()} if name == "occlusion"
                                 else {}))
    for i, name in enumerate(["photo", *maps]):
        axes[i, 0].set_ylabel(name.replace("_", "-"), fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def photo_gan_figure(samples: np.ndarray, categories: list[str], real: np.ndarray | None = None) -> Figure:
    """A row per category: generated cheapest-quarter items, then the dearest quarter's from the same
    noise (samples uint8 [C, 2, K, S, S, 3], evaluation/photo_gan.cheap_and_expensive); with `real`
    ([C, 2, S, S, 3]), one real photo of each beside them."""
    k = samples.shape[2]
    columns = 2 * k + (2 if real is not None else 0)
    fig = Figure(figsize=(0.75 * columns + 1.6, 0.8 * len(categories) + 0.4))
    axes = fig.subplots(len(categories), columns, squeeze=False)
    for c, name in enumerate(categories):
        pictures = [*samples[c, 0], *samples[c, 1]] + ([real[c, 0], real[c, 1]] if real is not None else [])
        for j, picture in enumerate(pictures):
            axes[c, j].imshow(picture)
        axes[c, 0].set_ylabel(name.replace("_", " "), fontsize=7, rotation=0, ha="right", va="center")
    titles = ["cheap"] * k + ["expensive"] * k + (["real cheap", "real dear"] if real is not None else [])
    for j, title in enumerate(titles):
        axes[0, j].set_title(title, fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def plots(summary, splits, gallery: Gallery | None, full: str, deltas: list[float]) -> dict[str, Figure]:
    figures = {}
    data = splits["random"]
    prices = data.train_frame["sold_price"].dropna().to_numpy(float)
    fig = Figure(figsize=(10, 3.5))
    axes = fig.subplots(1, 2)
    axes[0].hist(prices, bins=80, color="tab:blue")
    axes[0].set(title="sold price (CNY), train split", xlabel="price")
    axes[1].hist(np.log(prices), bins=80, color="tab:green")
    axes[1].set(title="log sold price", xlabel="log price")
    figures["price_distribution.png"] = fig
    if gallery is not None:
        pred, qualification, threshold, test = gallery.log_price, gallery.score, gallery.threshold, gallery.test_frame
        sold = test["label_sold"].to_numpy().astype(bool)
        positive = qualification >= threshold
        fig, ax = new_axes(5.5, 5)
        actual = test["log_sold_price"].to_numpy(float)
        for mask, colour, label in ((sold & positive, "tab:blue", "positive"), (sold & ~positive, "tab:red", "negative")):
            ax.scatter(actual[mask], pred[mask], s=4, alpha=0.5, c=colour, label=f"{label} ({mask.sum()})")
        lo, hi = np.nanmin(actual[sold]), np.nanmax(actual[sold])
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.plot([lo, hi], [lo + np.log(MU), hi + np.log(MU)], "k:", lw=1, label="band top (+log μ)")
        ax.set(title=f"{full}: suggestion vs sold price (sold test items)", xlabel="log sold price",
               ylabel="suggested log price")
        ax.legend(markerscale=3, fontsize=8)
        figures["predicted_vs_actual.png"] = fig
        errors = pd.DataFrame({"category": test["category"][sold], "error": np.abs(pred[sold] - actual[sold])})
        by_category = errors.groupby("category")["error"].mean().sort_values()
        fig, ax = new_axes(7, 0.3 * len(by_category) + 1.2)
        ax.barh(by_category.index, by_category.to_numpy(), color="tab:purple")
        ax.set(title=f"{full}: MALE of sold test items by category", xlabel="MALE")
        figures["error_by_category.png"] = fig
        # the score's spread around the threshold fitted on validation
        fig, ax = new_axes(5.5, 3.5)
        ax.hist(qualification, bins=50, color="tab:gray")
        ax.axvline(threshold, color="k", ls="--", lw=1, label=f"fitted threshold {threshold:.3f}")
        ax.legend(fontsize=8)
        ax.set(title=f"{full}: qualification scores (test split)", xlabel="classifier score", ylabel="items")
        figures["qualification_scores.png"] = fig
    grid = [(d, *value(summary, "random", delta_name(d), "all", "positive_share")) for d in deltas]
    grid = [g for g in grid if not math.isnan(g[1])]
    if grid:
        d, share, sd = map(np.array, zip(*grid))
        fig, ax = new_axes(5, 4)
        ax.errorbar(d, 100 * share, yerr=100 * sd, marker="o", capsize=3, label="test positives")
        ax.plot(d, 100 * d, "k--", lw=1, label="δ")
        ax.fill_between(d, 100 * d - 2, 100 * d + 2, color="grey", alpha=0.2, label="±2 pp")
        ax.set(title="positive share vs percentile constraint δ", xlabel="δ", ylabel="positive %")
        ax.legend()
        figures["positive_share_vs_delta.png"] = fig
        fig, ax = new_axes(6, 4)
        for metric, colour in (("SMLE", "tab:blue"), ("UMLE", "tab:orange")):
            for subset, style in (("positive", "-o"), ("negative", "--s")):
                points = [(x, *value(summary, "random", delta_name(x), subset, metric)) for x in d]
                xs, ys, sds = map(np.array, zip(*points))
                ax.errorbar(xs, ys, yerr=sds, fmt=style, color=colour, capsize=3, label=f"{metric} {subset}")
        ax.set(title="seller-gain metrics vs δ (test split)", xlabel="δ", ylabel="mean log error")
        ax.legend(fontsize=8)
        figures["metrics_vs_delta.png"] = fig
    return figures


def render_report(results: pd.DataFrame, splits, gallery: Gallery | None, full: str, grid, ec, missing: list[str],
                  context: dict, plots_dir: Path, report_dir: Path) -> tuple[str, dict[str, Figure]]:
    summary = summarise(results)
    deltas, epsilons = list(grid.deltas), list(grid.epsilons)
    if ec.ablation_delta not in deltas:
        deltas = sorted({*deltas, ec.ablation_delta})
    figures = plots(summary, splits, gallery, full, deltas)
    link = os.path.relpath(plots_dir, report_dir)
    variants = set(results["variant"]) if len(results) else set()
    ablations = sorted(v for v in variants if ablated(v))
    seeds = sorted(results["seed"].unique().tolist()) if len(results) else []
    sizes = {s: (len(d.train["image"]), len(d.validation["image"]), len(d.test["image"])) for s, d in splits.items()}
    lines = [
        "# Evaluation",
        "",
        "Every number below comes from one evaluation run, reproducible with:",
        "",
        f"    {context['command']}",
        "",
        f"- evaluation run `{context['eval_run_id']}`, grid `{context['grid']}`, seeds {seeds}",
        f"- data: `training_set` Delta version {context['data']['version']} ({context['data']['table']}), "
        f"generator configuration sha256 `{context['generator_config_sha256']}`",
        "- code: git commit " + ", ".join(f"`{c}`" for c in sorted(set(results.get("git_commit", []))) or [context["git_commit"]]),
        f"- model versions: `evaluation_runs.model_version` (torch models are registered in the model store as "
        f"`eval-{context['eval_run_id'].removeprefix('evaluate-')}-*`, never promoted)",
        "- split sizes (train / validation / test): "
        + "; ".join(f"{s} {a:,} / {b:,} / {c:,}" for s, (a, b, c) in sizes.items()),
        f"- out-of-time split: test = outcomes known in the last {ec.out_of_time_days} days before the table's as-of day",
        f"- evaluation training schedule (each model): {context['train_schedule']['warm_up_epochs']} warm-up + "
        f"up to {context['train_schedule']['epochs']} epochs (early stopping, patience "
        f"{context['train_schedule']['patience']}), batch {context['train_schedule']['batch_size']}, one-cycle lr "
        f"peak {context['train_schedule']['lr']}, weight EMA {context['train_schedule']['ema_decay']}",
        "- \"positive\" = classifier score ≥ the model's own threshold, fitted on the validation split (δ of its "
        "items qualify under the percentile constraint; 0.5 otherwise); metrics on log prices unless stated; "
        "RMSE and MAE in CNY; mean ± standard deviation over seeds.",
        f"- `{FLOOR}`: ridge on `listing_truth`'s true attributes (category × item type, brand, spec, material; "
        "condition), the observable floor: a yardstick, not a peer. `tfidf_ridge`: ridge on word and character "
        "n-gram TF-IDF, one-hot form fields and the statistics (the Mercari winners' style).",
        "- SMLE and UMLE are distances to the seller-gain band (zero inside it): the published formulas' "
        "`min(…, 0)` would never be positive (`evaluation/metrics.py`). Regression and segment metrics are on "
        "sold items; a segment is a quartile of the train split's sold prices.",
        "- Yardsticks: the MSE-trained model is judged by MALE/RMSLE against the sold price; seller-gain "
        "models by SMLE … UPIMLE (they deliberately suggest above the sold price).",
        "",
    ]
    if missing:
        by_seed = pd.Series([m.split("/")[1] for m in missing]).value_counts().sort_index()
        lines += [f"**Incomplete run: {len(missing)} unit(s) not run yet** (continue with `--resume "
                  f"{context['eval_run_id']}`): " + ", ".join(f"seed {s}: {n}" for s, n in by_seed.items())
                  + "; first: " + ", ".join(f"`{m}`" for m in missing[:6]), ""]
    source = (f"_From `{context['command']}` (run `{context['eval_run_id']}`) on `training_set` "
              f"v{context['data']['version']}._")
    lines += ["## Targets", ""]
    for scheme in splits:
        rows = targets(summary, scheme, full, deltas, epsilons, ablations)
        if rows:
            lines += [f"### {scheme} split", "", source, "", table(["target", "measured", ""], rows), ""]
    for scheme in splits:
        lines += [f"## Headline models and baselines: {scheme} split", "", source, "", headline_tables(summary, scheme, full), ""]
    lines += ["## Percentile constraint δ (random split)", "", source, "",
              grid_table(summary, "random", [delta_name(d) for d in deltas], "δ"), "",
              "## Threshold constraint ε (random split)", "", source, "",
              grid_table(summary, "random", [eps_name(e) for e in epsilons], "ε"), "",
              "## Ablations (random split)", "", source, "",
              grid_table(summary, "random", [full, *[a for a in ablations if ablated(a) == full],
                                             eps_name(ec.ablation_eps),
                                             *[a for a in ablations if ablated(a) != full]], "model"), ""]
    for anchor in (full, eps_name(ec.ablation_eps)):
        mine = [a for a in ablations if ablated(a) == anchor]
        if mine:
            lines += [f"## Ablations of {anchor} at its positive count (random split)", "",
                      f"Each ablation's positives are its own highest-scoring test items, as many as {anchor} "
                      "qualifies at its threshold: the comparison at the same positive fraction the targets use "
                      "(fewer positives look better for that reason alone).", "", source, "",
                      matched_table(summary, "random", anchor, mine), ""]
    readers = [v for v in ["mse", full, "published_baseline", *ablations] if v in variants]
    lines += ["## What the models read (random split)", "",
              "Photo and text importance: relative rise of the validation item loss when photos (texts) are "
              "shuffled among listings of the same category (`model/diagnostics.py`); photo weight: the "
              "regressor's attention weight on the photo. Photo sensitivity: slope of the change in suggested log "
              "price against the true change of the photo-visible part of the fair price when only the photo is "
              "swapped for another of the same category (`evaluation/yardsticks.py`). AUC: the qualification score "
              "for \"own item loss below the test median\". Reason precision: share of photo (text) reasons given "
              "to listings whose photo is degraded (text useless) in `listing_truth`.", "", source, "",
              reading_table(summary, "random", readers), ""]
    for scheme in splits:  # runs that recorded the calibrated range (not the runs before it)
        if any((scheme, v, "all", RANGE_METRICS[0]) in summary.index for v in readers):
            lines += [f"## Calibrated price range ({scheme} split)", "",
                      "Coverage: share of the sold test items whose sold price falls in the model's range "
                      "(split conformal on the validation split, per qualification bucket and category: "
                      "`model/conformal.py`); width: mean ln(high / low). The constant interval: one range of log "
                      "sold prices per category, fitted the same way on validation, the same for every listing.",
                      "", source, "", reading_table(summary, scheme, readers, RANGE_METRICS), ""]
    if (plots_dir / GAN_FIGURE).exists():  # drawn by its own benchmark: minutes of GAN training, not a grid cell
        lines += ["## A generative view of cheap vs expensive items", "",
                  "A conditional GAN of the sold photos by category and price quartile within the category "
                  "(`evaluation/photo_gan.py`; `.venv/bin/python bench/photo_gan.py`, which prints its check and "
                  "timings; docs/MODEL_DESIGN.md has the figures). Per category: generated items of the cheapest "
                  "quarter, the dearest quarter's from the same noise, then one real photo of each.", "",
                  f"![{GAN_FIGURE}]({link}/{GAN_FIGURE})", ""]
    lines += ["## Plots", ""]
    lines += [f"![{name}]({link}/{name})" for name in sorted(figures)]
    return "\n".join(lines) + "\n", figures
