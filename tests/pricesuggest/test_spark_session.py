import pytest
from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import functions as F

from pricesuggest.config import TableConf
from pricesuggest.delta_io import current_version, read_table, table_properties, write_table
from pricesuggest.spark import DELTA_SETTINGS, session_settings


def test_session_has_delta_and_utc(spark):
    for key, value in DELTA_SETTINGS.items():
        assert spark.conf.get(key) == value
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_submitted_master_wins_over_conf(tiny_conf):
    local = session_settings(tiny_conf, submitted=False)
    submitted = session_settings(tiny_conf, submitted=True)
    assert local["spark.master"] == "local[2,4]"
    assert "spark.master" not in submitted and "spark.driver.memory" not in submitted
    assert "spark.pyspark.python" not in submitted  # a cluster's python is the cluster's business


def test_delta_round_trip_merge_and_time_travel(spark, tmp_path):
    location = str(tmp_path / "t")
    table = TableConf(path="t", key=["id"], write_mode="merge")
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    v0 = write_table(spark, first, location, table, {"run_id": "r0"}, {"origin": "test"})
    assert v0.version == 0 and v0.operation == "WRITE"
    update = spark.createDataFrame([(2, "B"), (3, "c")], "id long, v string")
    v1 = write_table(spark, update, location, table, {"run_id": "r1"}, {"origin": "test"})
    # version 1 recorded the property; the MERGE is version 2 and, the property unchanged, the last
    assert v1.operation == "MERGE" and v1.version == 2 == current_version(spark, location)
    assert sorted(map(tuple, read_table(spark, location).collect())) == [(1, "a"), (2, "B"), (3, "c")]
    assert sorted(map(tuple, read_table(spark, location, version=0).collect())) == [(1, "a"), (2, "b")]
    assert table_properties(spark, location) == {"origin": "test"}
    again = write_table(spark, update, location, table, {"run_id": "r2"}, {"origin": "test"},
                        update_condition="t.v <> s.v")
    assert read_table(spark, location).count() == 3  # MERGE by key: no duplicates
    empty = write_table(spark, update.where(F.lit(False)), location, table, {"run_id": "r3"})
    assert empty.operation == "NOOP" and empty.version == again.version


def test_a_column_the_contract_gained_is_added_and_reads_null_in_older_rows(spark, tmp_path):
    location = str(tmp_path / "grown")
    table = TableConf(path="grown", key=["id"], write_mode="merge")
    write_table(spark, spark.createDataFrame([(1, "a")], "id long, v string"), location, table, {"run_id": "r0"})
    grown = spark.createDataFrame([(2, "b", 0.5)], "id long, v string, w double")
    write_table(spark, grown, location, table, {"run_id": "r1"}, changed_only=["v", "w"])
    assert sorted(map(tuple, read_table(spark, location).collect())) == [(1, "a", None), (2, "b", 0.5)]


def test_commit_carries_run_metadata(spark, tmp_path):
    from delta.tables import DeltaTable

    location = str(tmp_path / "m")
    write_table(spark, spark.range(3), location, TableConf(path="m", write_mode="overwrite"), {"run_id": "abc"})
    meta = DeltaTable.forPath(spark, location).history(1).select("userMetadata").first()[0]
    assert '"run_id": "abc"' in meta


def test_merge_retries_a_delta_write_conflict_and_nothing_else(spark, tmp_path, monkeypatch):
    import pytest

    from pricesuggest import delta_io

    location = str(tmp_path / "t")
    table = TableConf(path="t", key=["id"], write_mode="merge")
    write_table(spark, spark.createDataFrame([(1, "a")], "id long, v string"), location, table, {"run_id": "r0"})
    real_merge, calls = delta_io._merge, []

    def merge_failing_first(failure):
        def merge(*args):
            calls.append(failure)
            if len(calls) == 1:  # raised in the JVM, converted by delta.exceptions as in a real conflict
                spark._jvm.scala.util.Failure(failure).get()
            real_merge(*args)
        return merge

    monkeypatch.setattr(delta_io.time, "sleep", lambda seconds: None)
    conflict = spark._jvm.io.delta.exceptions.ConcurrentAppendException("[DELTA_CONCURRENT_APPEND] test")
    monkeypatch.setattr(delta_io, "_merge", merge_failing_first(conflict))
    update = spark.createDataFrame([(1, "A")], "id long, v string")
    write_table(spark, update, location, table, {"run_id": "r1"}, conflict_retries=2)
    assert len(calls) == 2 and read_table(spark, location).first()["v"] == "A"

    calls.clear()
    other = spark._jvm.java.lang.IllegalStateException("not a conflict")
    monkeypatch.setattr(delta_io, "_merge", merge_failing_first(other))
    with pytest.raises(Exception, match="not a conflict"):
        write_table(spark, spark.createDataFrame([(1, "b")], "id long, v string"), location, table,
                    {"run_id": "r2"}, conflict_retries=2)
    assert len(calls) == 1  # no retry


