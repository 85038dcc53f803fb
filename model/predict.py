"""The one batched forward pass over encoded inputs.

Batch scoring, the qualification fitting after training, the diagnostics, the evaluation and
the benchmarks all read a model's outputs through `predict`, so a suggestion means the same
everywhere: the regressor's reading with the mirror average (outside training), the
classifier's score, and on request what the reasons and the diagnostics need besides.
"""
from __future__ import annotations

import numpy as np
import torch

from model.price_net import PriceSuggester
from training.train import input_batches


@torch.no_grad()
def predict(model: PriceSuggester, arrays: dict[str, np.ndarray], device: torch.device, batch_size: int = 512,
            counterfactuals: bool = False, modality_weights: bool = False,
            embeddings: bool = False) -> dict[str, np.ndarray]:
    """Per row, in order: "log_price" (the suggestion) and "score" (qualification, sigmoid).

    counterfactuals: also "typical_photo" and "typical_text", the score with the category's
        typical photo / text in place of the listing's (the reasons are read from them).
    modality_weights: also "modality_weights" [N, 2], the regressor's fusion weights (photo,
        text), when it fuses with attention.
    embeddings: also "embedding" [N, D], the regressor's reading of photo and text that comparable
        sold listings are searched in (NetOutput.comparables_embedding), from the same pass.
    """
    keys = ("score", "typical_photo", "typical_text") if counterfactuals else ("score",)
    out = {k: np.zeros(len(arrays["image"])) for k in ("log_price", *keys)}
    weights, embedded = [], []
    for rows, batch in _model_batches(model, arrays, batch_size, device):
        log_price, regressor = model.read(*batch)
        out["log_price"][rows] = log_price.double().cpu().numpy()
        for key, logit in zip(keys, model.qualification_counterfactuals(*batch)):
            out[key][rows] = torch.sigmoid(logit).double().cpu().numpy()
        if modality_weights and regressor.modality_weights is not None:
            weights.append(regressor.modality_weights.cpu().numpy())
        if embeddings:
            embedded.append(regressor.comparables_embedding().double().cpu().numpy())
    if modality_weights and weights:
        out["modality_weights"] = np.concatenate(weights)
    if embeddings:
        out["embedding"] = np.concatenate(embedded) if embedded else np.zeros((0, 2 * model.cfg.fusion_dim))
    return out


@torch.no_grad()
def embed(model: PriceSuggester, arrays: dict[str, np.ndarray], device: torch.device,
          batch_size: int = 512) -> np.ndarray:
    """[N, D] float64: each row's comparables embedding (PriceSuggester.comparables_embedding), in order:
    the regressor alone, for rows that need no suggestion (the sold listings comps are drawn from)."""
    parts = [model.comparables_embedding(*batch).double().cpu().numpy()
             for _, batch in _model_batches(model, arrays, batch_size, device)]
    return np.concatenate(parts) if parts else np.zeros((0, 2 * model.cfg.fusion_dim))


def _model_batches(model: PriceSuggester, arrays: dict[str, np.ndarray], batch_size: int, device: torch.device):
    """input_batches in the model's mode, device and dtype (scoring's models run in float64:
    scoring.inference.cached_model)."""
    if model.training:
        model.eval()
    if next(model.parameters()).device != device:  # a no-op .to() still walks every parameter
        model.to(device)
    dtype = next(model.parameters()).dtype
    for rows, batch in input_batches(arrays, batch_size, device):
        yield rows, [x.to(dtype) if x.is_floating_point() else x for x in batch]
