"""One model variant, trained in memory on the demo data: the tool behind the design measurements.

  python bench/model_variants.py                                   # the production default, MSE, δ = 0.6
  python bench/model_variants.py --model '{"fusion": "concat"}'     # a PriceModelConfig change
  python bench/model_variants.py --train '{"list_weight": 0}'       # a TrainConfig change
  python bench/model_variants.py --scheme oot_split --seed 1 --diagnostics
  python bench/model_variants.py --seed 1 --save-predictions data/bench/s1.npz   # for bench/mean_of_trainings.py

Needs the demo's training_set (make demo). The first run exports the training rows with
`listing_truth`'s columns and the out-of-time split (the evaluation's input,
evaluation/data.py) to `data/bench/model_variants.parquet`, and the inputs fitted
on each scheme's train rows in Spark (training/input_fitting.py, as training and the
evaluation fit them) to `model_variants.inputs.json` beside it; later runs read those
files, so a variant costs its training time only. The rows are encoded as the evaluation
encodes them (evaluation/harness.encode_split), the model trains through the production loop
(training/experiments.train_model) with conf/base/training.yaml's settings under the
overrides, and the line starting RESULT gives the test split's MALE on sold items (as scored,
and with the photo read once instead of the mirror average) and the qualification AUC for
"own item loss below the test median" (evaluation/yardsticks.py); the line starting RANGE, the
calibrated price range's coverage and width (evaluation/yardsticks.price_range_quality).
docs/MODEL_DESIGN.md's measurements were made with it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SCHEMES = ("split", "oot_split")  # the split columns: random, out of time


def inputs_path(rows: Path) -> Path:
    return rows.with_suffix(".inputs.json")


def export_rows(path: Path) -> None:
    from evaluation.data import with_out_of_time_split, with_truth
    from pricesuggest.config import load_config
    from pricesuggest.delta_io import read_table
    from pricesuggest.spark import build_session
    from training.input_fitting import fit_configured_inputs

    conf = load_config()
    spark = build_session(conf, "model_variants")
    rows = with_out_of_time_split(with_truth(read_table(spark, conf.storage.table_path("training_set")),
                                             read_table(spark, conf.storage.table_path("listing_truth"))),
                                  conf.evaluation.out_of_time_days).cache()
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = {s: fit_configured_inputs(rows.where(rows[s] == "train"), conf).to_dict() for s in SCHEMES}
    rows.toPandas().to_parquet(path)
    inputs_path(path).write_text(json.dumps(inputs))
    spark.stop()


def registered_model_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark over a registered model on the exported rows (price_range, photo_explanations)."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    parser.add_argument("--model-version", default="latest")
    parser.add_argument("--rows", type=Path, default=ROOT / "data/bench/model_variants.parquet")
    return parser


def registered_on_random_split(version: str, rows: Path):
    """(payload, model, the random split encoded with the model's own inputs) for a registered model
    trained on the demo's training_set; the rows are exported on first use."""
    if not (rows.exists() and inputs_path(rows).exists()):
        export_rows(rows)
    import pandas as pd

    from evaluation.harness import encode_split
    from model.inputs import ModelInputs
    from model.payload import model_from_payload
    from pricesuggest.config import load_config
    from registry.store import ModelStore

    payload = ModelStore(load_config().storage.model_store).load(version)
    data = encode_split(pd.read_parquet(rows), "random", "split", ModelInputs.from_dict(payload["inputs"]))
    return payload, model_from_payload(payload), data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=Path, default=ROOT / "data/bench/model_variants.parquet")
    parser.add_argument("--scheme", default="split", choices=SCHEMES)
    parser.add_argument("--model", default="{}", help="JSON: PriceModelConfig overrides")
    parser.add_argument("--train", default="{}", help='JSON: TrainConfig overrides (default objective "mse")')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--diagnostics", action="store_true",
                        help="modality importances and weights; per category, the gated-in share, residual and MALE")
    parser.add_argument("--save-predictions", type=Path, default=None,
                        help="write the test split's suggestions (.npz) for bench/mean_of_trainings.py")
    args = parser.parse_args(argv)
    if not (args.rows.exists() and inputs_path(args.rows).exists()):
        export_rows(args.rows)

    import numpy as np
    import pandas as pd
    import torch

    from evaluation.harness import encode_split
    from evaluation.metrics import male
    from evaluation.yardsticks import item_loss, price_range_quality, qualification_auc
    from model.config import PriceModelConfig
    from model.inputs import ModelInputs
    from model.predict import predict
    from pricesuggest.config import load_config
    from training.experiments import train_model

    torch.set_num_threads(args.threads)
    conf = load_config()
    model_conf = {**dataclasses.asdict(conf.training.model), **json.loads(args.model)}
    frame = pd.read_parquet(args.rows)
    inputs = ModelInputs.from_dict(json.loads(inputs_path(args.rows).read_text())[args.scheme])
    # the text encoding's settings are not fitted: a --model change of them applies here too
    inputs = dataclasses.replace(inputs, text_length=model_conf["text_length"],
                                 bigram_buckets=model_conf["bigram_buckets"])
    data = encode_split(frame, args.scheme, args.scheme, inputs)
    model_cfg = PriceModelConfig(**{**model_conf, "vocab_size": data.inputs.vocabulary.size,
                                    "n_stats": len(data.inputs.stats_columns), "field_sizes": data.inputs.field_sizes,
                                    "log_price_offset": data.log_price_offset})
    train_cfg = dataclasses.replace(conf.training.train, **{"objective": "mse", **json.loads(args.train), "seed": args.seed})
    start = time.time()
    model, history = train_model(model_cfg, train_cfg, data.train, data.validation, torch.device("cpu"))
    seconds = time.time() - start
    out = predict(model, data.test, torch.device("cpu"))
    pred, score = out["log_price"], out["score"]
    test = data.test_frame
    sold = test["label_sold"].to_numpy() == 1
    log_sold = test["log_sold_price"].to_numpy(float)
    male_sold = male(pred[sold], log_sold[sold])
    mirror, model.cfg.mirror_average = model.cfg.mirror_average, False
    one_reading = predict(model, data.test, torch.device("cpu"))["log_price"]  # the photo as it is only
    model.cfg.mirror_average = mirror
    male_one = male(one_reading[sold], log_sold[sold])
    auc = qualification_auc(item_loss(train_cfg, pred, data.test), score)
    if args.save_predictions:
        args.save_predictions.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.save_predictions, listing_id=data.test["listing_id"], log_price=pred, log_price_read_once=one_reading,
                 log_sold=log_sold, sold=sold)
    print(f"RESULT {args.scheme} seed {args.seed}: test MALE on sold items {male_sold:.4f} (photo read once: {male_one:.4f}), "
          f"qualification AUC {auc:.3f}, {len(history)} epochs (best {history[-1]['best_epoch']}), {seconds:.0f} s")
    print("RANGE", json.dumps({k: round(v, 4) for k, v in
                               price_range_quality(model, pred, score, data.test, data.validation).items()}))
    if args.diagnostics:
        from model.config import QUALIFIED_AT
        from model.diagnostics import modality_report
        report = modality_report(train_cfg, model, data.validation, torch.device("cpu"))
        print("DIAGNOSTICS", json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                         for k, v in report.to_dict().items()}))
        # per category, on the training rows and the test rows' sold items: the share the
        # classifier gates in (C1, what the regressor keeps learning from after warm-up), the
        # median residual (log sold - suggestion) and MALE
        train_out = predict(model, data.train, torch.device("cpu"))
        train_pred, train_score = train_out["log_price"], train_out["score"]
        tables = {}
        for part, frame_, p, q in [("train", data.train_frame, train_pred, train_score), ("test", test, pred, score)]:
            on = frame_["label_sold"].to_numpy() == 1
            rows = pd.DataFrame({"category": frame_["category"].to_numpy(), "gated_in": q >= QUALIFIED_AT,
                                 "residual": frame_["log_sold_price"].to_numpy(float) - p})[on]
            tables[part] = rows.groupby("category").agg(
                gated_in=("gated_in", "mean"), residual=("residual", "median"),
                male=("residual", lambda r: r.abs().mean()), sold=("residual", "size"))
        print(pd.concat(tables, axis=1).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
