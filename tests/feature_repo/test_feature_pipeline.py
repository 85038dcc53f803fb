"""generate -> stats -> Feast -> training set, as jobs, on a tiny world."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from feature_repo.store import MissingFeatureService, feast_on, historical_features, open_store, repo_objects
from jobs import build_training_set, compute_price_stats, generate_marketplace, materialize_features
from pricesuggest.config import PROJECT_ROOT, load_config, resolve_root
from pricesuggest.delta_io import read_table, table_properties, write_table
from stats.price_stats import price_stats, snapshot_dates
from tests.bad_listings import CASES, TEST_LIMITS, case_rows
from tests.conftest import env_for
from tests.listing_rows import listing, listings_df

AS_OF = "2026-07-11"  # the tiny world's last day (start 2026-06-01 + 40 days)
FIRST_CASE_ID = 800001


def run_stats_pipeline(conf):
    assert generate_marketplace.main(["--no-summary"]) == 0
    assert compute_price_stats.main([]) == 0
    return conf


@pytest.fixture(scope="module")
def pipeline(spark, module_job_env):
    """One tiny world through every job, shared by the tests that only read it; the bad-input
    table (tests/bad_listings.py, as closed listings) is appended to it before the statistics."""
    conf = module_job_env
    assert generate_marketplace.main(["--no-summary"]) == 0
    listings_path = conf.storage.table_path("listings")
    phones = read_table(spark, listings_path).where("category = 'phones' AND status = 'sold'")
    typical = phones.approxQuantile("list_price", [0.5], 0.01)[0]  # the fences' middle: inside them
    rows, ids = case_rows(FIRST_CASE_ID, list_price=typical, sold_price=typical,
                          created_at=datetime(2026, 7, 1), closed_at=datetime(2026, 7, 3))
    listings_df(spark, rows, nullable=True).write.format("delta").mode("append").save(listings_path)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env_for({"cleaning": TEST_LIMITS}).items():
            patch.setenv(key, value)
        assert compute_price_stats.main([]) == 0
        assert materialize_features.main([]) == 0
        assert build_training_set.main([]) == 0
        yield conf, ids


@pytest.fixture()
def own_pipeline(spark, job_env):
    """A world of the test's own, for tests that change it."""
    return run_stats_pipeline(job_env)


def files_per_partition(stats) -> int:
    """The most Parquet files any snapshot_date partition of price_stats holds."""
    files = stats.select("snapshot_date", F.input_file_name().alias("file")).distinct()
    return files.groupBy("snapshot_date").count().agg(F.max("count")).first()[0]


def version(spark, path):
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def test_stats_job_accounts_for_every_row_and_is_idempotent(spark, own_pipeline):
    conf = own_pipeline
    stats_path = conf.storage.table_path("price_stats")
    stats = read_table(spark, stats_path)
    assert stats.agg(F.max("snapshot_date")).first()[0] == date.fromisoformat(AS_OF)
    assert stats.groupBy("snapshot_date", "level", "key").count().where("count > 1").count() == 0
    assert files_per_partition(stats) == 1  # not one per seller partition

    listings = read_table(spark, conf.storage.table_path("listings"))
    rejected = read_table(spark, conf.storage.table_path("listings_rejected"))
    assert rejected.count() > 0  # the generator's ~6 % of bad rows
    assert set(r.reject_reason for r in rejected.collect()) <= {
        "missing_image", "undecodable_image", "empty_title", "price_placeholder", "list_price_outlier",
        "sold_price_outlier"}  # what the generator breaks (tests/bad_listings.py has the rest)
    assert rejected.join(listings, "listing_id").count() == rejected.count()

    before = {(r.snapshot_date, r.level, r.key): r for r in stats.collect()}
    v = version(spark, stats_path)
    assert compute_price_stats.main([]) == 0  # scheduled rerun: nothing new
    assert version(spark, stats_path) == v
    assert compute_price_stats.main(["--from", "2026-06-10", "--to", AS_OF]) == 0  # backfill over existing days
    after = {(r.snapshot_date, r.level, r.key): r for r in read_table(spark, stats_path).collect()}
    assert after == before  # same keys, same values, no duplicates
    assert files_per_partition(read_table(spark, stats_path)) <= 2


