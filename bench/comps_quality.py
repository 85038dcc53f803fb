"""Are the comps comparable? The demo's random test split, against two other ways to pick k (issue 16).

  .venv/bin/python bench/comps_quality.py                     # `latest`, k = scoring.comps_k
  .venv/bin/python bench/comps_quality.py --model-version V --k 5

Every test listing (sold or not) gets k comps from the sold listings of its category (all
splits of the demo's training_set) that closed in the statistics window before it was created,
ranked by `model.comps.nearest_sold`, the batch job's and the service's search, three ways:
  model   the model's own embedding of photo and text (PriceSuggester.comparables_embedding)
  tfidf   cosine of the TF-IDF of title and description (words and bigrams, sublinear tf)
  random  a random order of the same candidates
and prints, per way, the median |log sold price of a comp - log fair price of the listing|
over all (listing, comp) pairs, the same for the median comp price of each listing, and the
share of listings with k comps. The fair price is `listing_truth`'s (the exported rows of
bench/model_variants.py, made on first use).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from model_variants import registered_model_parser, registered_on_random_split  # noqa: E402


def main(argv=None) -> int:
    parser = registered_model_parser(__doc__)
    parser.add_argument("--k", type=int, default=None, help="comps per listing (default: scoring.comps_k)")
    parser.add_argument("--seed", type=int, default=0, help="of the random order")
    args = parser.parse_args(argv)
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model.comps import SoldListings, nearest_sold
    from model.inputs import listing_text
    from model.predict import embed
    from pricesuggest.config import load_config

    conf = load_config()
    k = args.k or conf.scoring.comps_k
    payload, model, data = registered_on_random_split(args.model_version, args.rows)
    device = torch.device("cpu")
    parts = [(data.train_frame, data.train), (data.test_frame, data.test)]
    validation_frame = pd.read_parquet(args.rows).query("split == 'validation'").reset_index(drop=True)
    parts.insert(1, (validation_frame, data.validation))
    frame = pd.concat([f for f, _ in parts], ignore_index=True)
    vectors = np.concatenate([embed(model, arrays, device) for _, arrays in parts])
    is_test = np.concatenate([np.full(len(f), i == 2) for i, (f, _) in enumerate(parts)])
    texts = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(
        listing_text(frame["title"], frame["description"]))
    created = pd.to_datetime(frame["created_at"]).to_numpy("datetime64[us]")
    closed = pd.to_datetime(frame["closed_at"]).to_numpy("datetime64[us]")
    sold = frame["label_sold"].to_numpy().astype(bool)
    log_sold = frame["log_sold_price"].to_numpy(float)
    window = np.timedelta64(conf.stats.window_days, "D")
    rng = np.random.default_rng(args.seed)
    pair_errors = {w: [] for w in ("model", "tfidf", "random")}
    listing_errors = {w: [] for w in pair_errors}
    full = {w: 0 for w in pair_errors}
    queries = 0
    for category in sorted(frame["category"].unique()):
        in_category = frame["category"].to_numpy() == category
        q = np.flatnonzero(in_category & is_test)
        c = np.flatnonzero(in_category & sold)
        if not len(q):
            continue
        queries += len(q)
        for start in range(0, len(q), 256):  # the window is per listing: one created_at each
            rows = q[start:start + 256]
            pool = SoldListings(frame["listing_id"].to_numpy()[c], closed[c], np.exp(log_sold[c]), vectors[c])
            in_window = closed[c][None, :] >= (created[rows] - window)[:, None]
            ways = {"model": vectors[rows] @ vectors[c].T, "tfidf": (texts[rows] @ texts[c].T).toarray(),
                    "random": rng.random((len(rows), len(c)))}
            for way, similarity in ways.items():
                found = nearest_sold(frame["listing_id"].to_numpy()[rows], created[rows], vectors[rows], pool, k,
                                     similarity=np.where(in_window, similarity, -np.inf))
                for row, picks in zip(rows, found.index):
                    picks = picks[picks >= 0]  # -1: fewer than k sold in the window before the listing
                    if not len(picks):
                        continue
                    errors = np.abs(log_sold[c][picks] - frame["log_fair_price"].to_numpy(float)[row])
                    pair_errors[way].extend(errors)
                    listing_errors[way].append(abs(np.median(log_sold[c][picks]) - frame["log_fair_price"].iloc[row]))
                    full[way] += len(picks) == k
    result = {way: {"median_abs_log_error_per_comp": round(float(np.median(pair_errors[way])), 4),
                    "median_abs_log_error_of_median_comp": round(float(np.median(listing_errors[way])), 4),
                    "listings_with_k_comps": round(full[way] / queries, 4)} for way in pair_errors}
    print(f"model {payload['model_version']}, k = {k}, {queries:,} test listings (random split), "
          f"window {conf.stats.window_days} days")
    print("COMPS", json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
