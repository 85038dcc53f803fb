"""Table maintenance policy: how long VACUUM must keep files, given the versions models pin.

A registered model records the `training_set` Delta version it trained on (its metadata's
`training_table`). VACUUM deletes files that no version younger than the retention still
needs; to keep a pinned version readable, the retention must reach back past that
version's commit. Delta also drops log entries older than `delta.logRetentionDuration` at
checkpoints, which would break time travel just the same, so that is stretched too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pricesuggest.delta_io import table_exists


@dataclass(frozen=True)
class Pin:
    table: str  # the table's location, as the model's metadata records it
    version: int
    committed_at: datetime  # the pinned version's commit time


def model_pins(spark: SparkSession, store) -> list[Pin]:
    """The training_set versions the registered models of `store` (a registry.store.ModelStore) trained on."""
    pins = []
    for version in store.versions():
        data = store.metadata(version).get("training_table") or {}
        if "table" in data and "version" in data and table_exists(spark, data["table"]):
            history = DeltaTable.forPath(spark, data["table"]).history().where(f"version = {int(data['version'])}")
            row = history.select("timestamp").first()
            if row is not None:
                pins.append(Pin(data["table"], int(data["version"]), row["timestamp"]))
    return pins


def normalise(location: str) -> str:
    return location.removeprefix("file:").rstrip("/")


def retention_hours(location: str, pins: list[Pin], now: datetime, base_hours: float, margin_hours: float) -> float:
    """VACUUM retention for one table: the base policy, or longer to keep every pinned version."""
    ages = [(now - p.committed_at).total_seconds() / 3600 for p in pins if normalise(p.table) == normalise(location)]
    return max([base_hours, *[age + margin_hours for age in ages]])


def log_retention_days(hours: float, current_days: float = 30.0) -> int | None:
    """A delta.logRetentionDuration (days, rounded up to 30) covering `hours`; None if the current one does."""
    needed = math.ceil(hours / 24 / 30) * 30
    return needed if needed > current_days else None


DELTA_MIN_RETENTION_HOURS = 168  # below this Delta refuses VACUUM unless its safety check is off


def compact_and_vacuum(spark, location: str, hours: float) -> None:
    """OPTIMIZE the table's small files into large ones, then VACUUM what no version younger than
    `hours` needs; the log's retention is stretched first so pinned versions stay readable."""
    from delta.tables import DeltaTable

    days = log_retention_days(hours)
    if days is not None:
        spark.sql(f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES "
                  f"('delta.logRetentionDuration' = 'interval {days} days')")
    table = DeltaTable.forPath(spark, location)
    table.optimize().executeCompaction()
    check = "spark.databricks.delta.retentionDurationCheck.enabled"
    spark.conf.set(check, str(hours >= DELTA_MIN_RETENTION_HOURS).lower())  # our policy, not Delta's default
    try:
        table.vacuum(hours)
    finally:
        spark.conf.unset(check)
