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

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pricesuggest.config import CleaningConf
from pricesuggest.photo import PHOTO_REASONS, PhotoLimits, photo_problem

# In precedence order: the first that applies is the row's reason. Who the row is (its id,
# its time, its seller and category) before what it shows (photo, text), before its prices.
REJECT_REASONS = (
    "duplicate_listing_id", "missing_created_at", "created_in_future", "missing_seller_id", "missing_category",
    *PHOTO_REASONS, "empty_title", "text_too_long", "garbled_text",
    "invalid_price", "price_placeholder", "list_price_outlier", "sold_price_outlier",
)
REJECTED_COLUMNS = ["listing_id", "reject_reason", "reject_detail"]
CONTENT_PROBLEM = T.StructType([T.StructField("reason", T.StringType()), T.StructField("detail", T.StringType())])
_TEXT_CONTROLS = {"\t", "\n", "\r"}


@dataclass(frozen=True)
class ContentLimits:
    """What a listing's photo and text may be (cleaning.photo, cleaning.max_text_chars, ...)."""
    photo: PhotoLimits
    max_text_chars: int
    max_garbled_share: float

    @classmethod
    def from_conf(cls, conf: CleaningConf) -> "ContentLimits":
        return cls(conf.photo, conf.max_text_chars, conf.max_garbled_share)


def garbled_share(text: str) -> float:
    """Share of characters no person typed: control characters, unassigned or private code points
    and U+FFFD (what undecodable bytes become). Binary pasted as text is mostly these."""
    if not text:
        return 0.0
    bad = sum(1 for c in text if c == "\ufffd" or (unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn")
                                                    and c not in _TEXT_CONTROLS))
    return bad / len(text)


def content_problem(image: bytes | None, title: str | None, description: str | None,
                    limits: ContentLimits) -> tuple[str | None, str | None]:
    """(reason, detail) of the first problem with a listing's photo or text, or (None, None).

    The one check of what a seller uploaded: cleaning runs it on every row, the service on
    every request. An empty description is not a problem (the listing is scored; if it is not
    qualified, the reason says so).
    """
    reason, detail = photo_problem(image, limits.photo)
    if reason:
        return reason, detail
    if title is None or not title.strip():
        return "empty_title", "title is empty"
    text = title + " " + (description or "")
    if len(text) > limits.max_text_chars:
        return "text_too_long", f"{len(text)} characters (limit {limits.max_text_chars})"
    if (share := garbled_share(text)) > limits.max_garbled_share:
        return "garbled_text", f"{share:.0%} of the text is control or undecodable characters"
    return None, None


def content_problems(limits: ContentLimits):
    """`content_problem` as a pandas UDF over (image, title, description) -> struct(reason, detail)."""
    @F.pandas_udf(CONTENT_PROBLEM)
    def problems(images: pd.Series, titles: pd.Series, descriptions: pd.Series) -> pd.DataFrame:
        found = [content_problem(i, t, d, limits) for i, t, d in zip(images, titles, descriptions)]
        return pd.DataFrame(found, columns=["reason", "detail"], dtype=object)
    return problems


def category_price_bounds(listings: DataFrame, conf: CleaningConf) -> DataFrame:
    """(category, log_lo, log_hi): per-category fences, all-rows fences for small categories."""
    # NaN compares above every number in Spark, and infinity would stretch the fences: finite prices only
    finite = ~F.isnan("list_price") & (F.col("list_price") < float("inf"))
    priced = listings.where((F.col("list_price") > conf.min_price) & finite).select(
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


def flag_listings(listings: DataFrame, conf: CleaningConf, reference: DataFrame | None = None,
                  future_after: datetime | None = None) -> DataFrame:
    """`listings` plus reject_reason / reject_detail (null when the row is kept).

    Price fences come from `reference` (default: `listings` itself); scoring passes every
    listing known at its as-of, so a handful of listings is judged against the market. Every
    copy of an id that appears more than once is rejected: which copy is right is ambiguous.
    Rows created after `future_after` (the run's clock cutoff) are `created_in_future`.
    Decoding every image is the expensive part: callers that need both the kept and the
    rejected rows cache this frame and split it with `split_flagged`, so images decode once.
    """
    bounds = category_price_bounds(listings if reference is None else reference, conf)
    with_bounds = listings.join(F.broadcast(bounds), "category", "left") \
        .withColumn("copies", F.count("*").over(Window.partitionBy("listing_id"))) \
        .withColumn("content", content_problems(ContentLimits.from_conf(conf))("image", "title", "description"))
    log_list, log_sold = F.log("list_price"), F.log("sold_price")
    outside = lambda x: (x < F.col("log_lo")) | (x > F.col("log_hi"))  # noqa: E731
    not_a_number = lambda c: F.col(c).isNull() | F.isnan(c) | (F.abs(c) == float("inf"))  # noqa: E731
    future = F.col("created_at") > F.lit(future_after) if future_after else F.lit(False)
    checks = [
        (F.col("copies") > 1, F.lit("duplicate_listing_id"),
         F.format_string("%d rows share listing_id %d", "copies", "listing_id")),
        (F.col("created_at").isNull(), F.lit("missing_created_at"), F.lit("created_at is null")),
        (future, F.lit("created_in_future"),
         F.format_string("created_at %s is after the ingestion clock %s", F.col("created_at").cast("string"),
                         F.lit(str(future_after)))),
        (F.col("seller_id").isNull(), F.lit("missing_seller_id"), F.lit("seller_id is null")),
        (F.col("category").isNull() | (F.trim("category") == ""), F.lit("missing_category"),
         F.lit("category is null or empty")),
        (F.col("content.reason").isNotNull(), F.col("content.reason"), F.col("content.detail")),
        (not_a_number("list_price") | (F.col("sold_price").isNotNull() & not_a_number("sold_price")),
         F.lit("invalid_price"), F.format_string("list %s / sold %s", F.coalesce(F.col("list_price").cast("string"),
                                                 F.lit("null")), F.coalesce(F.col("sold_price").cast("string"), F.lit("-")))),
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
    return with_bounds.withColumn("reject_reason", reason).withColumn("reject_detail", detail) \
        .select(*listings.columns, "reject_reason", "reject_detail")


def split_flagged(flagged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(kept listings, rejected rows: listing_id, reject_reason, reject_detail)."""
    kept = flagged.where(F.col("reject_reason").isNull()).drop("reject_reason", "reject_detail")
    rejected = flagged.where(F.col("reject_reason").isNotNull()).select(*REJECTED_COLUMNS)
    return kept, rejected


def clean_listings(listings: DataFrame, conf: CleaningConf,
                   future_after: datetime | None = None) -> tuple[DataFrame, DataFrame]:
    """(kept listings, rejected rows: listing_id, reject_reason, reject_detail)."""
    return split_flagged(flag_listings(listings, conf, future_after=future_after))
