"""Reading and writing the project's Delta tables, as conf/ describes them.

Every write is one Delta transaction (readers see all of it or none), carries the job's
run metadata in the commit (`userMetadata`: run id, job, config hash...) and, for tables
whose contract is `merge`, MERGEs on the table's key so a rerun is idempotent.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from delta.exceptions import (ConcurrentAppendException, ConcurrentDeleteDeleteException, ConcurrentDeleteReadException,
                              ConcurrentTransactionException, ConcurrentWriteException, MetadataChangedException,
                              ProtocolChangedException)
from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pricesuggest.config import TableConf

# Delta's optimistic-concurrency failures: another writer committed first, so a retry can succeed.
# Importing delta.exceptions also installs the converter that raises these instead of py4j errors.
WRITE_CONFLICTS = (ConcurrentAppendException, ConcurrentDeleteReadException, ConcurrentDeleteDeleteException,
                   ConcurrentTransactionException, ConcurrentWriteException)

# A metadata change (a constraint, the change feed) lost to a concurrent one: typically two runs
# giving a new table the same contract. Re-read and add only what is still missing.
CONTRACT_CONFLICTS = (MetadataChangedException, ProtocolChangedException, ConcurrentTransactionException)
CONSTRAINT_EXISTS = "DELTA_CONSTRAINT_ALREADY_EXISTS"  # the other writer's ADD committed before ours began

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


def _all_properties(spark: SparkSession, location: str) -> dict[str, str]:
    """Every table property (Delta's, the constraints, ours): one read of the table's details."""
    return DeltaTable.forPath(spark, location).detail().select("properties").first()[0] or {}


def _ours(properties: dict[str, str]) -> dict[str, str]:
    return {k[len(PROPERTY_PREFIX):]: v for k, v in properties.items() if k.startswith(PROPERTY_PREFIX)}


def table_properties(spark: SparkSession, location: str) -> dict[str, str]:
    """The table's `pricesuggest.*` properties, without the prefix."""
    return _ours(_all_properties(spark, location))


def write_table(
    spark: SparkSession,
    df: DataFrame,
    location: str,
    table: TableConf,
    run_metadata: dict[str, str],
    properties: dict[str, str] | None = None,
    update_condition: str | None = None,
    changed_only: list[str] | None = None,
    conflict_retries: int = 3,
) -> WriteResult:
    """Write `df` as the table's contract says; returns the committed version.

    merge: insert new keys, update matched rows (only where `update_condition` holds, if
    given). With `changed_only` (columns), source rows equal to the target on all of them
    are dropped first, so unchanged rows are neither updated nor rewritten, and a rerun with
    nothing new makes no commit at all. A MERGE that loses a race with a concurrent writer
    (Delta's optimistic concurrency) is re-run on the new snapshot up to `conflict_retries`
    times: it is an upsert by key, so a re-run never duplicates. A table that does not exist
    yet is created by the first write, with its partitioning from conf, and a table with a
    contract in conf (constraints, change feed) gets it before its first row (`ensure_contract`).
    """
    user_metadata = json.dumps(run_metadata, sort_keys=True)
    exists = table_exists(spark, location)
    # read once: a data write changes no property, so this also tells _set_properties what is there
    before = _all_properties(spark, location) if exists else {}
    if exists:
        if table.write_mode == "merge":  # new columns first: the contract may gain a CHECK that reads one
            _add_new_columns(spark, df, location)
        ensure_contract(spark, location, table, before)
    if not exists and (table.constraints() or table.change_data_feed):
        _create_empty(spark, df, location, table, user_metadata)  # the contract is in place before the first row
        ensure_contract(spark, location, table)
        exists = True  # ...and the first rows go in by the table's write mode: two runs creating a merge
        # table at once then both MERGE on its key, where two appends would have doubled every row
    if not exists or table.write_mode == "overwrite":
        _partitioned(df.write.format("delta").mode("overwrite").option("userMetadata", user_metadata)
                     .option("overwriteSchema", "true"), table).save(location)
        result = _last_commit(spark, location)
    elif table.write_mode == "append":
        df.write.format("delta").mode("append").option("userMetadata", user_metadata).save(location)
        result = _last_commit(spark, location)
    else:
        if changed_only and update_condition is None:
            update_condition = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in changed_only)
        for attempt in range(conflict_retries + 1):
            source = df if not changed_only else _changed_rows(spark, df, location, table.key, changed_only)
            if source.isEmpty():  # nothing new: no commit, so reruns leave the table's history alone
                result = WriteResult(location, current_version(spark, location), "NOOP", {})
                break
            try:
                _merge(spark, source, location, table.key, update_condition, user_metadata)
                result = _last_commit(spark, location)
                break
            except WRITE_CONFLICTS:
                if attempt == conflict_retries:
                    raise
                time.sleep(1.0 + random.random() * 2 ** attempt)  # let the other writer finish
    _set_properties(spark, location, properties or {}, _ours(before))
    return result


