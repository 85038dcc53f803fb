"""The pipeline's notion of "now": an explicit date, never the wall clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pricesuggest.config import AppConfig
from pricesuggest.delta_io import table_properties


def midnight(day: date) -> datetime:
    """A day's 00:00 UTC (the data's timestamps are naive UTC)."""
    return datetime(day.year, day.month, day.day)


def declared_clock(properties: dict[str, str], key: str) -> datetime | None:
    """The ingestion's clock: everything up to this moment has landed in `listings` (a table property)."""
    value = properties.get(key)
    return datetime.fromisoformat(value) if value else None


def resolve_as_of(explicit: date | None, configured: str, clock: datetime | None) -> date:
    """The run's day: --as-of, else pipeline.as_of ("auto": the day the ingestion's clock has reached).

    Never the newest created_at: one row dated 2030 would move every job to 2030.
    """
    if explicit is not None:
        return explicit
    if configured != "auto":
        return date.fromisoformat(configured)
    if clock is None:
        raise ValueError("pipeline.as_of is auto, but listings declare no clock (table property "
                         "pipeline.clock_property); pass --as-of, as a scheduler does")
    # a clock at 00:00 has seen the whole previous day; at 10:00 it has seen part of today
    return clock.date() if clock == midnight(clock.date()) else clock.date() + timedelta(days=1)


def future_cutoff(clock: datetime | None, as_of: date) -> datetime:
    """Rows created after this cannot be real: the ingestion's clock, or the end of the run's day."""
    return clock if clock is not None else midnight(as_of) + timedelta(days=1)


@dataclass(frozen=True)
class RunClock:
    as_of: date          # the run sees listings as they were at this day's 00:00 UTC
    cutoff: datetime     # rows created after this are quarantined as created_in_future


def run_clock(spark: SparkSession, conf: AppConfig, explicit: date | None) -> RunClock:
    """A job's clock: --as-of or pipeline.as_of, and the cutoff from the clock `listings` declares."""
    clock = declared_clock(table_properties(spark, conf.storage.table_path("listings")), conf.pipeline.clock_property)
    as_of = resolve_as_of(explicit, conf.pipeline.as_of, clock)
    return RunClock(as_of, future_cutoff(clock, as_of))


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


def judged_at(listings: DataFrame, clock: RunClock) -> DataFrame:
    """The rows a job running on `clock` must account for: those known at its as-of (`known_at`),
    plus those created after its cutoff or never (cleaning quarantines them as created_in_future
    and missing_created_at: bad upstream rows are never silently left out, and never move the clock)."""
    created = F.col("created_at")
    untimely = created.isNull() | (created > F.lit(clock.cutoff))
    return known_at(listings.where(~untimely), clock.as_of).unionByName(listings.where(untimely))
