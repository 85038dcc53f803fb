"""Point-in-time price statistics per platform, category and seller, for many days at once.

The snapshot for day d is stamped d 00:00 UTC and covers listings whose outcome was known
before it: closed_at in [d - window, d). A listing closed at t therefore feeds the
snapshots d = date(t) + 1 ... date(t) + window; exploding each closed listing into just
the requested days in that range turns a whole backfill into one aggregation (one Spark
pass), and a daily run into a pass where each listing contributes at most one row.

Statistics, per (snapshot, level, key):
  sold_*    count, Q1, median, Q3, mean of sold_price over sold listings
  unsold_*  the same of list_price over listings that expired unsold
Sellers with fewer than `seller_min_count` sold (unsold) listings in the window get null
quartiles/mean for that group, with the count kept (see conf/base/features.yaml).
Quartiles: `percentile_approx` for platform and category, exact (linear interpolation, as
pandas) for sellers.
"""
from __future__ import annotations

import uuid
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LEVELS = ("platform", "category", "seller")
PLATFORM_KEY = "all"
STAT_NAMES = ("count", "q1", "q2", "q3", "mean")

STATS_SCHEMA = T.StructType(
    [T.StructField("snapshot_date", T.DateType(), False),
     T.StructField("snapshot_ts", T.TimestampType(), False),
     T.StructField("level", T.StringType(), False),
     T.StructField("key", T.StringType(), False)]
    + [T.StructField(f"{group}_{stat}", T.LongType() if stat == "count" else T.DoubleType(), stat != "count")
       for group in ("sold", "unsold") for stat in STAT_NAMES])


def snapshot_dates(spark: SparkSession, first: date, last: date) -> DataFrame:
    """One row per day in [first, last]: the snapshots to compute."""
    if last < first:
        raise ValueError(f"empty date range {first}..{last}")
    return spark.sql(f"SELECT explode(sequence(DATE'{first}', DATE'{last}', INTERVAL 1 DAY)) AS snapshot_date")


def outcomes_by_snapshot(listings: DataFrame, dates: DataFrame, window_days: int) -> DataFrame:
    """Each closed listing once per requested snapshot whose window holds its outcome."""
    bounds = dates.agg(F.min("snapshot_date").alias("lo"), F.max("snapshot_date").alias("hi"))
    closed = listings.where(F.col("status").isin("sold", "unsold") & F.col("closed_at").isNotNull())
    closed_day = F.to_date("closed_at")
    # closed_at < d  <=>  d >= date(closed_at) + 1;  d - window <= closed_at  <=>  d <= date(closed_at) + window
    first = F.greatest(F.date_add(closed_day, 1), F.col("lo"))
    last = F.least(F.date_add(closed_day, window_days), F.col("hi"))
    exploded = closed.crossJoin(F.broadcast(bounds)).where(first <= last).select(
        "seller_id", "category", "status", "list_price", "sold_price",
        F.explode(F.sequence(first, last)).alias("snapshot_date"))
    return exploded.join(F.broadcast(dates.select("snapshot_date")), "snapshot_date")  # gaps in `dates`


def exact_quantile(sorted_values: F.Column, q: float) -> F.Column:
    """Quantile with linear interpolation (pandas' default) of an ascending array; null when empty."""
    n = F.size(sorted_values)
    pos = F.lit(q) * (n - 1)
    lo = F.floor(pos).cast("int")
    hi = F.least(lo + 1, n - 1)
    low_value, high_value = F.element_at(sorted_values, lo + 1), F.element_at(sorted_values, hi + 1)
    return F.when(n > 0, low_value + (pos - lo) * (high_value - low_value))


def price_stats(listings: DataFrame, dates: DataFrame, window_days: int, accuracy: int,
                seller_min_count: int) -> DataFrame:
    """Statistics for every (requested snapshot, level, key) with data, in STATS_SCHEMA.

    Platform and category groups are large and few: `percentile_approx` sketches. Seller
    groups are small and many (millions of seller-days): a sketch object per group costs
    more than sorting its few prices, so sellers get exact quantiles from sorted arrays.
    """
    rows = outcomes_by_snapshot(listings, dates, window_days).select(
        "snapshot_date", "category", F.col("seller_id").cast("string").alias("seller"),
        F.when(F.col("status") == "sold", F.col("sold_price")).alias("sold"),
        F.when(F.col("status") == "unsold", F.col("list_price")).alias("unsold"))
    aggregates = []
    for group in ("sold", "unsold"):
        aggregates += [f"count({group}) AS {group}_count",
                       f"percentile_approx({group}, array(0.25, 0.5, 0.75), {int(accuracy)}) AS {group}_q",
                       f"avg({group}) AS {group}_mean"]
    # Platform and category in one aggregation: Spark expands each row once per grouping set.
    view = f"price_stats_rows_{uuid.uuid4().hex}"
    rows.createOrReplaceTempView(view)
    wide = rows.sparkSession.sql(
        f"SELECT snapshot_date, CASE WHEN grouping(category) = 1 THEN 'platform' ELSE 'category' END AS level, "
        f"coalesce(category, '{PLATFORM_KEY}') AS key, {', '.join(aggregates)} FROM {view} "
        "GROUP BY snapshot_date, category GROUPING SETS ((snapshot_date), (snapshot_date, category))")
    seller_aggregates = []
    for group in ("sold", "unsold"):
        values = F.sort_array(F.collect_list(group))
        seller_aggregates += [F.count(group).alias(f"{group}_count"),
                              F.array(*[exact_quantile(values, q) for q in (0.25, 0.5, 0.75)]).alias(f"{group}_q"),
                              F.avg(group).alias(f"{group}_mean")]
    sellers = rows.groupBy("snapshot_date", F.col("seller").alias("key")).agg(*seller_aggregates) \
        .withColumn("level", F.lit("seller"))
    stats = wide.unionByName(sellers)
    columns = [F.col("snapshot_date"), F.to_timestamp(F.col("snapshot_date")).alias("snapshot_ts"),
               F.col("level"), F.col("key")]
    for group in ("sold", "unsold"):
        enough = (F.col("level") != "seller") | (F.col(f"{group}_count") >= seller_min_count)
        columns.append(F.col(f"{group}_count"))
        for i, name in enumerate(("q1", "q2", "q3")):
            columns.append(F.when(enough, F.col(f"{group}_q")[i]).alias(f"{group}_{name}"))
        columns.append(F.when(enough, F.col(f"{group}_mean")).alias(f"{group}_mean"))
    return stats.select(*columns)
