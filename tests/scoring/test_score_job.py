"""Batch scoring end to end on a tiny world: outcomes, accounting, idempotence, closing, staleness."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from feature_repo.store import feast_on, open_store
from jobs import materialize_features, score_listings
from model.qualification import REASON_UNKNOWN_CATEGORY
from pricesuggest.config import PROJECT_ROOT
from pricesuggest.delta_io import current_version, read_table
from pricesuggest.faults import CRASH_WHILE_WRITING, FAULT_ENV
from scoring.transforms import SUGGESTION_COLUMNS, active_listings, scoring_entities
from tests.listing_rows import listing, listings_df, png
from tests.pipeline_steps import generate_and_train

BAD_IDS = {"unknown_category": 900001, "new_seller": 900002, "empty_description": 900003, "missing_image": 900004,
           "corrupt_image": 900005, "absurd_price": 900006, "empty_title": 900007}


@pytest.fixture(scope="module")
def scored(spark, module_job_env):
    """A tiny world with a trained model, a few hand-made bad active listings, and one scoring run."""
    conf = module_job_env
    with pytest.MonkeyPatch.context() as patch:
        generate_and_train(patch, num_proc=1, PRICESUGGEST__training__train__epochs="1")
    listings_path = conf.storage.table_path("listings")
    last = read_table(spark, listings_path).agg(F.max("created_at")).first()[0]
    created = last - timedelta(hours=1)  # active at the default as-of (the day after the newest event)
    good = dict(status="active", created_at=created, list_price=150.0)
    bad = [listing(BAD_IDS["unknown_category"], category="spaceships", **good),
           listing(BAD_IDS["new_seller"], seller_id=987654, **good),
           listing(BAD_IDS["empty_description"], description="", **good),
           listing(BAD_IDS["missing_image"], image=None, **good),
           listing(BAD_IDS["corrupt_image"], image=png()[:20], **good),
           listing(BAD_IDS["absurd_price"], **dict(good, list_price=88888888.0)),
           listing(BAD_IDS["empty_title"], title=" ", **good)]
    listings_df(spark, bad).write.format("delta").mode("append").save(listings_path)
    before = read_table(spark, listings_path)
    as_of = (before.agg(F.greatest(F.max("created_at"), F.max("closed_at"))).first()[0] + timedelta(days=1)).date()
    assert score_listings.main(["--examples", "0"]) == 0
    yield conf, as_of


def suggestions(spark, conf):
    return read_table(spark, conf.storage.table_path("price_suggestions"))


def last_run(spark, conf):
    return read_table(spark, conf.storage.table_path("scoring_runs")).orderBy(F.desc("scored_at")).first()


def test_every_active_listing_gets_exactly_one_row_and_the_accounting_holds(spark, scored):
    conf, as_of = scored
    table = suggestions(spark, conf)
    assert table.columns == SUGGESTION_COLUMNS
    listings = read_table(spark, conf.storage.table_path("listings"))
    active = active_listings(listings, as_of).select("listing_id")
    assert table.count() == table.select("listing_id").distinct().count() == active.count()
    assert table.join(active, "listing_id", "left_anti").count() == 0
    run = last_run(spark, conf)
    assert run["status"] == "succeeded" and run["rows_in"] == run["scored"] + run["rejected"] == active.count()
    assert run["scored"] == table.where("state = 'active'").count()
    scored_rows = table.where("state = 'active'")
    assert scored_rows.where("suggested_price IS NULL OR price_low > price_high OR model_version IS NULL").count() == 0
    assert scored_rows.where("qualified AND not_qualified_reason IS NOT NULL").count() == 0
    assert scored_rows.where("NOT qualified AND not_qualified_reason IS NULL").count() == 0


def test_bad_inputs_each_get_their_defined_outcome(spark, scored):
    conf, _ = scored
    rows = {r["listing_id"]: r for r in suggestions(spark, conf).where(
        F.col("listing_id").isin(list(BAD_IDS.values()))).collect()}
    assert set(rows) == set(BAD_IDS.values())  # nobody dropped
    for name in ("missing_image", "corrupt_image", "empty_title"):
        row = rows[BAD_IDS[name]]
        assert row["state"] == "rejected" and row["suggested_price"] is None and row["reject_reason"]
    assert rows[BAD_IDS["missing_image"]]["reject_reason"].startswith("missing_image")
    assert rows[BAD_IDS["corrupt_image"]]["reject_reason"].startswith("undecodable_image")
    unknown = rows[BAD_IDS["unknown_category"]]
    assert unknown["state"] == "active" and not unknown["qualified"]
    assert unknown["not_qualified_reason"] == REASON_UNKNOWN_CATEGORY
    absurd = rows[BAD_IDS["absurd_price"]]
    assert absurd["state"] == "active" and absurd["suggested_price"] < 1e6  # scored, and the price is flagged
    assert absurd["list_price_flag"].startswith("list_price_outlier")
    for name in ("new_seller", "empty_description"):
        assert rows[BAD_IDS[name]]["state"] == "active" and rows[BAD_IDS[name]]["suggested_price"] > 0
    quarantine = read_table(spark, conf.storage.table_path("listings_rejected")).where(
        F.col("rejected_by") == "score_listings")
    assert {r["listing_id"] for r in quarantine.collect()} >= {BAD_IDS[n] for n in
                                                               ("missing_image", "corrupt_image", "empty_title")}


def test_rerun_changes_nothing_and_commits_nothing(spark, scored):
    conf, _ = scored
    path = conf.storage.table_path("price_suggestions")
    version, before = current_version(spark, path), sorted(suggestions(spark, conf).collect())
    assert score_listings.main(["--examples", "0"]) == 0
    assert current_version(spark, path) == version
    assert sorted(suggestions(spark, conf).collect()) == before


def test_dry_run_writes_nothing_and_unknown_model_exits_5(spark, scored):
    conf, _ = scored
    runs = read_table(spark, conf.storage.table_path("scoring_runs")).count()
    version = current_version(spark, conf.storage.table_path("price_suggestions"))
    assert score_listings.main(["--dry-run", "--examples", "0"]) == 0
    assert read_table(spark, conf.storage.table_path("scoring_runs")).count() == runs
    assert current_version(spark, conf.storage.table_path("price_suggestions")) == version
    assert score_listings.main(["--model-version", "nope"]) == score_listings.EXIT_NO_MODEL


def test_stale_features_are_refused_unless_allowed(spark, scored):
    conf, as_of = scored
    later = (as_of + timedelta(days=conf.scoring.max_feature_age_days + 3)).isoformat()
    assert score_listings.main(["--as-of", later]) == score_listings.EXIT_STALE
    assert score_listings.main(["--as-of", later, "--allow-stale", "--dry-run", "--examples", "0"]) == 0


def test_subset_run_scores_only_its_ids_and_closes_nothing(spark, scored):
    conf, _ = scored
    ids = [BAD_IDS["new_seller"], BAD_IDS["missing_image"]]
    before = suggestions(spark, conf).where("state = 'closed'").count()
    assert score_listings.main(["--listing-ids", ",".join(map(str, ids)), "--dry-run", "--examples", "0"]) == 0
    assert score_listings.main(["--listing-ids", ",".join(map(str, ids)), "--examples", "0"]) == 0
    run = last_run(spark, conf)
    assert run["subset"] and run["rows_in"] == 2 and run["scored"] == 1 and run["rejected"] == 1
    assert suggestions(spark, conf).where("state = 'closed'").count() == before


def test_listings_closed_since_an_earlier_run_are_marked_closed(spark, scored):
    conf, as_of = scored
    earlier = as_of - timedelta(days=1)
    assert score_listings.main(["--as-of", earlier.isoformat(), "--examples", "0"]) == 0
    open_then = {r["listing_id"] for r in suggestions(spark, conf).where("state <> 'closed'").collect()}
    assert score_listings.main(["--examples", "0"]) == 0
    table = suggestions(spark, conf)
    closed = table.where("state = 'closed'")
    listings = read_table(spark, conf.storage.table_path("listings"))
    closed_ids = {r["listing_id"] for r in closed.collect()}
    assert closed_ids and closed_ids <= open_then
    # each of them did close (sold or expired) between the two as-of dates, and keeps its last suggestion
    statuses = listings.where(F.col("listing_id").isin(list(closed_ids))).select("status", "closed_at").collect()
    assert all(s["status"] != "active" and s["closed_at"] < datetime.combine(as_of, datetime.min.time())
               for s in statuses)
    assert closed.where(F.col("closed_as_of") != F.lit(as_of)).count() == 0
    assert closed.where("suggested_price IS NULL AND reject_reason IS NULL").count() == 0


def test_online_store_serves_the_values_batch_scoring_read_offline(spark, scored):
    """Batch uses Feast's offline store (a point-in-time join for every listing in one Spark
    job); a request-time service would read the online store. After materializing as of the
    same day, both give the same statistics."""
    conf, as_of = scored
    assert materialize_features.main(["--as-of", as_of.isoformat()]) == 0
    store = open_store(conf)
    service = store.get_feature_service(conf.feast.feature_service)
    listings = read_table(spark, conf.storage.table_path("listings")).where("status = 'active'").limit(5)
    with feast_on(spark):
        offline = store.get_historical_features(entity_df=scoring_entities(listings, as_of), features=service,
                                                full_feature_names=True).to_spark_df().toPandas()
        entity_rows = [{"seller_id": int(r.seller_id), "category": r.category, "platform": r.platform}
                       for r in offline.itertuples()]
        online = store.get_online_features(features=service, entity_rows=entity_rows,
                                           full_feature_names=True).to_df()
    columns = [c for c in offline.columns if "__" in c]
    left = offline[columns].astype(float).reset_index(drop=True)
    right = online[columns].astype(float).reset_index(drop=True)
    assert ((left - right).abs().fillna(0) < 1e-6).all().all() and (left.isna() == right.isna()).all().all()


def spark_submit(*argv, extra_env=None) -> subprocess.Popen:
    """score_listings as a scheduler runs it: its own driver JVM (env: this module's warehouse)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, **(extra_env or {})}
    command = [str(PROJECT_ROOT / ".venv" / "bin" / "spark-submit"), "--driver-memory", "1g", "--driver-java-options",
               f"-Dlog4j2.configurationFile=file:{PROJECT_ROOT}/conf/log4j2.properties",
               str(PROJECT_ROOT / "jobs" / "score_listings.py"), "--examples", "0", *argv]
    return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def forget_cached_delta_logs(spark) -> None:
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


def content(spark, conf) -> list:
    """The table's rows without the run's own stamps (which differ between runs by design)."""
    return sorted(suggestions(spark, conf).drop("scored_at", "run_id").collect())


@pytest.mark.slow
def test_a_crash_mid_write_shows_nothing_and_a_rerun_ends_as_an_uninterrupted_run(spark, scored):
    conf, _ = scored
    path = Path(conf.storage.table_path("price_suggestions"))
    shutil.rmtree(path)
    crashed = spark_submit(extra_env={FAULT_ENV: CRASH_WHILE_WRITING})
    output = crashed.communicate(timeout=900)[0]
    assert crashed.returncode not in (0, None), output[-3000:]
    assert list(path.rglob("*.parquet")), "the crash came before any output file was written"
    forget_cached_delta_logs(spark)  # this session cached the table's log before it was removed
    assert not list((path / "_delta_log").glob("*.json"))
    assert not DeltaTable.isDeltaTable(spark, str(path))  # files on disk, but no committed version: nothing visible
    assert score_listings.main(["--examples", "0"]) == 0
    recovered = content(spark, conf)
    shutil.rmtree(path)
    forget_cached_delta_logs(spark)
    assert score_listings.main(["--examples", "0"]) == 0
    assert content(spark, conf) == recovered


@pytest.mark.slow
def test_two_concurrent_runs_neither_corrupt_nor_duplicate(spark, scored):
    conf, as_of = scored
    assert score_listings.main(["--as-of", (as_of - timedelta(days=2)).isoformat(), "--examples", "0"]) == 0
    runs = [spark_submit(), spark_submit()]  # both see the same snapshot and both have changes to MERGE
    results = [(run.communicate(timeout=900)[0], run.returncode) for run in runs]
    forget_cached_delta_logs(spark)
    for output, code in results:  # each either committed (possibly after retrying) or failed cleanly
        assert code in (0, score_listings.EXIT_CONFLICT), output[-3000:]
    assert any(code == 0 for _, code in results)
    table = suggestions(spark, conf)
    assert table.count() == table.select("listing_id").distinct().count()
    version = current_version(spark, conf.storage.table_path("price_suggestions"))
    assert score_listings.main(["--examples", "0"]) == 0  # converged: a third run has nothing to change
    assert current_version(spark, conf.storage.table_path("price_suggestions")) == version


def test_the_outputs_notebook_runs_and_draws_its_plots(scored):
    import nbformat
    from nbclient import NotebookClient

    conf, _ = scored
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "price_suggestions.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    reports = Path(conf.storage.reports_dir)
    assert (reports / "qualified_share_by_category.png").stat().st_size > 0
    assert (reports / "suggested_vs_actual.png").stat().st_size > 0


@pytest.mark.slow
def test_refresh_adds_a_day_and_scores_it_and_a_rerun_changes_nothing(spark, scored):
    conf, as_of = scored
    # the generator owns `listings` (it checks every row is its own): take the hand-made rows out first
    DeltaTable.forPath(spark, conf.storage.table_path("listings")).delete(F.col("listing_id").isin(list(BAD_IDS.values())))
    until = (as_of + timedelta(days=1)).isoformat()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    submit = f"{PROJECT_ROOT}/.venv/bin/spark-submit --driver-memory 1g"
    command = [sys.executable, str(PROJECT_ROOT / "jobs" / "refresh.py"), "--until", until, "--spark-submit", submit]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    forget_cached_delta_logs(spark)
    run = last_run(spark, conf)
    assert run["status"] == "succeeded" and run["as_of"].isoformat() == until  # the new day was scored
    version = current_version(spark, conf.storage.table_path("price_suggestions"))
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    forget_cached_delta_logs(spark)
    assert current_version(spark, conf.storage.table_path("price_suggestions")) == version
