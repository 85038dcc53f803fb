"""Reason precision of registered models, with the reason code as it is now (no retraining).

  python bench/reason_precision.py eval-20261123T121427Z-a028dfd7-random-delta0.6-s0
  python bench/reason_precision.py --scheme oot_split eval-...-out_of_time-delta0.6-s0

The reasons (model/qualification.py) are rules over a trained model's scores, pixels and
words, so a change to them can be measured on the evaluation's registered models instead of
retraining the grid. Scores the test split of `--scheme` (the same rows as the evaluation's,
from bench/model_variants.py's export) through the scoring path's predict and prints
evaluation/yardsticks.reason_quality: the photo and text reasons' precision and recall against
`listing_truth`, and the generic reason's share of the unqualified listings.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="+", help="model versions in the model store")
    parser.add_argument("--rows", type=Path, default=ROOT / "data/bench/model_variants.parquet")
    parser.add_argument("--scheme", default="split", choices=["split", "oot_split"])
    args = parser.parse_args(argv)
    if not args.rows.exists():
        from model_variants import export_rows
        export_rows(args.rows)

    import pandas as pd
    import torch

    from evaluation.yardsticks import reason_quality
    from model.inputs import ModelInputs
    from model.payload import model_from_payload
    from model.qualification import ReasonChecks
    from pricesuggest.config import load_config
    from registry.store import ModelStore

    conf = load_config()
    store = ModelStore(conf.storage.model_store)
    frame = pd.read_parquet(args.rows)
    test = frame[frame[args.scheme] == "test"].reset_index(drop=True)
    checks = ReasonChecks.from_conf(conf.scoring)
    for version in args.versions:
        payload = store.load(version)
        arrays = ModelInputs.from_dict(payload["inputs"]).encode_features(test)
        quality = reason_quality(model_from_payload(payload), arrays, test, checks, torch.device("cpu"))
        print(version, f"{len(test)} test rows", {k: round(v, 3) for k, v in quality.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
