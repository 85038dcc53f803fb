"""Spark transforms that run the world's rules in executors.

The driver only builds a DataFrame of listing ids; each executor turns its ids into rows
with `World.listing`, seeded per listing, so the output is the same for any partitioning.
"""
from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from marketplace.world import LISTING_COLUMNS, TRUTH_COLUMNS, World, WorldClock
from pricesuggest.config import GeneratorConf

LISTINGS_SCHEMA = T.StructType([
    T.StructField("listing_id", T.LongType(), False),
    T.StructField("seller_id", T.LongType(), False),
    T.StructField("category", T.StringType(), False),
    T.StructField("brand", T.StringType(), True),
    T.StructField("condition", T.StringType(), True),
    T.StructField("title", T.StringType(), True),
    T.StructField("description", T.StringType(), True),
    T.StructField("image", T.BinaryType(), True),
    T.StructField("status", T.StringType(), False),
    T.StructField("list_price", T.DoubleType(), False),
    T.StructField("sold_price", T.DoubleType(), True),
    T.StructField("currency", T.StringType(), False),
    T.StructField("created_at", T.TimestampType(), False),
    T.StructField("closed_at", T.TimestampType(), True),
])

TRUTH_SCHEMA = T.StructType([
    T.StructField("listing_id", T.LongType(), False),
    T.StructField("fair_price", T.DoubleType(), False),
    T.StructField("log_fair_price", T.DoubleType(), False),
    T.StructField("sold_log_residual", T.DoubleType(), False),
    T.StructField("seller_bias_log", T.DoubleType(), False),
    T.StructField("item_noise_log", T.DoubleType(), False),
    T.StructField("true_brand", T.StringType(), True),
    T.StructField("true_condition", T.StringType(), False),
    T.StructField("item_type", T.StringType(), False),
    T.StructField("colour", T.StringType(), False),
    T.StructField("material", T.StringType(), True),
    T.StructField("spec_name", T.StringType(), False),
    T.StructField("spec_value", T.StringType(), False),
    T.StructField("photo_defect", T.StringType(), True),
    T.StructField("text_useless", T.BooleanType(), False),
    T.StructField("brand_in_text", T.BooleanType(), False),
    T.StructField("spec_in_text", T.BooleanType(), False),
    T.StructField("condition_in_text", T.BooleanType(), False),
    T.StructField("brand_in_photo", T.BooleanType(), False),
    T.StructField("price_defect", T.StringType(), True),
    T.StructField("row_defect", T.StringType(), True),
])
assert [f.name for f in LISTINGS_SCHEMA] == LISTING_COLUMNS
assert [f.name for f in TRUTH_SCHEMA] == TRUTH_COLUMNS


def _generator(conf: GeneratorConf, clock: WorldClock, n_sellers: int, truth: bool):
    columns = TRUTH_COLUMNS if truth else LISTING_COLUMNS

    def generate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        world = World(conf, n_sellers)  # built once per task, on the executor
        for batch in batches:
            frame = world.generate(batch["listing_id"].to_numpy(), clock, draw_images=not truth)
            yield frame[columns]

    return generate


def generate_listings(ids: DataFrame, conf: GeneratorConf, clock: WorldClock, n_sellers: int) -> DataFrame:
    """`ids` (one column listing_id) -> the `listings` rows as of `clock.now`."""
    return ids.select("listing_id").mapInPandas(_generator(conf, clock, n_sellers, False), LISTINGS_SCHEMA)


def generate_truth(ids: DataFrame, conf: GeneratorConf, clock: WorldClock, n_sellers: int) -> DataFrame:
    """`ids` -> the `listing_truth` rows (the same draws, photos skipped)."""
    return ids.select("listing_id").mapInPandas(_generator(conf, clock, n_sellers, True), TRUTH_SCHEMA)