def test_incremental_run_adds_only_new_snapshots(spark, own_pipeline):
    stats_path = own_pipeline.storage.table_path("price_stats")
    assert generate_marketplace.main(["--append-days", "2", "--no-summary"]) == 0
    old = read_table(spark, stats_path).where(f"snapshot_date <= '{AS_OF}'").collect()
    assert compute_price_stats.main([]) == 0
    stats = read_table(spark, stats_path)
    assert stats.agg(F.max("snapshot_date")).first()[0] == date(2026, 7, 13)
    assert sorted(stats.where(f"snapshot_date <= '{AS_OF}'").collect()) == sorted(old)
    last = DeltaTable.forPath(spark, stats_path).history(1).first()
    assert last["operation"] == "MERGE" and last["operationMetrics"]["numTargetRowsUpdated"] == "0"


def test_to_after_as_of_is_refused(spark, pipeline, capsys):
    with pytest.raises(SystemExit):
        compute_price_stats.main(["--to", "2026-07-30"])
    assert "would see the future" in capsys.readouterr().err


def test_online_store_matches_offline_latest_snapshot(spark, pipeline):
    conf, _ = pipeline
    assert materialize_features.main([]) == 0  # rerun for the same as-of: nothing new, no error
    latest = read_table(spark, conf.storage.table_path("price_stats")).where(f"snapshot_date = '{AS_OF}'")
    seller_row = latest.where("level = 'seller' AND sold_q2 IS NOT NULL").orderBy(F.desc("sold_count")).first()
    category_row = latest.where("level = 'category'").orderBy(F.desc("sold_count")).first()
    store = open_store(conf)
    online = store.get_online_features(
        features=store.get_feature_service(conf.feast.feature_service),
        entity_rows=[{"seller_id": int(seller_row.key), "category": category_row.key, "platform": "all"}],
        full_feature_names=True).to_dict()
    for view, row in (("seller_price_stats", seller_row), ("category_price_stats", category_row)):
        for stat in ("sold_count", "sold_q1", "sold_q2", "sold_q3", "sold_mean", "unsold_count", "unsold_q2"):
            assert online[f"{view}__{stat}"][0] == pytest.approx(row[stat]), (view, stat)


def test_the_bad_input_table_is_kept_out_of_the_statistics_and_the_training_set(spark, pipeline):
    conf, ids = pipeline
    training = {r.listing_id for r in read_table(spark, conf.storage.table_path("training_set")).collect()}
    quarantined = {r.listing_id: r.reject_reason for r in read_table(
        spark, conf.storage.table_path("listings_rejected")).where(F.col("listing_id") >= FIRST_CASE_ID).collect()}
    for case in CASES:
        if case.reason is None:  # odd but usable: a new seller, an unknown category, any photo format
            assert ids[case.name] in training and ids[case.name] not in quarantined, case.name
        else:  # training drops every flagged row, price flags included: no bad row reaches a quartile
            assert ids[case.name] not in training and quarantined[ids[case.name]] == case.reason, case.name
    stats = read_table(spark, conf.storage.table_path("price_stats"))
    assert stats.where("level = 'seller' AND key = '987654'").count() > 0  # the new seller's sale counts
    assert stats.where("level = 'category' AND key = 'spaceships'").count() > 0


