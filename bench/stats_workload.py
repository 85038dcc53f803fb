"""The price-statistics benchmark's workload: N closed transactions (prices only, no images).

Written once per size as Parquet (not timed); both contenders read the same files.
Shape like the marketplace: 91 days of closes, Zipf-ish sellers, 13 categories, ~60 % sold.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

HISTORY_START = date(2026, 6, 1)
HISTORY_DAYS = 91


def transactions(spark: SparkSession, rows: int, partitions: int) -> DataFrame:
    ids = spark.range(0, rows, numPartitions=partitions)
    u = lambda salt: (F.pmod(F.xxhash64(F.col("id"), F.lit(salt)), F.lit(1_000_000)) / 1_000_000.0)  # noqa: E731
    sellers = max(100, rows // 8)
    seller = F.floor(F.pow(F.lit(float(sellers)), u(1))).cast("long")  # log-uniform: a few big, many small
    category = F.element_at(F.array(*[F.lit(f"cat_{i:02d}") for i in range(13)]),
                            (F.pmod(F.xxhash64(F.col("id"), F.lit(2)), F.lit(13)) + 1).cast("int"))
    price = F.round(F.exp(F.lit(5.0) + F.lit(1.2) * (u(3) + u(4) + u(5) - 1.5) * 2), 2)
    sold = u(6) < 0.6
    start_epoch = int(datetime(HISTORY_START.year, HISTORY_START.month, HISTORY_START.day,
                               tzinfo=timezone.utc).timestamp())
    closed = F.timestamp_seconds(F.lit(start_epoch) + (u(7) * HISTORY_DAYS * 86400).cast("long"))
    return ids.select(
        seller.alias("seller_id"), category.alias("category"),
        F.when(sold, "sold").otherwise("unsold").alias("status"),
        (price * 1.2).alias("list_price"), F.when(sold, price).alias("sold_price"),
        (closed - F.expr("INTERVAL 5 DAYS")).alias("created_at"), closed.alias("closed_at"))


if __name__ == "__main__":  # spark-submit bench/stats_workload.py TARGET ROWS
    import argparse

    from pricesuggest.config import load_config
    from pricesuggest.spark import build_session

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="where the workload's Parquet is written")
    parser.add_argument("rows", type=int, help="closed transactions")
    args = parser.parse_args()
    target, n = args.target, args.rows
    session = build_session(load_config(), "bench-stats-workload")
    transactions(session, n, max(8, n // 1_000_000 * 2)).write.mode("overwrite").parquet(target)
