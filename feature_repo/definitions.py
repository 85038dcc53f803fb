"""Feast objects over the `price_stats` Delta table, one view per level.

One Delta table holds all three levels (column `level`); each view reads its level through
a Spark SQL query on the Delta path, renaming `key` to the entity's join key. Feature names
repeat across views (sold_q1 ...), so retrieval uses full feature names
(`seller_price_stats__sold_q1`).
"""
from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, ValueType
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.types import Float64, Int64

from stats.price_stats import STAT_NAMES

STAT_FEATURES = [f"{group}_{stat}" for group in ("sold", "unsold") for stat in STAT_NAMES]
PLATFORM_ID = "all"  # the platform level is a constant-key view: every entity row carries platform="all"

seller = Entity(name="seller", join_keys=["seller_id"], value_type=ValueType.INT64,
                description="A seller on the platform")
category = Entity(name="category", join_keys=["category"], value_type=ValueType.STRING,
                  description="One of the platform's item categories")
platform = Entity(name="platform", join_keys=["platform"], value_type=ValueType.STRING,
                  description="The whole platform (constant key 'all')")

LEVELS = {  # level -> (entity, join key SQL expression)
    "seller": (seller, "CAST(key AS BIGINT) AS seller_id"),
    "category": (category, "key AS category"),
    "platform": (platform, "key AS platform"),
}


def view_name(level: str) -> str:
    """The feature view of one level (statistics columns read as `<view>__<feature>`)."""
    return f"{level}_price_stats"


def stats_source(level: str, stats_path: str) -> SparkSource:
    _, key_expr = LEVELS[level]
    columns = ", ".join(STAT_FEATURES)
    return SparkSource(
        name=f"{level}_price_stats_source",
        query=f"SELECT {key_expr}, snapshot_ts, {columns} FROM delta.`{stats_path}` WHERE level = '{level}'",
        timestamp_field="snapshot_ts",
        description=f"price_stats rows of level {level}",
    )


def definitions(stats_path: str, ttl: timedelta, owner: str, service_version: int) -> list:
    """Every object `feast apply` registers, built from conf values (no conf lookups here)."""
    views = []
    for level, (entity, _) in LEVELS.items():
        views.append(FeatureView(
            name=view_name(level),
            entities=[entity],
            ttl=ttl,
            schema=[Field(name=name, dtype=Int64 if name.endswith("_count") else Float64) for name in STAT_FEATURES],
            source=stats_source(level, stats_path),
            online=True,
            owner=owner,
            tags={"team": "pricing", "level": level, "source_table": "price_stats"},
            description=f"Trailing-window sold/unsold price quartiles and means per {level}",
        ))
    service = FeatureService(
        name=f"price_model_v{service_version}",
        features=views,
        owner=owner,
        tags={"model": "price_model", "version": str(service_version)},
        description="Statistical features of the price suggestion model",
    )
    return [seller, category, platform, *views, service]