def _create_empty(spark: SparkSession, df: DataFrame, location: str, table: TableConf, user_metadata: str) -> None:
    """Create the table with `df`'s schema and conf's partitioning and no rows. Losing that race to
    another run creating it too is fine: the table is there, which is all the caller needs."""
    try:
        _partitioned(df.limit(0).write.format("delta").option("userMetadata", user_metadata), table).save(location)
    except (AnalysisException, *CONTRACT_CONFLICTS):
        if not table_exists(spark, location):
            raise


def _partitioned(writer, table: TableConf):
    """The writer of a table's new files, partitioned as conf says."""
    return writer.partitionBy(*table.partition_by) if table.partition_by else writer


def ensure_contract(spark: SparkSession, location: str, table: TableConf,
                    properties: dict[str, str] | None = None, conflict_retries: int = 3) -> None:
    """Add the conf's CHECK constraints and change feed that the table lacks (a commit only when one
    is missing). Adding a constraint checks every existing row, so a table that breaks its contract
    fails loudly here; afterwards Delta refuses any write that would break it, and constraints
    survive overwrites. `properties`: the table's, when the caller has just read them.

    Two runs that create the same table give it its contract at once, and each change one of
    them commits makes the other's fail. The loser re-reads and goes on with what is still
    missing; only rounds in which nothing more got in place count against `conflict_retries`."""
    properties = _all_properties(spark, location) if properties is None else properties
    stalled = 0
    while changes := _contract_changes(location, table, properties):
        try:
            for change in changes:
                spark.sql(change)
            return
        except (*CONTRACT_CONFLICTS, AnalysisException) as error:
            if not isinstance(error, CONTRACT_CONFLICTS) and error.getErrorClass() != CONSTRAINT_EXISTS:
                raise
            properties = _all_properties(spark, location)
            stalled = stalled + 1 if len(_contract_changes(location, table, properties)) >= len(changes) else 0
            if stalled > conflict_retries:
                raise
            time.sleep(random.random())  # apart from the other writer's next change


def _contract_changes(location: str, table: TableConf, properties: dict[str, str]) -> list[str]:
    """The statements that give the table what its contract has and `properties` lack."""
    changes = []
    if table.change_data_feed and properties.get("delta.enableChangeDataFeed") != "true":
        changes.append(f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')")
    changes += [f"ALTER TABLE delta.`{location}` ADD CONSTRAINT {name} CHECK ({expression})"
                for name, expression in table.constraints().items() if f"delta.constraints.{name}" not in properties]
    return changes


def _add_new_columns(spark: SparkSession, df: DataFrame, location: str) -> None:
    """A column the contract gained since the table was made is added (null in the existing rows)
    before the MERGE, which would otherwise ignore it."""
    existing = set(read_table(spark, location).columns)
    new = [f for f in df.schema.fields if f.name not in existing]
    if new:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in new)
        spark.sql(f"ALTER TABLE delta.`{location}` ADD COLUMNS ({columns})")


def _changed_rows(spark, df: DataFrame, location: str, key: list[str], columns: list[str]) -> DataFrame:
    """Rows of `df` that are new, or differ from the table's current row on any of `columns`."""
    same = None
    for column in [*key, *columns]:
        equal = F.col(f"s.`{column}`").eqNullSafe(F.col(f"t.`{column}`"))
        same = equal if same is None else same & equal
    return df.alias("s").join(read_table(spark, location).alias("t"), same, "left_anti")


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


def _set_properties(spark: SparkSession, location: str, properties: dict[str, object],
                    current: dict[str, str]) -> None:
    """Record `pricesuggest.*` table properties (`current`: those the table has), in a commit made
    only when one changed."""
    changed = {k: str(v) for k, v in properties.items() if current.get(k) != str(v)}
    if changed:
        assignments = ", ".join(f"'{PROPERTY_PREFIX}{k}' = '{v}'" for k, v in sorted(changed.items()))
        spark.sql(f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES ({assignments})")
