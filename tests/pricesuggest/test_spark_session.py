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
    assert local["spark.master"] == "local[2]"
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
