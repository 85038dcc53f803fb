"""Table maintenance: VACUUM keeps what registered models pin, and only that, beyond the policy."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import torch

from jobs import maintain_tables
from pricesuggest.delta_io import read_table
from pricesuggest.maintenance import Pin, log_retention_days, retention_hours
from registry.store import ModelStore

NOW = datetime(2026, 9, 1, 12)


def test_retention_stretches_only_for_pins_of_that_table():
    pins = [Pin("file:/w/training_set", 3, NOW - timedelta(hours=500)), Pin("/w/other", 1, NOW - timedelta(hours=900))]
    assert retention_hours("/w/training_set/", pins, NOW, 168, 24) == pytest.approx(524)
    assert retention_hours("/w/price_suggestions", pins, NOW, 168, 24) == 168
    assert log_retention_days(524) is None and log_retention_days(24 * 45) == 60


def write_versions(spark, location: str, n: int) -> None:
    for i in range(n):
        spark.range(10).selectExpr(f"id + {i * 100} AS id").write.format("delta").mode("overwrite").save(location)


def test_vacuum_keeps_a_pinned_version_readable_and_drops_unpinned_history(spark, job_env, monkeypatch):
    conf = job_env
    pinned, unpinned = conf.storage.table_path("training_set"), conf.storage.table_path("scoring_runs")
    write_versions(spark, pinned, 3)
    write_versions(spark, unpinned, 3)
    ModelStore(conf.storage.model_store).register("v1", {"state_dict": {"w": torch.zeros(1)}},
                                                   {"training_table": {"table": pinned, "version": 0}, "validation": {}})
    monkeypatch.setenv("PRICESUGGEST__maintenance__retention_hours", "0")
    monkeypatch.setenv("PRICESUGGEST__maintenance__pinned_margin_hours", "1")
    assert maintain_tables.main(["--tables", "training_set", "scoring_runs", "price_suggestions"]) == 0
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    assert sorted(r["id"] for r in read_table(spark, pinned, version=0).collect()) == list(range(10))
    with pytest.raises(Exception, match="(?i)not exist|FileNotFound|FAILED_READ_FILE"):
        read_table(spark, unpinned, version=0).collect()  # its files were vacuumed
    assert read_table(spark, unpinned).count() == 10  # the current version is intact


def test_unknown_table_is_a_usage_error(job_env, capsys):
    with pytest.raises(SystemExit):
        maintain_tables.main(["--tables", "nope"])
    assert "no table 'nope'" in capsys.readouterr().err
