"""Realised accuracy (scoring/outcomes.py) on hand-made rows: which rows count, the bands, the drift rule."""
from __future__ import annotations

import math
from datetime import date

import pytest

from scoring.outcomes import OUTCOMES_SCHEMA, accuracy_drift, suggestion_outcomes

AS_OF = date(2026, 6, 1)
NU = 1 / 1.2


def test_closed_suggestions_are_judged_against_their_band_or_the_kept_list_price(spark):
    # listing_id, state, closed_as_of, model_version, category, qualified, suggested, low, high
    suggestions = spark.createDataFrame([
        (1, "closed", AS_OF, "v1", "phones", True, 120.0, 100.0, 120.0),   # sold at 110: in band
        (2, "closed", AS_OF, "v1", "phones", True, 120.0, 100.0, 120.0),   # sold at 60: below the band
        (3, "closed", AS_OF, "v1", "phones", False, 90.0, 75.0, 90.0),     # unsold, kept 100: in [83.3, 100]
        (4, "closed", date(2026, 5, 1), "v1", "phones", True, 1.0, 1.0, 1.0),  # closed by an earlier run
        (5, "active", None, "v1", "phones", True, 1.0, 1.0, 1.0),          # still open
        (6, "closed", AS_OF, None, "phones", None, None, None, None),      # a rejected row: no suggestion
        (7, "closed", AS_OF, "v1", "phones", True, 50.0, 41.7, 50.0),      # its id came twice upstream
    ], "listing_id long, state string, closed_as_of date, model_version string, category string, qualified boolean, "
       "suggested_price double, price_low double, price_high double")
    listings = spark.createDataFrame([
        (1, "sold", 110.0, 130.0), (2, "sold", 60.0, 130.0), (3, "unsold", None, 100.0), (4, "sold", 1.0, 1.0),
        (5, "active", None, 1.0), (6, "sold", 10.0, 10.0), (7, "sold", 50.0, 60.0), (7, "sold", 45.0, 60.0),
    ], "listing_id long, status string, sold_price double, list_price double")
    rows = {(r["qualified"], r["outcome"]): r for r in suggestion_outcomes(
        suggestions, listings, AS_OF, NU, {"v1": 0.2}, "run-1").collect()}
    assert set(rows) == {(True, "sold"), (False, "unsold")}
    sold = rows[(True, "sold")]
    assert sold["listings"] == 2 and sold["in_band_share"] == 0.5 and sold["validation_male"] == 0.2
    assert sold["male"] == pytest.approx((abs(math.log(120 / 110)) + abs(math.log(120 / 60))) / 2)
    unsold = rows[(False, "unsold")]
    assert unsold["listings"] == 1 and unsold["in_band_share"] == 1.0
    assert unsold["male"] == pytest.approx(abs(math.log(90 / 100)))
    assert spark.createDataFrame(list(rows.values()), OUTCOMES_SCHEMA).count() == 2  # fits the table's schema


def outcome(version, outcome, listings, male, validation=0.2):
    return {"model_version": version, "outcome": outcome, "listings": listings, "male": male,
            "validation_male": validation}


def test_drift_is_the_sold_male_over_every_category_against_validation_with_enough_sales():
    rows = [outcome("v1", "sold", 20, 0.30), outcome("v1", "sold", 20, 0.22), outcome("v1", "unsold", 500, 9.0),
            outcome("v2", "sold", 100, 0.24), outcome("v3", "sold", 5, 0.9), outcome("v4", "sold", 99, 9.0, None)]
    drifts = accuracy_drift(rows, max_male_increase=0.25, min_sold=30)
    # v1: 0.26 > 0.25 on 40 sales; v2: 0.24 is within 25 %; v3: too few sales; v4: no validation figure
    assert [(d.model_version, d.sold) for d in drifts] == [("v1", 40)]
    assert drifts[0].realised_male == pytest.approx(0.26)
    assert "+30%" in drifts[0].message()
    assert accuracy_drift(rows, max_male_increase=0.5, min_sold=30) == []
