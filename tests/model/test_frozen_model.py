"""A small frozen model's outputs on fixed inputs, pinned: refactors of the model side (the
encode path, the forward pass, the payload) must leave them unchanged.

The expected values live in tests/golden/frozen_model.json. Regenerate them only for an
intended change of the model's arithmetic, and say so in the commit:
    PRICESUGGEST_REGENERATE_GOLDEN=1 python -m pytest tests/model/test_frozen_model.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from model.config import PriceModelConfig
from model.inputs import ModelInputs
from model.payload import model_from_payload, model_payload
from model.predict import predict
from model.price_net import PriceSuggester
from model.stats_input import StatsNormalizer
from model.text import Vocabulary

GOLDEN = Path(__file__).parent.parent / "golden" / "frozen_model.json"
CFG = dict(image_size=16, conv_channels=(4, 8), stem_channels=0, detail_crop=8, detail_channels=(4, 8),
           vocab_size=6, bigram_buckets=4, text_length=4, embedding_dim=4, field_dim=2, fusion_dim=4, n_stats=1,
           hidden=(8,), field_sizes={"brand": 2, "category": 3, "condition": 2}, mirror_average=True,
           log_price_offset=5.0)


def frozen_model() -> PriceSuggester:
    torch.manual_seed(0)
    model = PriceSuggester(PriceModelConfig(**CFG))
    with torch.no_grad():  # non-trivial buffers: as after training, not as initialised
        for name, buffer in model.named_buffers():
            if buffer.is_floating_point():
                buffer.copy_(torch.linspace(0.5, 1.5, buffer.numel()).reshape(buffer.shape))
    return model.eval()


def fixed_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 6
    inputs = ModelInputs(Vocabulary(["red", "phone", "rolex", "gold"]), StatsNormalizer(["s"], [5.0], [1.0]), 16, 4,
                         4, {"brand": ["acme"], "category": ["a", "b"], "condition": ["good"]})
    texts = ["red phone", "rolex gold watch", "", "phone phone red", "gold", "unknown words only"]
    return {"image": rng.integers(0, 256, (n, 3, 16, 16), dtype=np.uint8),
            "tokens": inputs.vocabulary.encode(texts, inputs.text_length, inputs.bigram_buckets),
            "stats": inputs.stats.transform(np.array([[100.0], [np.nan], [5.0], [1e4], [0.0], [42.0]])),
            "form": np.array([[1, 1, 1], [0, 2, 0], [1, 0, 1], [0, 1, 0], [1, 2, 1], [0, 0, 0]])}


def outputs(model: PriceSuggester) -> dict[str, list[float]]:
    out = predict(model, fixed_arrays(), torch.device("cpu"), batch_size=4, counterfactuals=True)
    return {k: [round(float(v), 5) for v in values] for k, values in out.items()}


def test_a_frozen_models_outputs_are_pinned():
    got = outputs(frozen_model())
    if os.environ.get("PRICESUGGEST_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], atol=2e-5, err_msg=key)


def test_a_saved_and_loaded_model_gives_the_same_outputs():
    model = frozen_model()
    inputs = ModelInputs(Vocabulary(["red"]), StatsNormalizer(["s"], [5.0], [1.0]), 16, 4, 4, {})
    loaded = model_from_payload(model_payload(model, {"mu": 1.2}, inputs, {"version": 0}, "v", "abc")).eval()
    assert outputs(loaded) == outputs(model)
