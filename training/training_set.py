"""The training table: cleaned closed listings, their targets, and point-in-time statistics.

Statistics come from Feast's `get_historical_features` (Spark offline store) with each
listing's `created_at` as the event time: a listing sees the snapshot of its creation day
(closed_at < that day 00:00) and nothing later.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from feature_repo.definitions import PLATFORM_ID


def feature_entities(listings: DataFrame) -> DataFrame:
    """The entity frame Feast joins on: one row per listing, at its creation time."""
    return listings.select("listing_id", "seller_id", "category", F.lit(PLATFORM_ID).alias("platform"),
                           F.col("created_at").alias("event_timestamp"))


def assign_split(listings: DataFrame, seed: int, validation_share: float, test_share: float) -> DataFrame:
    """train / validation / test from a seeded hash of listing_id (stable across rebuilds)."""
    bucket = F.pmod(F.xxhash64(F.lit(seed), F.col("listing_id")), F.lit(10_000)) / 10_000.0
    split = (F.when(bucket < test_share, "test").when(bucket < test_share + validation_share, "validation")
             .otherwise("train"))
    return listings.withColumn("split", split)


def training_rows(listings: DataFrame, features: DataFrame, feature_columns: list[str]) -> DataFrame:
    """Join point-in-time features to the listings and add labels and log-price targets."""
    joined = listings.join(features.select("listing_id", *feature_columns), "listing_id", "left")
    sold = F.col("status") == "sold"
    return joined.select(
        "listing_id", "seller_id", "category", "brand", "condition", "title", "description", "image",
        "status", sold.cast("int").alias("label_sold"), "list_price", "sold_price",
        F.log("list_price").alias("log_list_price"),
        F.when(sold, F.log("sold_price")).alias("log_sold_price"),
        "created_at", "closed_at", *feature_columns)