def test_training_set_rows_splits_and_versions(spark, pipeline):
    conf, _ = pipeline
    path = conf.storage.table_path("training_set")
    table = read_table(spark, path)
    rows = table.collect()
    assert {r.status for r in rows} == {"sold", "unsold"}
    assert all((r.label_sold == 1) == (r.status == "sold") for r in rows)
    assert all(r.log_sold_price is None or abs(r.log_sold_price) < 20 for r in rows)
    rejected_ids = {r.listing_id for r in read_table(spark, conf.storage.table_path("listings_rejected")).collect()}
    assert not rejected_ids & {r.listing_id for r in rows}
    props = table_properties(spark, path)
    assert props["listings_version"] == str(version(spark, conf.storage.table_path("listings")))
    assert props["feature_service"] == "price_model_v1"
    splits = {r.listing_id: r.split for r in rows}
    assert set(splits.values()) == {"train", "validation", "test"}
    built = version(spark, path)
    assert build_training_set.main([]) == 0  # same inputs and settings: up to date, no new version
    assert version(spark, path) == built
    assert build_training_set.main(["--force"]) == 0  # rebuild: same split for every listing
    assert version(spark, path) > built  # a new overwrite (and its properties) committed
    assert {r.listing_id: r.split for r in read_table(spark, path).collect()} == splits
    assert read_table(spark, path).count() == len(rows)
    # cold start: sellers without enough history get nulls, and the rows are still there
    assert table.where("seller_price_stats__sold_q2 IS NULL").count() > 0


def test_point_in_time_features_ignore_later_snapshots(spark, tmp_path):
    """Seller 5 sold at 100 before listing 10 was created and at 1000 after: listing 10 sees 100 only."""
    conf = load_config(env={}, overrides={
        "storage": {"warehouse_root": str(tmp_path / "wh")},
        "feast": {"repo_dir": str(tmp_path / "feast"), "registry": str(tmp_path / "feast/registry.db"),
                  "online_store": {"type": "sqlite", "path": str(tmp_path / "feast/online.db")}}})
    rows = [listing(1, seller_id=5, sold_price=100.0, list_price=120, closed_at=datetime(2026, 6, 2)),
            listing(2, seller_id=5, sold_price=1000.0, list_price=1200, closed_at=datetime(2026, 6, 10)),
            listing(10, seller_id=5, created_at=datetime(2026, 6, 5, 12), closed_at=datetime(2026, 6, 20))]
    stats = price_stats(listings_df(spark, rows), snapshot_dates(spark, date(2026, 6, 3), date(2026, 6, 20)),
                        90, 10000, 1, 4)
    stats_path = conf.storage.table_path("price_stats")
    write_table(spark, stats, stats_path, conf.storage.table("price_stats"), {"run_id": "pit"})
    later = read_table(spark, stats_path).where("level = 'seller' AND snapshot_date = '2026-06-11'").first()
    assert later.sold_mean == 550.0  # a later snapshot exists that would change the answer

    store = open_store(conf)
    entity = spark.createDataFrame([(10, 5, "phones", "all", datetime(2026, 6, 5, 12))],
                                   "listing_id long, seller_id long, category string, platform string, "
                                   "event_timestamp timestamp")
    with feast_on(spark):
        store.apply(repo_objects(conf))
        got = store.get_historical_features(entity_df=entity, features=store.get_feature_service("price_model_v1"),
                                            full_feature_names=True).to_spark_df().first()
    assert spark.conf.get("spark.sql.parser.quotedRegexColumnNames") == "false"  # Feast's setting undone
    assert got["seller_price_stats__sold_mean"] == 100.0
    assert got["seller_price_stats__sold_count"] == 1
    assert got["platform_price_stats__sold_mean"] == 100.0


