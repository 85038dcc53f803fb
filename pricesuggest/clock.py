"""The pipeline's notion of "now": an explicit date, never the wall clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def midnight(day: date) -> datetime:
    """A day's 00:00 UTC (the data's timestamps are naive UTC)."""
    return datetime(day.year, day.month, day.day)


def data_as_of(listings: DataFrame) -> date:
    """The day after the newest event in `listings`: the data's own "now"."""
    newest = listings.agg(F.greatest(F.max("created_at"), F.max("closed_at")).alias("t")).first()["t"]
    if newest is None:
        raise ValueError("listings is empty: no data clock to derive --as-of from")
    return newest.date() + timedelta(days=1)


def resolve_as_of(explicit: date | None, configured: str, listings: DataFrame) -> date:
    if explicit is not None:
        return explicit
    if configured == "auto":
        return data_as_of(listings)
    return date.fromisoformat(configured)


def known_at(listings: DataFrame, as_of: date) -> DataFrame:
    """Listings as a job running at `as_of` 00:00 UTC would have seen them.

    Listings created later are dropped; outcomes after as_of are undone (status back to
    active, no sold price, no close time), so a rerun for a past date sees the past.
    """
    cutoff = F.to_timestamp(F.lit(as_of.isoformat()))
    open_then = F.col("closed_at").isNull() | (F.col("closed_at") >= cutoff)
    return listings.where(F.col("created_at") < cutoff).select(*[
        F.when(open_then, F.lit("active")).otherwise(F.col("status")).alias("status") if c == "status" else
        F.when(open_then, F.lit(None)).otherwise(F.col(c)).alias(c) if c in ("sold_price", "closed_at") else
        F.col(c)
        for c in listings.columns])
