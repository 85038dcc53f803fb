"""The pipeline up to a trained model, in-process, for test modules that need one."""
from __future__ import annotations

import importlib

from pricesuggest.pipeline import jobs

# Tiny-data training: small batches, one warm-up and a few gated epochs, narrow convolutions, no
# photo gate (a few hundred listings teach too little for the photo importance the demo reaches).
FAST_TRAINING = {"PRICESUGGEST__training__train__batch_size": "16",
                 "PRICESUGGEST__training__train__warm_up_epochs": "1",
                 "PRICESUGGEST__training__train__epochs": "2",
                 "PRICESUGGEST__training__train__lr": "0.003",
                 "PRICESUGGEST__training__model__conv_channels": "[4, 8, 8, 8]",
                 "PRICESUGGEST__training__model__stem_channels": "0",
                 "PRICESUGGEST__training__model__detail_channels": "[4, 8, 8, 8]",
                 "PRICESUGGEST__training__min_photo_importance": "0",
                 # the tiny world's validation split has ~15 sold items: enough for one 80 % range
                 "PRICESUGGEST__training__model__range_min_rows": "5"}


def generate_and_train(patch, num_proc: int, **env: str) -> None:
    """The pipeline's steps up to a trained (and promoted) model, in its order (pricesuggest/pipeline.py),
    with FAST_TRAINING set on `patch`."""
    for key, value in {**FAST_TRAINING, **env}.items():
        patch.setenv(key, value)
    arguments = {"generate_marketplace": ["--no-summary"], "train_price_model": ["--num-proc", str(num_proc)]}
    for job in jobs(through="train_price_model"):
        assert importlib.import_module(f"jobs.{job}").main(arguments.get(job, [])) == 0, job
