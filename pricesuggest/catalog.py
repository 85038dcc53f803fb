"""Every table by name: `pricesuggest.<table>` in Spark's catalog, over the Delta paths conf names.

`build_session` registers the tables that exist in every session it builds (the notebook's
included), and `make sql` opens `spark-sql` with the same statements as its init file
(`python -m pricesuggest.catalog`). The tables stay external: a registration points at the
table's location, and dropping one removes the name, never the data.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from pricesuggest.config import AppConfig, load_config
from pricesuggest.spark import session_settings

_registered: dict[tuple[int, str], str] = {}  # (session, table name) -> location, this process


def table_statements(conf: AppConfig, name: str) -> list[str]:
    """SQL that points `<database>.<name>` at the table's location (replacing a stale pointer)."""
    qualified = f"{conf.storage.catalog.database}.{name}"
    return [f"DROP TABLE IF EXISTS {qualified}",
            f"CREATE TABLE {qualified} USING DELTA LOCATION '{conf.storage.table_path(name)}'"]


def register_tables(spark: SparkSession, conf: AppConfig) -> list[str]:
    """Register every conf table whose Delta table exists; returns the names registered now."""
    from delta.tables import DeltaTable

    spark.sql(f"CREATE DATABASE IF NOT EXISTS {conf.storage.catalog.database}")
    done = []
    for name in sorted(conf.storage.tables):
        location, key = conf.storage.table_path(name), (id(spark), name)
        if _registered.get(key) == location or not DeltaTable.isDeltaTable(spark, location):
            continue
        qualified = f"{conf.storage.catalog.database}.{name}"
        if spark.catalog.tableExists(qualified) and _location(spark, qualified) == location:
            _registered[key] = location  # a shared metastore already has it
            continue
        for statement in table_statements(conf, name):
            spark.sql(statement)
        _registered[key] = location
        done.append(name)
    return done


def _location(spark: SparkSession, qualified: str) -> str:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {qualified}").where("col_name = 'Location'").collect()
    return rows[0]["data_type"].removeprefix("file:") if rows else ""


def init_sql(conf: AppConfig) -> str:
    """`make sql`'s init file: the database and every table whose Delta log exists (local paths are
    checked on disk; a URI's tables are all registered)."""
    lines = [f"CREATE DATABASE IF NOT EXISTS {conf.storage.catalog.database};"]
    for name in sorted(conf.storage.tables):
        location = conf.storage.table_path(name)
        if "://" in location or os.path.isdir(os.path.join(location, "_delta_log")):
            lines += [statement + ";" for statement in table_statements(conf, name)]
    return "\n".join(lines) + f"\nUSE {conf.storage.catalog.database};\n"


def spark_sql_arguments(conf: AppConfig, init_file: Path) -> list[str]:
    """spark-sql's arguments: the jobs' session settings, a metastore that is never a Derby file
    (the shared one from conf, else an in-memory Derby of this CLI's own), and the init file."""
    settings = {k: v for k, v in session_settings(conf, submitted=True).items() if not k.startswith("spark.pyspark")}
    if not conf.storage.catalog.metastore_uri:
        settings["spark.hadoop.javax.jdo.option.ConnectionURL"] = "jdbc:derby:memory:pricesuggest;create=true"
    return [arg for k, v in settings.items() for arg in ("--conf", f"{k}={v}")] + ["-i", str(init_file)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write the spark-sql init file that registers every table and "
                                                 "print spark-sql's arguments (make sql).")
    parser.add_argument("--init-file", type=Path, default=Path("data/catalog_init.sql"), help="init file to write")
    args = parser.parse_args(argv)
    conf = load_config()
    args.init_file.parent.mkdir(parents=True, exist_ok=True)
    args.init_file.write_text(init_sql(conf))
    print(" ".join(spark_sql_arguments(conf, args.init_file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
