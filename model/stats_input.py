"""Statistical features as network input: log prices, standardised, with missing flags.

Normalisation statistics come from the training split only (fitted in Spark:
training/input_fitting.py). A missing value (cold-start
seller, too few sales, no snapshot yet) becomes 0 after standardisation (the training
mean) and its flag 1, so the network can tell "average" from "unknown".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _transform(raw: np.ndarray, columns: list[str]) -> np.ndarray:
    """Counts and prices -> log1p: both are long-tailed."""
    return np.log1p(np.clip(raw.astype(np.float64), 0, None))


@dataclass
class StatsNormalizer:
    columns: list[str]
    mean: list[float]
    std: list[float]

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """[N, k] raw values (NaN = missing) -> [N, 2k] float32: standardised values, then flags."""
        values = (_transform(raw, self.columns) - np.asarray(self.mean)) / np.asarray(self.std)
        missing = np.isnan(values)
        return np.concatenate([np.where(missing, 0.0, values), missing.astype(np.float64)], axis=1).astype(np.float32)

    def to_dict(self) -> dict:
        return {"columns": self.columns, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: dict) -> "StatsNormalizer":
        return cls(list(data["columns"]), list(data["mean"]), list(data["std"]))
