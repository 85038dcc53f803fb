"""The generator as a Spark job: determinism across partitionings, tables, extension, bad args."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from conftest import env_for, overrides_for

from jobs import generate_marketplace
from marketplace.generate import LISTINGS_SCHEMA, TRUTH_SCHEMA, generate_listings
from marketplace.world import WorldClock
from pricesuggest.config import PROJECT_ROOT
from pricesuggest.delta_io import read_table, table_properties


def test_same_seed_same_rows_with_1_and_4_partitions(spark, tiny_conf):
    clock = WorldClock(datetime(2026, 6, 1), 15.0, datetime(2026, 6, 21))

    def rows(partitions):
        ids = spark.range(1, 121, numPartitions=partitions).withColumnRenamed("id", "listing_id")
        df = generate_listings(ids, tiny_conf.generator, clock, 40)
        return df.orderBy("listing_id").collect()

    one, four = rows(1), rows(4)
    assert len(one) == 120 and one == four


def run_job(*argv) -> int:
    return generate_marketplace.main(list(argv) + ["--no-summary"])


def test_job_writes_both_tables_with_their_schemas(spark, job_env):
    assert run_job() == 0
    listings = read_table(spark, job_env.storage.table_path("listings"))
    truth = read_table(spark, job_env.storage.table_path("listing_truth"))
    assert [(f.name, f.dataType) for f in listings.schema] == [(f.name, f.dataType) for f in LISTINGS_SCHEMA]
    assert [(f.name, f.dataType) for f in truth.schema] == [(f.name, f.dataType) for f in TRUTH_SCHEMA]
    assert listings.count() == truth.count() == 300
    assert listings.where("status <> 'sold' AND sold_price IS NOT NULL").count() == 0
    assert listings.where("status = 'active' AND closed_at IS NOT NULL").count() == 0
    props = table_properties(spark, job_env.storage.table_path("listings"))
    assert props["generator.config_sha256"] == job_env.generator.fingerprint()
    assert table_properties(spark, job_env.storage.table_path("listing_truth"))["generator.config_sha256"] \
        == job_env.generator.fingerprint()


def test_rerun_is_a_no_op_and_append_days_extends_the_same_world(spark, job_env):
    path = job_env.storage.table_path("listings")
    assert run_job() == 0
    before = read_table(spark, path)
    before_rows = {r.listing_id: r for r in before.collect()}
    from delta.tables import DeltaTable

    version = DeltaTable.forPath(spark, path).history(1).first()["version"]
    assert run_job() == 0
    assert DeltaTable.forPath(spark, path).history(1).first()["version"] == version  # nothing rewritten

    assert run_job("--append-days", "4") == 0  # 300 listings / 40 days -> 30 more
    after = {r.listing_id: r for r in read_table(spark, path).collect()}
    assert len(after) == 330 and max(after) == 330
    assert table_properties(spark, path)["generator.now"].startswith("2026-07-15")
    closed_since = [i for i, r in before_rows.items() if r.status == "active" and after[i].status != "active"]
    assert closed_since, "some listings active before the append must have closed since"
    for i, r in before_rows.items():  # the world's history is not rewritten, only moved on
        assert (after[i].title, after[i].list_price, after[i].image) == (r.title, r.list_price, r.image)
        if r.status != "active":
            assert after[i].status == r.status
    new = [r for i, r in after.items() if i > 300]
    assert min(r.created_at for r in new) >= datetime(2026, 7, 11)
    assert read_table(spark, job_env.storage.table_path("listing_truth")).count() == 330

    version = DeltaTable.forPath(spark, path).history(1).first()["version"]
    assert run_job("--until", "2026-07-15") == 0  # already there: idempotent
    assert DeltaTable.forPath(spark, path).history(1).first()["version"] == version


@pytest.mark.parametrize("argv, message", [
    (["--days", "0"], "expected a number > 0"),
    (["--start", "June"], "expected a date YYYY-MM-DD"),
    (["--append-days", "3", "--until", "2026-07-01"], "not allowed with argument"),
    (["--append-days", "3"], "extend an existing world"),
])
def test_bad_arguments_exit_2_with_a_clear_message(spark, job_env, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        generate_marketplace.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_other_world_config_is_refused_without_overwrite(spark, job_env, capsys):
    assert run_job() == 0
    with pytest.raises(SystemExit):
        run_job("--seed", "99")
    assert "another generator configuration" in capsys.readouterr().err
    assert run_job("--seed", "99", "--overwrite") == 0
    props = table_properties(spark, job_env.storage.table_path("listings"))
    assert props["generator.seed"] == "99"


@pytest.mark.slow
def test_job_runs_under_a_local_cluster_master(tmp_path):
    """Executors in separate JVMs/processes: catches code that assumes the driver's process."""
    env = {**env_for(overrides_for(tmp_path)), "PATH": f"{PROJECT_ROOT}/.venv/bin:/usr/bin:/bin",
           "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "HOME": str(tmp_path)}
    spark_submit = PROJECT_ROOT / ".venv" / "bin" / "spark-submit"
    proc = subprocess.run(
        [str(spark_submit), "--master", "local-cluster[2,1,1024]", "--driver-memory", "1g",
         "--conf", f"spark.pyspark.python={sys.executable}",
         str(PROJECT_ROOT / "jobs" / "generate_marketplace.py"), "--listings", "120", "--no-summary"],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "local-cluster" not in proc.stderr or "ERROR" not in proc.stderr
    check = subprocess.run(
        [sys.executable, "-c",
         "import pyarrow.parquet as pq, glob, sys; "
         f"files = glob.glob('{tmp_path}/warehouse/marketplace/listings/*.parquet'); "
         "print(sum(pq.read_metadata(f).num_rows for f in files))"],
        capture_output=True, text=True)
    assert int(check.stdout.strip()) == 120
