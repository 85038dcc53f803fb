"""Split-conformal price ranges (model/conformal.py) on synthetic residuals."""
import numpy as np
import pytest

from model.conformal import conformal_offsets, fit_offsets, group_key, range_offsets


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9])
def test_coverage_holds_on_fresh_exchangeable_residuals(level):
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(400):  # many calibration draws: the guarantee is over them
        calibration, fresh = rng.standard_t(3, 200) + 0.3, rng.standard_t(3, 50) + 0.3
        low, high = conformal_offsets(calibration, level)
        covered.append(np.mean((low <= fresh) & (fresh <= high)))
    # at least the level, and at most level + 2 / (n + 1) (~0.01), up to the simulation's noise
    assert level - 0.005 <= np.mean(covered) <= level + 2 / 201 + 0.005


def test_offsets_are_the_finite_sample_order_statistics():
    residuals = np.arange(1.0, 20.0)  # n = 19, level 0.8: k_lo = floor(20 * 0.1) = 2, k_hi = ceil(20 * 0.9) = 18
    assert conformal_offsets(residuals[::-1], 0.8) == (2.0, 18.0)
    assert conformal_offsets(np.arange(5.0), 0.9) is None  # too few rows for 90 %: no finite range
    with pytest.raises(ValueError, match="range level"):
        conformal_offsets(residuals, 1.0)


def test_groups_fall_back_from_category_to_bucket_to_everything():
    rng = np.random.default_rng(1)
    n = 600
    qualified = np.arange(n) % 2 == 0
    category = np.where(np.arange(n) < 500, 0, 1)  # category 1: 50 qualified, 50 not
    # qualified items' residuals are tighter: their range must be narrower
    residuals = rng.normal(0, np.where(qualified, 0.2, 0.6))
    table = fit_offsets(residuals, qualified, category, level=0.8, min_rows=60)
    assert set(table) == {"*:*", "0:*", "1:*", "0:0", "1:0"}  # category 1 has too few rows of each bucket
    low, high = range_offsets(table, np.array([True, False, True, False]), np.array([0, 0, 1, 1]))
    assert (low[0], high[0]) == table[group_key(True, 0)]
    assert (low[2], high[2]) == table[group_key(True, "*")]  # category 1: the bucket's offsets
    assert (low[3], high[3]) == table[group_key(False, "*")]
    assert high[0] - low[0] < high[1] - low[1]


def test_no_table_means_no_range():
    low, high = range_offsets({}, np.array([True]), np.array([3]))
    assert np.isnan(low[0]) and np.isnan(high[0])
