"""The saved model: one dict, built and read here for the training job, the evaluation and scoring.

Format 2 (this code): inputs are the photo, unigram and hashed bigram ids, the form fields and
the statistics; `model_config` carries the fitted qualification threshold and item words (a
format-2 model saved without item words loads, and blames no text on its own), and the
classifier holds per-category reference embeddings (the reasons' counterfactuals). Format 1 (models saved
before, with no "format" key) had no form fields and another network; it cannot be loaded
into this one, and loading says so rather than failing on a missing weight.
"""
from __future__ import annotations

import dataclasses

import torch

from model.config import PriceModelConfig
from model.inputs import ModelInputs
from model.price_net import PriceSuggester

PAYLOAD_FORMAT = 2


class IncompatibleModel(ValueError):
    """A saved model this code cannot load (another payload format)."""


def cpu_weights(module: torch.nn.Module) -> dict:
    """A module's weights on the CPU: what every saved model, checkpoint and encoder file holds."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def checkpoint_payload(model: PriceSuggester, about: dict, **state) -> dict:
    """A training checkpoint: the run's description (`about`: train_config, inputs, data, run_id),
    the network's weights and config, and the training state (epoch, metrics, optimizer and
    EMA state, the best epoch's record; or, in the final one, the diagnostics)."""
    return {**about, **state, "state_dict": cpu_weights(model), "model_config": dataclasses.asdict(model.cfg)}


def model_payload(model: PriceSuggester, train_config: dict, inputs: ModelInputs, data: dict, model_version: str,
                  git_commit: str) -> dict:
    """What `ModelStore.register` saves for a trained model (weights on the CPU, no optimizer state)."""
    return {"format": PAYLOAD_FORMAT,
            "state_dict": cpu_weights(model), "model_config": dataclasses.asdict(model.cfg),
            "train_config": dict(train_config),
            "inputs": inputs.to_dict(), "data": dict(data), "model_version": model_version,
            "git_commit": git_commit}


def model_from_payload(payload: dict) -> PriceSuggester:
    """A saved model's network with its weights (a ModelStore.load payload)."""
    found = payload.get("format", 1)
    if found != PAYLOAD_FORMAT:
        raise IncompatibleModel(
            f"model {payload.get('model_version', '?')} was saved in payload format {found}; this code reads "
            f"format {PAYLOAD_FORMAT} (photo, text, form fields and statistics): retrain it "
            "(spark-submit jobs/train_price_model.py) or score with the release that trained it")
    return build_model(payload["model_config"], payload["state_dict"])


def build_model(model_config: dict, state_dict: dict) -> PriceSuggester:
    """The network of a config dict, with these weights (a payload's, or a final checkpoint's)."""
    model = PriceSuggester(PriceModelConfig(**model_config))
    model.load_state_dict(state_dict)
    return model
