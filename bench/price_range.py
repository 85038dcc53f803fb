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

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model-version", default="latest")
    parser.add_argument("--rows", type=Path, default=ROOT / "data/bench/model_variants.parquet")
    args = parser.parse_args(argv)
    from model_variants import export_rows, inputs_path

    if not (args.rows.exists() and inputs_path(args.rows).exists()):
        export_rows(args.rows)
    import pandas as pd
    import torch

    from evaluation.harness import encode_split
    from evaluation.yardsticks import price_range_quality
    from model.config import TrainConfig
    from model.inputs import ModelInputs
    from model.payload import model_from_payload
    from model.predict import predict
    from model.qualification import fit_qualification
    from pricesuggest.config import load_config
    from registry.store import ModelStore

    payload = ModelStore(load_config().storage.model_store).load(args.model_version)
    model = model_from_payload(payload)
    data = encode_split(pd.read_parquet(args.rows), "random", "split", ModelInputs.from_dict(payload["inputs"]))
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
