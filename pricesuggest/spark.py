"""The one place a SparkSession is built.

Delta Lake's extension and catalog, a UTC session clock and conf-driven settings for every
job, test and notebook. The Delta jars are not fetched here: `make setup` puts them (from its
offline cache) into the environment's Spark `jars/` directory, the way cluster images bake
them in, so a session never needs the network and `spark-submit` needs no `--packages`.
"""
from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from pricesuggest.config import AppConfig

DELTA_SETTINGS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def launched_by_spark_submit() -> bool:
    """True when a JVM was started for us by spark-submit (its --master/--conf then win)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ or SparkSession.getActiveSession() is not None


def session_settings(conf: AppConfig, submitted: bool) -> dict[str, str]:
    """All settings the builder applies; pure, so tests can check the precedence rules."""
    settings: dict[str, str] = dict(DELTA_SETTINGS)
    settings["spark.sql.session.timeZone"] = "UTC"
    settings["spark.sql.shuffle.partitions"] = str(conf.spark.shuffle_partitions)
    # Arrow batches carry PNG bytes: keep them small enough for 2-core laptops.
    settings["spark.sql.execution.arrow.pyspark.enabled"] = "true"
    settings["spark.sql.execution.arrow.maxRecordsPerBatch"] = "2000"
    settings["spark.ui.showConsoleProgress"] = "false"
    if not submitted:
        settings["spark.master"] = conf.spark.master
        settings["spark.driver.memory"] = conf.spark.driver_memory
    master = settings.get("spark.master", os.environ.get("MASTER", ""))
    if conf.spark.pyspark_python == "auto":
        if not submitted and master.startswith("local"):
            settings["spark.pyspark.python"] = sys.executable
    elif conf.spark.pyspark_python:
        settings["spark.pyspark.python"] = conf.spark.pyspark_python
    if conf.storage.catalog.metastore_uri:  # a shared metastore: table names outlive the session
        settings["spark.sql.catalogImplementation"] = "hive"
        settings["spark.hadoop.hive.metastore.uris"] = conf.storage.catalog.metastore_uri
    settings.update({k: str(v) for k, v in conf.spark.extra.items()})
    return settings


def build_session(conf: AppConfig, app_name: str) -> SparkSession:
    submitted = launched_by_spark_submit()
    settings = session_settings(conf, submitted)
    if "spark.pyspark.python" in settings:
        # PySpark 3.5 takes the workers' interpreter from this variable, not from the conf.
        os.environ.setdefault("PYSPARK_PYTHON", settings["spark.pyspark.python"])
    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if conf.storage.catalog.metastore_uri:
        builder = builder.enableHiveSupport()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    from pricesuggest.catalog import register_tables  # the catalog builds on this module's settings

    register_tables(spark, conf)
    return spark
