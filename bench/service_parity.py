"""Parity of the upload-time service with the batch job on the demo: the same listings, the same
model, the same features day, the same answer.

  .venv/bin/python bench/service_parity.py --listings 200       # after make demo

Picks random active listings the demo's batch run scored (`price_suggestions`, state active),
uploads each one's photo bytes and text exactly as stored to the service's app (FastAPI's test
client: the real multipart parsing, batcher and Suggester over the demo's online store and
`latest`), and compares the answer with the stored row: the log price within 1e-4, the price in
cents, the qualification and the reason. Needs the batch run's model to still be `latest`.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "parity"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient
    from pyspark.sql import functions as F

    from pricesuggest.clock import run_clock
    from pricesuggest.config import load_config
    from pricesuggest.delta_io import read_table
    from pricesuggest.spark import build_session
    from serving.app import ServedLog, create_app
    from serving.suggester import UploadedListing, suggester_from_conf

    conf = load_config()
    spark = build_session(conf, "service_parity")
    as_of = run_clock(spark, conf, None).as_of
    stored = read_table(spark, conf.storage.table_path("price_suggestions")).where("state = 'active'")
    batch_columns = ("suggested_price", "log_price", "qualified", "not_qualified_reason", "model_version",
                     "features_as_of")
    picked = stored.orderBy(F.rand(seed=args.seed)).limit(args.listings) \
        .select("listing_id", *[F.col(c).alias(f"batch_{c}") for c in batch_columns])
    rows = read_table(spark, conf.storage.table_path("listings")).join(picked, "listing_id") \
        .select("listing_id", "image", "title", "description", "category", "seller_id", "brand", "condition",
                *[f"batch_{c}" for c in batch_columns]).collect()
    suggester = suggester_from_conf(conf)
    with tempfile.TemporaryDirectory() as scratch:
        client = TestClient(create_app(suggester, TOKEN, conf.serving, ServedLog(Path(scratch) / "served.jsonl"),
                                       lambda: as_of, conf.scoring.max_feature_age_days))
        served = []
        for row in rows:
            listing = UploadedListing.from_listing(row)
            response = client.post("/v1/suggestions", data=listing.form_fields(),
                                   headers={"Authorization": f"Bearer {TOKEN}"},
                                   files={"photo": ("photo.png", listing.photo, "image/png")})
            served.append(response.json() if response.status_code == 200 else {"status": response.status_code})
        logged = [json.loads(line) for line in (Path(scratch) / "served.jsonl").read_text().splitlines()]
    by_request = {x["request_id"]: x for x in logged}
    log_gaps, same_cents, same_qualified, same_reason, same_model, same_day, answered = [], 0, 0, 0, 0, 0, 0
    for row, got in zip(rows, served):
        if "request_id" not in got:
            continue
        answered += 1
        log_gaps.append(abs(by_request[got["request_id"]]["log_price"] - row["batch_log_price"]))
        same_cents += got["suggested_price"] == row["batch_suggested_price"]
        same_qualified += got["qualified"] == row["batch_qualified"]
        same_reason += got["reason"] == row["batch_not_qualified_reason"]
        same_model += got["model_version"] == row["batch_model_version"]
        same_day += got["features_as_of"] == row["batch_features_as_of"].isoformat()
    report = {"listings": len(rows), "answered_200": answered, "max_abs_log_price_gap": max(log_gaps, default=None),
              "within_1e-4": sum(g <= 1e-4 for g in log_gaps), "same_price_in_cents": same_cents,
              "same_qualified": same_qualified, "same_reason": same_reason, "same_model_version": same_model,
              "same_features_day": same_day}
    print(json.dumps(report, indent=2))
    equal = all(report[k] == len(rows) for k in ("answered_200", "within_1e-4", "same_price_in_cents",
                                                    "same_qualified", "same_reason", "same_model_version",
                                                    "same_features_day"))
    print("parity holds" if equal else "PARITY BROKEN")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
