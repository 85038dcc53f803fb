"""Remove irrational prices and broken rows before anything learns from them.

`clean_listings` splits listings into kept rows and rejected rows with a reason; nothing
disappears: rows in = kept + rejected. Each rejected row gets the first reason that applies,
in REJECT_REASONS order (broken input before price problems).

Price rule (why not one global cut): price levels differ by 100x between categories, so a
global threshold either keeps a 99999 CNY kids' T-shirt or drops a real 80000 CNY watch.
Bounds are Tukey fences on the *log* price per category, [Q1 - k*IQR, Q3 + k*IQR], with
quartiles of the category's own list prices; placeholders (price <= min_price) are
rejected before the fences and do not influence them.
"""
from __future__ import annotations

import io

import pandas as pd
from PIL import Image
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from pricesuggest.config import CleaningConf

REJECT_REASONS = (
    "missing_image", "undecodable_image", "empty_title",
    "price_placeholder", "list_price_outlier", "sold_price_outlier",
)
REJECTED_COLUMNS = ["listing_id", "reject_reason", "reject_detail"]


def image_problem_of(png: bytes | None) -> str | None:
    if png is None or len(png) == 0:
        return "missing_image"
    try:
        with Image.open(io.BytesIO(png)) as img:
            img.load()  # decodes every pixel: catches truncated uploads, not just bad headers
    except Exception:  # noqa: BLE001 - any decoder failure means the same thing here
        return "undecodable_image"
    return None


@pandas_udf(T.StringType())  # a DataType, not "string": parsing a string needs a live session at import
def image_problem(images: pd.Series) -> pd.Series:
    return images.map(image_problem_of)


def category_price_bounds(listings: DataFrame, conf: CleaningConf) -> DataFrame:
    """(category, log_lo, log_hi): per-category fences, all-rows fences for small categories."""
    priced = listings.where(F.col("list_price") > conf.min_price).select(
        "category", F.log("list_price").alias("log_price"))
    quartiles = F.percentile_approx("log_price", [0.25, 0.75], 10000)
    k = conf.log_price_iqr_multiplier

    def fences(frame: DataFrame) -> DataFrame:
        return frame.withColumn("iqr", F.col("q")[1] - F.col("q")[0]).select(
            *[c for c in frame.columns if c not in ("q",)],
            (F.col("q")[0] - k * F.col("iqr")).alias("log_lo"),
            (F.col("q")[1] + k * F.col("iqr")).alias("log_hi"))

    per_category = fences(priced.groupBy("category").agg(quartiles.alias("q"), F.count("*").alias("n")))
    overall = fences(priced.agg(quartiles.alias("q"))).select(
        F.col("log_lo").alias("all_lo"), F.col("log_hi").alias("all_hi"))
    small = F.col("n") < conf.min_rows_per_category
    return per_category.crossJoin(overall).select(
        "category",
        F.when(small, F.col("all_lo")).otherwise(F.col("log_lo")).alias("log_lo"),
        F.when(small, F.col("all_hi")).otherwise(F.col("log_hi")).alias("log_hi"))


def flag_listings(listings: DataFrame, conf: CleaningConf, reference: DataFrame | None = None) -> DataFrame:
    """`listings` plus reject_reason / reject_detail (null when the row is kept).

    Price fences come from `reference` (default: `listings` itself); scoring passes every
    listing known at its as-of, so a handful of listings is judged against the market.
    Decoding every image is the expensive part: callers that need both the kept and the
    rejected rows cache this frame and split it with `split_flagged`, so images decode once.
    """
    bounds = category_price_bounds(listings if reference is None else reference, conf)
    with_bounds = listings.join(F.broadcast(bounds), "category", "left")
    log_list, log_sold = F.log("list_price"), F.log("sold_price")
    outside = lambda x: (x < F.col("log_lo")) | (x > F.col("log_hi"))  # noqa: E731
    checks = [
        (F.col("image_problem") == "missing_image", F.lit("missing_image"), F.lit("no image bytes")),
        (F.col("image_problem") == "undecodable_image", F.lit("undecodable_image"),
         F.concat(F.lit("PNG does not decode ("), F.length("image").cast("string"), F.lit(" bytes)"))),
        (F.col("title").isNull() | (F.trim("title") == ""), F.lit("empty_title"), F.lit("title is empty")),
        ((F.col("list_price") <= conf.min_price) |
         (F.col("sold_price").isNotNull() & (F.col("sold_price") <= conf.min_price)),
         F.lit("price_placeholder"),
         F.format_string("list %.2f / sold %s", "list_price", F.coalesce(F.col("sold_price").cast("string"), F.lit("-")))),
        (outside(log_list), F.lit("list_price_outlier"),
         F.format_string("list %.2f outside [%.2f, %.2f]", "list_price", F.exp("log_lo"), F.exp("log_hi"))),
        (F.col("sold_price").isNotNull() & outside(log_sold), F.lit("sold_price_outlier"),
         F.format_string("sold %.2f outside [%.2f, %.2f]", "sold_price", F.exp("log_lo"), F.exp("log_hi"))),
    ]
    reason, detail = F.lit(None).cast("string"), F.lit(None).cast("string")
    for condition, name, text in reversed(checks):  # first matching check wins
        reason = F.when(condition, name).otherwise(reason)
        detail = F.when(condition, text).otherwise(detail)
    return with_bounds.withColumn("image_problem", image_problem("image")) \
        .withColumn("reject_reason", reason).withColumn("reject_detail", detail) \
        .select(*listings.columns, "reject_reason", "reject_detail")


def split_flagged(flagged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(kept listings, rejected rows: listing_id, reject_reason, reject_detail)."""
    kept = flagged.where(F.col("reject_reason").isNull()).drop("reject_reason", "reject_detail")
    rejected = flagged.where(F.col("reject_reason").isNotNull()).select(*REJECTED_COLUMNS)
    return kept, rejected


def clean_listings(listings: DataFrame, conf: CleaningConf) -> tuple[DataFrame, DataFrame]:
    """(kept listings, rejected rows: listing_id, reject_reason, reject_detail)."""
    return split_flagged(flag_listings(listings, conf))