def test_a_write_that_breaks_the_tables_contract_fails_and_commits_nothing(spark, tmp_path):
    location = str(tmp_path / "c")
    table = TableConf(path="c", key=["id"], not_null=["id", "state"], checks={"state_known": "state IN ('a', 'b')"},
                      change_data_feed=True)
    schema = "id long, state string"
    write_table(spark, spark.createDataFrame([(1, "a")], schema), location, table, {"run_id": "r0"})
    properties = DeltaTable.forPath(spark, location).detail().first()["properties"]
    assert properties["delta.enableChangeDataFeed"] == "true"
    assert {"delta.constraints.id_not_null", "delta.constraints.state_known"} <= set(properties)
    version = current_version(spark, location)
    for bad in [(2, None), (3, "z")]:  # a null state; a state outside the contract
        with pytest.raises((Py4JJavaError, PySparkException), match="CHECK constraint"):
            write_table(spark, spark.createDataFrame([bad], schema), location, table, {"run_id": "bad"})
    assert current_version(spark, location) == version and read_table(spark, location).count() == 1
    write_table(spark, spark.createDataFrame([(1, "b")], schema), location, table, {"run_id": "r1"})
    changes = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", version + 1) \
        .load(location).where("_change_type = 'update_postimage'").collect()
    assert [(r["id"], r["state"]) for r in changes] == [(1, "b")]


def test_every_table_is_addressable_by_name_and_follows_its_location(spark, tmp_path):
    from pricesuggest.catalog import init_sql
    from pricesuggest.config import load_config
    from pricesuggest.spark import build_session
    from tests.conftest import overrides_for

    for world, rows in (("one", 2), ("two", 3)):  # the same session, another warehouse: the name follows
        conf = load_config(env={}, overrides=overrides_for(tmp_path / world))
        location = conf.storage.table_path("scoring_runs")
        spark.range(rows).write.format("delta").save(location)
        assert build_session(conf, "catalog-test") is spark
        assert spark.sql("SELECT count(*) AS n FROM pricesuggest.scoring_runs").first()["n"] == rows
        assert f"LOCATION '{location}'" in init_sql(conf)
        assert "price_suggestions" not in init_sql(conf)  # not written yet: nothing to point at


def twice_at_once(work) -> list[BaseException]:
    """Run `work` in two threads started together (two writers in one JVM); what each raised."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - the caller's assertion names it
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def test_two_writers_giving_a_new_table_its_contract_at_once_both_succeed(spark, tmp_path):
    """Both see the table without its constraints; the one whose ALTER loses re-reads and goes on."""
    from pricesuggest.delta_io import ensure_contract

    location = str(tmp_path / "contracted")
    spark.createDataFrame([], "id long, v double").write.format("delta").save(location)
    table = TableConf(path="contracted", key=["id"], write_mode="merge", not_null=["id", "v"],
                      checks={"v_positive": "v > 0"}, change_data_feed=True)
    # both start from "nothing there"
    errors = twice_at_once(lambda: ensure_contract(spark, location, table, properties={}))
    assert errors == []
    properties = spark.sql(f"SHOW TBLPROPERTIES delta.`{location}`").collect()
    names = {r["key"] for r in properties}
    assert {"delta.constraints.v_positive", "delta.constraints.id_not_null", "delta.constraints.v_not_null"} <= names


def test_two_writers_creating_a_merge_table_at_once_insert_each_key_once(spark, tmp_path, monkeypatch):
    """Both see no table, both create it and give it its contract, and both write the same rows:
    the first rows go in by MERGE, so the table holds each key once (two appends held each twice)."""
    import threading

    from pricesuggest import delta_io

    location = str(tmp_path / "created_twice")
    table = TableConf(path="created_twice", key=["id"], write_mode="merge", not_null=["id", "v"],
                      checks={"v_positive": "v > 0"})
    rows = spark.createDataFrame([(1, 1.0), (2, 2.0), (3, 3.0)], "id long, v double")
    both_looked, seen, real_exists = threading.Barrier(2, timeout=120), threading.local(), delta_io.table_exists

    def exists_after_both_looked(session, path):
        answer = real_exists(session, path)
        if not getattr(seen, "looked", False):  # each writer's first look happens before either creates it
            seen.looked = True
            both_looked.wait()
        return answer

    monkeypatch.setattr(delta_io, "table_exists", exists_after_both_looked)
    errors = twice_at_once(lambda: delta_io.write_table(spark, rows, location, table, {"job": "race"}))
    assert errors == []
    written = delta_io.read_table(spark, location)
    assert sorted(r["id"] for r in written.collect()) == [1, 2, 3]
