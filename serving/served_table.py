"""The `served_suggestions` table: every suggestion the service gave, for audit and for measuring
served suggestions against outcomes later (jobs/load_served_suggestions.py).

The service appends one JSON line per suggestion to `serving.log_path` (serving/app.py
`ServedLog`). A load renames the log first (the service's next append starts a new file), parses
the renamed files with a fixed schema, MERGEs them on request_id and deletes them only after the
commit: a load that crashes midway leaves its files to the next load, and the MERGE makes loading
a line twice harmless. A line that does not parse is counted and kept aside, never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pricesuggest.config import AppConfig, resolve_root
from pricesuggest.delta_io import WriteResult, write_table

SERVED_SCHEMA = T.StructType([
    T.StructField("request_id", T.StringType()),
    T.StructField("served_at", T.TimestampType()),
    T.StructField("photo_sha256", T.StringType()),
    T.StructField("title", T.StringType()),
    T.StructField("description", T.StringType()),
    T.StructField("category", T.StringType()),
    T.StructField("seller_id", T.LongType()),
    T.StructField("brand", T.StringType()),
    T.StructField("condition", T.StringType()),
    T.StructField("suggested_price", T.DoubleType()),
    T.StructField("price_low", T.DoubleType()),
    T.StructField("price_high", T.DoubleType()),
    T.StructField("log_price", T.DoubleType()),
    T.StructField("qualified", T.BooleanType()),
    T.StructField("qualification_score", T.DoubleType()),
    T.StructField("not_qualified_reason", T.StringType()),
    T.StructField("model_version", T.StringType()),
    T.StructField("features_as_of", T.DateType()),
    T.StructField("latency_ms", T.DoubleType()),
])
CORRUPT = "_corrupt_record"


def claim_logs(log_path: Path, run_id: str) -> list[Path]:
    """Rename the live log out of the service's way, and return every claimed file not yet loaded
    (this run's and any an earlier, crashed load left)."""
    if log_path.exists():
        log_path.rename(log_path.with_name(f"{log_path.name}.{run_id}"))
    return sorted(log_path.parent.glob(f"{log_path.name}.*"))


def served_rows(spark: SparkSession, files: list[Path]) -> tuple[DataFrame, DataFrame]:
    """(parsed rows with the table's columns, lines that did not parse)."""
    schema = T.StructType([*SERVED_SCHEMA.fields, T.StructField(CORRUPT, T.StringType())])
    lines = spark.read.schema(schema).option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT) \
        .json([str(f) for f in files]).cache()
    bad = F.col(CORRUPT).isNotNull() | F.col("request_id").isNull()
    return lines.where(~bad).drop(CORRUPT).dropDuplicates(["request_id"]), lines.where(bad).select(CORRUPT)


@dataclass(frozen=True)
class ServedLoad:
    lines: int
    rows: int                         # distinct request ids loaded
    rejected: int                     # lines that did not parse
    written: WriteResult | None = None
    rejected_file: Path | None = None


def load_served(spark: SparkSession, conf: AppConfig, metadata: dict) -> ServedLoad:
    """Claim the service's log, MERGE it into `served_suggestions`, set the unparsable lines
    aside, then delete the claimed files (only after the commit)."""
    files = claim_logs(Path(resolve_root(conf.serving.log_path)), metadata["run_id"])
    if not files:
        return ServedLoad(0, 0, 0)
    rows, rejected = served_rows(spark, files)
    lines = sum(1 for f in files for line in f.open() if line.strip())
    n_rows, bad = rows.count(), [r[0] for r in rejected.collect()]
    written = write_table(spark, rows.withColumn("run_id", F.lit(metadata["run_id"])),
                          conf.storage.table_path("served_suggestions"), conf.storage.table("served_suggestions"),
                          metadata, changed_only=[c for c in rows.columns if c != "request_id"])
    rejected_file = None
    if bad:
        rejected_file = files[0].parent / f"{Path(conf.serving.log_path).stem}.{metadata['run_id']}.rejected"
        rejected_file.write_text("\n".join(bad) + "\n")
    for f in files:
        f.unlink()
    return ServedLoad(lines, n_rows, len(bad), written, rejected_file)
