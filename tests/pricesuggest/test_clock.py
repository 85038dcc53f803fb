"""The pipeline's clock comes from what the ingestion declares, never from the rows themselves."""
from datetime import date, datetime

import pytest

from pricesuggest.clock import RunClock, declared_clock, future_cutoff, judged_at, resolve_as_of
from tests.listing_rows import listing, listings_df


def test_auto_takes_the_declared_clock_and_needs_one():
    assert resolve_as_of(None, "auto", datetime(2026, 8, 31)) == date(2026, 8, 31)  # has seen all of Aug 30
    assert resolve_as_of(None, "auto", datetime(2026, 8, 31, 10)) == date(2026, 9, 1)  # and part of Aug 31
    assert resolve_as_of(date(2026, 7, 1), "auto", datetime(2026, 8, 31)) == date(2026, 7, 1)  # --as-of wins
    assert resolve_as_of(None, "2026-07-04", None) == date(2026, 7, 4)
    with pytest.raises(ValueError, match="--as-of"):
        resolve_as_of(None, "auto", None)
    assert declared_clock({"generator.now": "2026-08-31T00:00:00"}, "generator.now") == datetime(2026, 8, 31)
    assert declared_clock({}, "generator.now") is None
    assert future_cutoff(None, date(2026, 7, 1)) == datetime(2026, 7, 2)  # no declared clock: the run's day


def test_a_backfill_sees_the_past_and_still_accounts_for_rows_beyond_the_clock(spark):
    clock = RunClock(as_of=date(2026, 6, 10), cutoff=datetime(2026, 8, 31))
    rows = [listing(1, created_at=datetime(2026, 6, 1), closed_at=datetime(2026, 6, 20)),  # sold after the as-of
            listing(2, created_at=datetime(2026, 7, 1)),      # not yet created at the as-of: not the run's
            listing(3, created_at=datetime(2030, 1, 1)),      # after the ingestion's clock: bad, kept for cleaning
            listing(4, created_at=None)]                      # no time at all: bad, kept for cleaning
    seen = {r.listing_id: r for r in judged_at(listings_df(spark, rows, nullable=True), clock).collect()}
    assert set(seen) == {1, 3, 4}
    assert seen[1].status == "active" and seen[1].sold_price is None  # its outcome is undone
