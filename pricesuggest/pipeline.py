"""The pipeline's steps, in order: the one list `make demo`, `jobs/refresh.py` and the tests run.

Each step is a job under `jobs/` (its own `spark-submit` in the demo and the refresh; an
in-process `main()` in the tests). Feast's registry is written by `materialize_features`
(apply, then materialize), so it runs before every step that reads point-in-time statistics.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    job: str  # module under jobs/
    ingest: bool = False  # brings in new listings: in production the marketplace's ingestion does
    retrain: bool = False  # rebuilds the training set or the model: the scheduled refresh only with --retrain


STEPS = (
    Step("generate_marketplace", ingest=True),  # the demo's stand-in for the marketplace's ingestion
    Step("compute_price_stats"),
    Step("materialize_features"),
    Step("build_training_set", retrain=True),
    Step("train_price_model", retrain=True),
    Step("score_listings"),
)


def jobs(ingest: bool = True, retrain: bool = True, through: str | None = None) -> list[str]:
    """The jobs to run, in order: all of them, less the ingesting or retraining ones when not
    wanted, and ending at `through` when given."""
    chosen = [s.job for s in STEPS if (ingest or not s.ingest) and (retrain or not s.retrain)]
    return chosen[: chosen.index(through) + 1] if through else chosen
