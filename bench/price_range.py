"""The calibrated price range of a registered model on the demo's random test split (issue 16).

  .venv/bin/python bench/price_range.py                     # `latest`
  .venv/bin/python bench/price_range.py --model-version V

The model's own inputs encode the training_set rows it was trained on (the export of
bench/model_variants.py, made on the first run); its threshold, references and range are fitted
again on the validation split by the function training calls (model.qualification.
fit_qualification), so a model registered before the range existed is measured as it would be
trained now. Prints the coverage and mean ln(high / low) width on the sold test items, for all,
qualified and unqualified listings, beside a per-category constant interval at the same level
(evaluation/yardsticks.price_range_quality). A model trained on the random split: the
out-of-time figures come from `bench/model_variants.py --scheme oot_split` (its RANGE line).
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
    args = parser.parse_args(argv)
    import torch

    from evaluation.yardsticks import price_range_quality
    from model.config import TrainConfig
    from model.predict import predict
    from model.qualification import fit_qualification

    payload, model, data = registered_on_random_split(args.model_version, args.rows)
    train_cfg = TrainConfig(**payload["train_config"])
    device = torch.device("cpu")
    fit_qualification(model, train_cfg, data.validation, device)
    out = predict(model, data.test, device)
    print(f"model {payload['model_version']} ({train_cfg.objective}, {train_cfg.constraint}), random split test")
    print("RANGE", json.dumps({k: round(v, 4) for k, v in
                               price_range_quality(model, out["log_price"], out["score"], data.test,
                                                   data.validation).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
