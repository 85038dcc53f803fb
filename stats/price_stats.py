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

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

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


def closed_outcomes(listings: DataFrame) -> DataFrame:
    """Listings whose outcome is known: sold or expired unsold, with a close time."""
    return listings.where(F.col("status").isin("sold", "unsold") & F.col("closed_at").isNotNull())


def outcomes_by_snapshot(listings: DataFrame, dates: DataFrame, window_days: int) -> DataFrame:
    """Each closed listing once per requested snapshot whose window holds its outcome."""
    bounds = dates.agg(F.min("snapshot_date").alias("lo"), F.max("snapshot_date").alias("hi"))
    closed = closed_outcomes(listings)
    closed_day = F.to_date("closed_at")
    # closed_at < d  <=>  d >= date(closed_at) + 1;  d - window <= closed_at  <=>  d <= date(closed_at) + window
    first = F.greatest(F.date_add(closed_day, 1), F.col("lo"))
    last = F.least(F.date_add(closed_day, window_days), F.col("hi"))
    exploded = closed.crossJoin(F.broadcast(bounds)).where(first <= last).select(
        "seller_id", "category", "status", "list_price", "sold_price",
        F.explode(F.sequence(first, last)).alias("snapshot_date"))
    return exploded.join(F.broadcast(dates.select("snapshot_date")), "snapshot_date")  # gaps in `dates`


SELLER_COLUMNS = ["snapshot_date", "key"] + [f"{g}_{s}" for g in ("sold", "unsold") for s in STAT_NAMES]
SELLER_SCHEMA = T.StructType(
    [T.StructField("snapshot_date", T.DateType()), T.StructField("key", T.StringType())]
    + [T.StructField(f"{g}_{s}", T.LongType() if s == "count" else T.DoubleType())
       for g in ("sold", "unsold") for s in STAT_NAMES])


def seller_stats_frame(closed: pd.DataFrame, days: np.ndarray, window_days: int) -> pd.DataFrame:
    """Seller statistics of one partition's sellers (all their rows), vectorised in pandas.

    Same rule as `outcomes_by_snapshot`: a listing closed on day c feeds snapshots c+1 ... c+window.
    Quantiles are exact with linear interpolation.
    """
    if closed.empty:
        return pd.DataFrame(columns=SELLER_COLUMNS)
    closed_day = closed["closed_at"].to_numpy().astype("datetime64[D]")
    lo = np.maximum(closed_day + 1, days.min())
    hi = np.minimum(closed_day + window_days, days.max())
    n_days = np.maximum((hi - lo).astype(np.int64) + 1, 0)
    idx = np.repeat(np.arange(len(closed)), n_days)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    sold = closed["status"].to_numpy() == "sold"
    rows = pd.DataFrame({
        "snapshot_date": np.repeat(lo, n_days) + offset.astype("timedelta64[D]"),
        "key": closed["seller_id"].astype(str).to_numpy()[idx],
        "sold": np.where(sold, closed["sold_price"].to_numpy(dtype=np.float64), np.nan)[idx],
        "unsold": np.where(~sold, closed["list_price"].to_numpy(dtype=np.float64), np.nan)[idx],
    })
    rows = rows[np.isin(rows["snapshot_date"].to_numpy(), days)]  # requested days may have gaps
    grouped = rows.groupby(["snapshot_date", "key"], sort=False)[["sold", "unsold"]]
    quartiles = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    out = pd.concat([grouped.count().add_suffix("_count"), grouped.mean().add_suffix("_mean")], axis=1)
    for group in ("sold", "unsold"):
        for q, name in ((0.25, "q1"), (0.5, "q2"), (0.75, "q3")):
            out[f"{group}_{name}"] = quartiles[(group, q)]
    out = out.reset_index()
    out["snapshot_date"] = pd.to_datetime(out["snapshot_date"]).dt.date
    return out[SELLER_COLUMNS]


def seller_stats(listings: DataFrame, days: list[date], window_days: int, partitions: int) -> DataFrame:
    """Seller statistics: each seller's raw rows shuffled once, then computed per partition.

    Millions of small seller-day groups are where Spark's per-group aggregation objects cost
    most; exploding per snapshot in pandas inside each partition shuffles the raw rows only
    (not one copy per snapshot day) and sorts each partition's values in one vectorised pass.
    """
    day_values = np.array(sorted(days), dtype="datetime64[D]")

    def compute(batches):
        frames = [b for b in batches if len(b)]
        if frames:
            yield seller_stats_frame(pd.concat(frames, ignore_index=True), day_values, window_days)

    closed = closed_outcomes(listings).select("seller_id", "status", "list_price", "sold_price", "closed_at")
    return closed.repartition(partitions, "seller_id").mapInPandas(compute, SELLER_SCHEMA)


def price_stats(listings: DataFrame, dates: DataFrame, window_days: int, accuracy: int,
                seller_min_count: int, seller_partitions: int) -> DataFrame:
    """Statistics for every (requested snapshot, level, key) with data, in STATS_SCHEMA.

    Platform and category groups are large and few: `percentile_approx` sketches over the
    exploded rows. Seller groups are small and many: `seller_stats` (exact quantiles).
    """
    rows = outcomes_by_snapshot(listings, dates, window_days).select(
        "snapshot_date", "category",
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
    wide = wide.select("snapshot_date", "level", "key", *[
        F.col(f"{g}_q")[i].alias(f"{g}_{name}") if name.startswith("q") else F.col(f"{g}_{name}")
        for g in ("sold", "unsold") for i, name in [(0, "count"), (0, "q1"), (1, "q2"), (2, "q3"), (0, "mean")]])
    days = [r["snapshot_date"] for r in dates.select("snapshot_date").collect()]
    sellers = seller_stats(listings, days, window_days, seller_partitions).withColumn("level", F.lit("seller")) \
        if days else wide.limit(0)
    stats = wide.unionByName(sellers)
    columns = [F.col("snapshot_date"), F.to_timestamp(F.col("snapshot_date")).alias("snapshot_ts"),
               F.col("level"), F.col("key")]
    for group in ("sold", "unsold"):
        enough = (F.col("level") != "seller") | (F.col(f"{group}_count") >= seller_min_count)
        columns.append(F.col(f"{group}_count"))
        for name in ("q1", "q2", "q3", "mean"):
            columns.append(F.when(enough, F.col(f"{group}_{name}")).alias(f"{group}_{name}"))
    return stats.select(*columns)
