"""The comps search (model/comps.py): exclusions, order, ties, empty pools."""
from __future__ import annotations

import numpy as np

from model.comps import SoldListings, nearest_sold


def unit(*rows) -> np.ndarray:
    m = np.array(rows, dtype=np.float64)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def day(d: int) -> np.datetime64:
    return np.datetime64("2026-07-01", "us") + np.timedelta64(d, "D")


SOLD = SoldListings(listing_id=np.array([30, 10, 20, 40, 50]),
                    closed_at=np.array([day(1), day(1), day(2), day(9), day(1)]),
                    sold_price=np.array([3.0, 1.0, 2.0, 4.0, 5.0]),
                    embedding=unit([1, 0], [1, 0], [1, 0.1], [1, 0], [0, 1]))


def test_nearest_first_ties_to_the_smaller_id_and_never_later_or_itself():
    found = nearest_sold(np.array([20, 99]), np.array([day(5), day(5)]), unit([1, 0], [0, 1]), SOLD, k=3)
    ids = [[int(SOLD.listing_id[i]) if i >= 0 else None for i in row] for row in found.index]
    # 10 and 30 tie (same direction): the smaller id first; 20 is the listing itself; 40 closed after day 5
    assert ids[0] == [10, 30, 50]
    assert ids[1] == [50, 20, 10]  # 20 is closer to (0, 1) than 10 and 30, which tie: 10 first
    assert np.all(np.diff(found.similarity, axis=1) <= 0)


def test_fewer_candidates_than_k_leave_empty_slots():
    found = nearest_sold(np.array([1]), np.array([day(1) + np.timedelta64(1, "h")]), unit([1, 0]), SOLD, k=5)
    assert [int(SOLD.listing_id[i]) for i in found.index[0] if i >= 0] == [10, 30, 50]
    assert list(found.index[0][3:]) == [-1, -1] and np.isnan(found.similarity[0][3:]).all()
    empty = SoldListings(np.zeros(0, np.int64), np.zeros(0, "datetime64[us]"), np.zeros(0), np.zeros((0, 2)))
    none = nearest_sold(np.array([1]), np.array([day(1)]), unit([1, 0]), empty, k=2)
    assert (none.index == -1).all() and np.isnan(none.similarity).all()


def test_a_rounding_difference_below_the_stored_precision_does_not_reorder():
    found = nearest_sold(np.array([1]), np.array([day(5)]), unit([1, 0]), SOLD, k=2,
                         similarity=np.array([[0.5, 0.5 + 1e-9, 0.1, 0.0, 0.2]]))
    assert [int(SOLD.listing_id[i]) for i in found.index[0]] == [10, 30]  # equal to 6 decimals: by id
