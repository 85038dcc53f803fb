"""The bad-input table on the demo warehouse: one scoring run scores every good listing and gives
every bad one its reason (issue 14's acceptance check, at demo scale).

  .venv/bin/python bench/bad_input_on_demo.py          # after make demo; the demo is not touched

Copies the demo warehouse (`storage.warehouse_root`) to a scratch directory, appends the
bad-input table (tests/bad_listings.py: the cases the test suite runs through cleaning, the
statistics, the training set and scoring) as active listings, plus a repriced second copy of a
listing the demo scored, then runs `spark-submit jobs/score_listings.py` on the copy, as the
scheduler would, with the table's lowered photo and text limits. Prints the run's exit code and
accounting, each case's outcome against the expected one, and whether every good listing the
demo scored was scored again.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIRST_CASE_ID = 990_000_001


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.strip().splitlines()[0]).parse_args(argv)
    from pyspark.sql import functions as F

    from pricesuggest.config import load_config, resolve_root
    from pricesuggest.delta_io import read_table
    from pricesuggest.spark import build_session
    from tests.bad_listings import CASES, TEST_LIMITS, case_rows
    from tests.conftest import env_for
    from tests.listing_rows import listings_df

    conf = load_config()
    scratch = Path(tempfile.mkdtemp(prefix="bad-input-"))
    try:
        shutil.copytree(resolve_root(conf.storage.warehouse_root), scratch / "warehouse")
        env = {**os.environ, **env_for({"storage": {"warehouse_root": str(scratch / "warehouse")},
                                        "cleaning": TEST_LIMITS})}
        copy = load_config(env=env)
        spark = build_session(copy, "bad_input_on_demo")
        listings_path = copy.storage.table_path("listings")
        listings = read_table(spark, listings_path)
        before = read_table(spark, copy.storage.table_path("price_suggestions")).where("state = 'active'")
        good_ids = {r[0] for r in before.select("listing_id").collect()}
        created = listings.agg(F.max("created_at")).first()[0] - timedelta(hours=1)
        typical = listings.where("category = 'phones'").approxQuantile("list_price", [0.5], 0.01)[0]
        rows, ids = case_rows(FIRST_CASE_ID, status="active", created_at=created, list_price=typical)
        repriced = listings.where(F.col("listing_id") == min(good_ids)).first().asDict() | {"list_price": 123.45}
        rows.append(tuple(repriced[c] for c in listings.columns))
        listings_df(spark, rows, nullable=True).write.format("delta").mode("append").save(listings_path)
        spark.stop()

        command = [str(ROOT / ".venv" / "bin" / "spark-submit"), "--master", copy.spark.master, "--driver-memory", "4g",
                   "--driver-java-options", f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties",
                   str(ROOT / "jobs" / "score_listings.py"), "--examples", "0"]
        python = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}  # as the Makefile sets
        run = subprocess.run(command, env={**env, **python}, cwd=ROOT, capture_output=True, text=True)
        print(f"score_listings exited {run.returncode}")
        if run.returncode != 0:
            print(run.stderr[-3000:])
        print("\n".join(line for line in run.stdout.splitlines() if line.startswith("  rows in")))

        spark = build_session(copy, "bad_input_on_demo")
        after = {r["listing_id"]: r for r in read_table(spark, copy.storage.table_path("price_suggestions")).collect()}
        print("\n| case | expected | got |\n|---|---|---|")
        right = 0
        for case in CASES:
            row = after.get(ids[case.name])
            expected = ("scored" if case.scored else "rejected") + (f": {case.reason}" if case.reason else "")
            got = "missing" if row is None else (
                "scored" + (f": {row['list_price_flag'].split(':')[0]}" if row["list_price_flag"] else "")
                if row["state"] == "active" else f"rejected: {row['reject_reason'].split(':')[0]}")
            right += got == expected
            print(f"| {case.name} | {expected} | {got} |")
        repeated = after[min(good_ids)]
        print(f"\n{right} of {len(CASES)} cases as expected; the repriced second copy of listing {min(good_ids)}: "
              f"{repeated['state']} ({repeated['reject_reason']})")
        rescored = sum(1 for i in good_ids - {min(good_ids)} if after.get(i) and after[i]["state"] == "active")
        print(f"good listings the demo scored, scored again: {rescored:,} of {len(good_ids) - 1:,}")
        return 0 if run.returncode == 0 and right == len(CASES) and rescored == len(good_ids) - 1 else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
