"""Reading and writing the project's Delta tables, as conf/ describes them.

Every write is one Delta transaction (readers see all of it or none), carries the job's
run metadata in the commit (`userMetadata`: run id, job, config hash...) and, for tables
whose contract is `merge`, MERGEs on the table's key so a rerun is idempotent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from pricesuggest.config import TableConf

PROPERTY_PREFIX = "pricesuggest."


@dataclass(frozen=True)
class WriteResult:
    location: str
    version: int
    operation: str
    metrics: dict[str, str]


def table_exists(spark: SparkSession, location: str) -> bool:
    return DeltaTable.isDeltaTable(spark, location)


def read_table(spark: SparkSession, location: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(location)


def current_version(spark: SparkSession, location: str) -> int:
    return int(DeltaTable.forPath(spark, location).history(1).select("version").first()[0])


def table_properties(spark: SparkSession, location: str) -> dict[str, str]:
    """The table's `pricesuggest.*` properties, without the prefix."""
    detail = DeltaTable.forPath(spark, location).detail().select("properties").first()[0]
    return {k[len(PROPERTY_PREFIX):]: v for k, v in (detail or {}).items() if k.startswith(PROPERTY_PREFIX)}


def write_table(
    spark: SparkSession,
    df: DataFrame,
    location: str,
    table: TableConf,
    run_metadata: dict[str, str],
    properties: dict[str, str] | None = None,
    update_condition: str | None = None,
) -> WriteResult:
    """Write `df` as the table's contract says; returns the committed version.

    merge: insert new keys, update matched rows (only where `update_condition` holds, if
    given, so unchanged rows are not rewritten). A table that does not exist yet is created
    by the first write, with its partitioning from conf.
    """
    user_metadata = json.dumps(run_metadata, sort_keys=True)
    if not table_exists(spark, location) or table.write_mode == "overwrite":
        writer = (df.write.format("delta").mode("overwrite").option("userMetadata", user_metadata)
                  .option("overwriteSchema", "true"))
        if table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        writer.save(location)
        result = _last_commit(spark, location)
    elif table.write_mode == "append":
        df.write.format("delta").mode("append").option("userMetadata", user_metadata).save(location)
        result = _last_commit(spark, location)
    elif df.isEmpty():  # nothing new: no commit, so reruns leave the table's history alone
        result = WriteResult(location, current_version(spark, location), "NOOP", {})
    else:
        _merge(spark, df, location, table.key, update_condition, user_metadata)
        result = _last_commit(spark, location)
    _set_properties(spark, location, properties or {})
    return result


def _merge(spark, df, location, key, update_condition, user_metadata) -> None:
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
    merge = DeltaTable.forPath(spark, location).alias("t").merge(df.alias("s"), condition)
    merge = merge.whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll()
    # MERGE has no writer options: its commit metadata comes from the session conf.
    previous = spark.conf.get("spark.databricks.delta.commitInfo.userMetadata", None)
    spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", user_metadata)
    try:
        merge.execute()
    finally:
        if previous is None:
            spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
        else:
            spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", previous)


def _last_commit(spark: SparkSession, location: str) -> WriteResult:
    last = DeltaTable.forPath(spark, location).history(1).select("version", "operation", "operationMetrics").first()
    return WriteResult(location, int(last["version"]), last["operation"], dict(last["operationMetrics"] or {}))


def _set_properties(spark: SparkSession, location: str, properties: dict[str, object]) -> None:
    """Record `pricesuggest.*` table properties, in a commit made only when one changed."""
    current = table_properties(spark, location)
    changed = {k: str(v) for k, v in properties.items() if current.get(k) != str(v)}
    if changed:
        assignments = ", ".join(f"'{PROPERTY_PREFIX}{k}' = '{v}'" for k, v in sorted(changed.items()))
        spark.sql(f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES ({assignments})")
