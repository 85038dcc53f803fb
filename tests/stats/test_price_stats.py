from datetime import date, datetime, timedelta

import numpy as np
import pytest

from stats.price_stats import STATS_SCHEMA, price_stats, snapshot_dates
from tests.listing_rows import listing, listings_df


def stats_rows(spark, rows, first, last, window=90, accuracy=10000, seller_min_count=1):
    out = price_stats(listings_df(spark, rows), snapshot_dates(spark, first, last), window, accuracy, seller_min_count,
                      seller_partitions=4)
    return {(r.snapshot_date, r.level, r.key): r for r in out.collect()}, out


def test_schema_and_levels(spark):
    rows = [listing(1, seller_id=7, category="phones", closed_at=datetime(2026, 6, 3, 12))]
    stats, df = stats_rows(spark, rows, date(2026, 6, 4), date(2026, 6, 4))
    assert [f.name for f in df.schema] == [f.name for f in STATS_SCHEMA]
    assert set(stats) == {(date(2026, 6, 4), "platform", "all"), (date(2026, 6, 4), "category", "phones"),
                          (date(2026, 6, 4), "seller", "7")}
    row = stats[(date(2026, 6, 4), "seller", "7")]
    assert (row.sold_count, row.sold_q2, row.sold_mean, row.unsold_count, row.unsold_q2) == (1, 100.0, 100.0, 0, None)
    assert row.snapshot_ts == datetime(2026, 6, 4)


def test_trailing_window_edges(spark):
    d = date(2026, 9, 1)
    start = datetime(2026, 9, 1) - timedelta(days=90)
    rows = [
        listing(1, sold_price=10.0, list_price=12, closed_at=start),                          # exactly d-90: in
        listing(2, sold_price=20.0, list_price=24, closed_at=start - timedelta(microseconds=1)),  # just before: out
        listing(3, sold_price=30.0, list_price=36, closed_at=datetime(2026, 8, 31, 23, 59, 59)),  # just before d: in
        listing(4, sold_price=40.0, list_price=48, closed_at=datetime(2026, 9, 1)),            # at d: out (next day)
    ]
    stats, _ = stats_rows(spark, rows, d, d + timedelta(days=1))
    today, tomorrow = stats[(d, "platform", "all")], stats[(d + timedelta(days=1), "platform", "all")]
    assert today.sold_count == 2 and today.sold_mean == 20.0  # items 1 and 3
    assert tomorrow.sold_count == 2 and tomorrow.sold_mean == 35.0  # item 1 left the window, 4 came in


def test_unsold_uses_list_price_and_active_is_ignored(spark):
    rows = [listing(1, status="unsold", list_price=300, closed_at=datetime(2026, 6, 2)),
            listing(2, status="active", list_price=999),
            listing(3, status="sold", list_price=130, sold_price=100, closed_at=datetime(2026, 6, 2))]
    stats, _ = stats_rows(spark, rows, date(2026, 6, 3), date(2026, 6, 3))
    row = stats[(date(2026, 6, 3), "platform", "all")]
    assert (row.sold_count, row.sold_mean, row.unsold_count, row.unsold_mean) == (1, 100.0, 1, 300.0)


def test_quartiles_match_exact_pandas_within_tolerance(spark):
    """Tolerance: percentile_approx(accuracy=10000) returns an element of the data whose rank is within
    N/10000 of the exact quantile's; we assert it lies between the exact quantiles at q -/+ 0.5 %."""
    rng = np.random.default_rng(3)
    prices = np.round(np.exp(rng.normal(6, 1.2, size=3000)), 2)
    rows = [listing(i, category="phones" if i % 2 else "cosmetics", seller_id=i % 5, sold_price=float(p),
                    list_price=float(p) * 1.2, closed_at=datetime(2026, 6, 1) + timedelta(minutes=int(i)))
            for i, p in enumerate(prices)]
    stats, _ = stats_rows(spark, rows, date(2026, 6, 4), date(2026, 6, 4))
    groups = {("platform", "all"): prices, ("category", "phones"): prices[1::2], ("seller", "3"): prices[3::5]}
    for (level, key), values in groups.items():
        row = stats[(date(2026, 6, 4), level, key)]
        for q, got in ((0.25, row.sold_q1), (0.5, row.sold_q2), (0.75, row.sold_q3)):
            lo, hi = np.quantile(values, [q - 0.005, q + 0.005])
            assert lo <= got <= hi, (level, key, q, got, lo, hi)
        assert row.sold_mean == pytest.approx(values.mean(), rel=1e-9)
        assert row.sold_count == len(values)


def test_sellers_below_min_count_keep_counts_but_no_quartiles(spark):
    rows = [listing(1, seller_id=1, closed_at=datetime(2026, 6, 2)),
            listing(2, seller_id=2, closed_at=datetime(2026, 6, 2)),
            listing(3, seller_id=2, closed_at=datetime(2026, 6, 2)),
            listing(4, seller_id=2, closed_at=datetime(2026, 6, 2))]
    stats, _ = stats_rows(spark, rows, date(2026, 6, 3), date(2026, 6, 3), seller_min_count=3)
    few, enough = stats[(date(2026, 6, 3), "seller", "1")], stats[(date(2026, 6, 3), "seller", "2")]
    assert few.sold_count == 1 and few.sold_q2 is None and few.sold_mean is None
    assert enough.sold_count == 3 and enough.sold_q2 == 100.0
    assert stats[(date(2026, 6, 3), "category", "phones")].sold_q2 == 100.0  # categories never nulled


def test_days_without_closed_items_have_no_rows_and_no_errors(spark):
    rows = [listing(1, status="active")]
    stats, _ = stats_rows(spark, rows, date(2026, 6, 3), date(2026, 6, 5))
    assert stats == {}
