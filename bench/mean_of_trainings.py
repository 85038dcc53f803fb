"""How much of the error is the spread between trainings: the test MALE of each saved run and of their mean.

  python bench/model_variants.py --scheme oot_split --seed 0 --save-predictions data/bench/oot-s0.npz
  python bench/model_variants.py --scheme oot_split --seed 1 --save-predictions data/bench/oot-s1.npz
  python bench/mean_of_trainings.py data/bench/oot-s0.npz data/bench/oot-s1.npz

Each file holds one trained model's suggestions for the same test split. Their mean is what
an ensemble of those models would suggest; how far its MALE falls below the single models'
says how much of their error is variance between trainings rather than what the inputs
cannot tell. docs/MODEL_DESIGN.md ("Luxury items, the gate and the spread between trainings").
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.metrics import male  # noqa: E402  (after the path: run as a script from anywhere)


def sold_male(log_price: np.ndarray, run) -> float:
    """MALE of the sold items of one saved run's test split."""
    return male(log_price[run["sold"]], run["log_sold"][run["sold"]])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help=".npz files from bench/model_variants.py --save-predictions")
    parser.add_argument("--read-once", action="store_true", help="the photo read once, not the mirror average")
    args = parser.parse_args(argv)
    runs = [np.load(path) for path in args.runs]
    if any(not np.array_equal(run["listing_id"], runs[0]["listing_id"]) for run in runs):
        parser.error("the runs scored different test splits (another --scheme or another training_set)")
    key = "log_price_read_once" if args.read_once else "log_price"
    for path, run in zip(args.runs, runs):
        print(f"{path}: test MALE on sold items {sold_male(run[key], run):.4f}")
    mean = np.mean([run[key] for run in runs], axis=0)
    print(f"RESULT mean of {len(runs)} trainings: test MALE on sold items {sold_male(mean, runs[0]):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