def test_reading_features_never_writes_the_registry(spark, tmp_path):
    """Only materialize_features applies the repo: a read before it fails and says so."""
    conf = load_config(env={}, overrides={
        "feast": {"repo_dir": str(tmp_path / "feast"), "registry": str(tmp_path / "feast/registry.db"),
                  "online_store": {"type": "sqlite", "path": str(tmp_path / "feast/online.db")}}})
    entity = spark.createDataFrame([], "listing_id long, seller_id long, category string, platform string, "
                                       "event_timestamp timestamp")
    with pytest.raises(MissingFeatureService, match="materialize_features"):
        historical_features(spark, conf, entity)
    assert not open_store(conf).list_feature_views()  # the read registered nothing


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="make setup installs redis-server")
def test_redis_online_store_materialize_and_read(spark, pipeline, tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        monkeypatch.setenv("PRICESUGGEST__feast__online_store__type", "redis")
        monkeypatch.setenv("PRICESUGGEST__feast__online_store__connection_string", f"127.0.0.1:{port}")
        monkeypatch.setenv("PRICESUGGEST__feast__registry", str(tmp_path / "redis-registry.db"))
        # its own feature_store.yaml: the module's (SQLite) one stays as the later CLI tests need it
        monkeypatch.setenv("PRICESUGGEST__feast__repo_dir", str(tmp_path / "redis-repo"))
        assert materialize_features.main([]) == 0
        conf = load_config()
        assert conf.feast.online_store.type == "redis"
        latest = read_table(spark, conf.storage.table_path("price_stats")) \
            .where(f"snapshot_date = '{AS_OF}' AND level = 'category'").orderBy(F.desc("sold_count")).first()
        store = open_store(conf)
        online = store.get_online_features(features=["category_price_stats:sold_q2", "category_price_stats:sold_count"],
                                           entity_rows=[{"category": latest.key}]).to_dict()
        assert online["sold_q2"][0] == pytest.approx(latest.sold_q2)
        assert online["sold_count"][0] == latest.sold_count
    finally:
        server.terminate()
        server.wait(timeout=10)


def feast_cli(conf, *argv: str) -> list[str]:
    """The `feast` CLI on the committed repo, with this module's feature_store.yaml (its conf: the
    PRICESUGGEST__ environment the repo's objects are built from too)."""
    return [str(PROJECT_ROOT / ".venv" / "bin" / "feast"), "-c", str(PROJECT_ROOT / "feature_repo"),
            "-f", str(Path(resolve_root(conf.feast.repo_dir)) / "feature_store.yaml"), *argv]


def test_the_feast_cli_plans_no_change_after_the_jobs(spark, pipeline):
    conf, _ = pipeline
    plan = subprocess.run(feast_cli(conf, "plan"), capture_output=True, text=True, timeout=600, env=os.environ)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    assert "No changes to registry" in plan.stdout and "No changes to infrastructure" in plan.stdout, plan.stdout


def test_feast_serve_answers_the_feature_service_as_the_sdk_does(spark, pipeline, tmp_path):
    """`feast serve` on the committed repo: its /get-online-features equals the SDK's online read."""
    conf, _ = pipeline
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "feast-serve.log"
    server = subprocess.Popen(feast_cli(conf, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                        "--no-access-log"), env=os.environ, stdout=log.open("w"),
                              stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        seller = read_table(spark, conf.storage.table_path("price_stats")) \
            .where(f"snapshot_date = '{AS_OF}' AND level = 'seller'").orderBy(F.desc("sold_count")).first()
        entities = {"seller_id": [int(seller.key)], "category": ["phones"], "platform": ["all"]}
        request = json.dumps({"feature_service": conf.feast.feature_service, "entities": entities,
                              "full_feature_names": True}).encode()
        deadline, answer = time.monotonic() + 180, None
        while answer is None:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(urllib.request.Request(
                        f"http://127.0.0.1:{port}/get-online-features", data=request,
                        headers={"Content-Type": "application/json"}), timeout=30) as response:
                    answer = json.loads(response.read())
            except urllib.error.HTTPError as error:
                raise AssertionError(f"{error.code}: {error.read()[:500]!r}\n{log.read_text()[-3000:]}") from None
            except (ConnectionError, urllib.error.URLError):
                time.sleep(1)
        served = dict(zip(answer["metadata"]["feature_names"], (r["values"][0] for r in answer["results"])))
        store = open_store(conf)
        sdk = store.get_online_features(features=store.get_feature_service(conf.feast.feature_service),
                                        entity_rows=[{k: v[0] for k, v in entities.items()}],
                                        full_feature_names=True).to_dict()
        assert served["seller_price_stats__sold_q2"] == pytest.approx(sdk["seller_price_stats__sold_q2"][0])
        assert served["seller_price_stats__sold_count"] == sdk["seller_price_stats__sold_count"][0] > 0
    finally:
        server.terminate()
        server.wait(timeout=30)
