import pytest

from ingest.cleaning import REJECT_REASONS, clean_listings
from pricesuggest.config import CleaningConf
from tests.listing_rows import GOOD_PNG, listing, listings_df

CONF = CleaningConf(min_price=1.0, log_price_iqr_multiplier=2.0, min_rows_per_category=10)


@pytest.fixture(scope="module")
def cleaned(spark):
    rows = []
    # 40 plausible phones around 1000 CNY and 40 kids' T-shirts around 50 CNY
    for i in range(40):
        rows.append(listing(i, category="phones", list_price=800 + 10 * i, sold_price=700 + 8 * i))
        rows.append(listing(100 + i, category="childrens_clothing", list_price=40 + i, sold_price=35 + i))
    rows += [
        listing(900, image=None),                                   # missing image
        listing(901, image=GOOD_PNG[: len(GOOD_PNG) // 2]),         # truncated upload
        listing(902, title="   "),                                  # empty title
        listing(903, list_price=99999999, sold_price=99999999),     # placeholder... caught as outlier
        listing(904, list_price=1.0, sold_price=1.0),               # placeholder price
        listing(905, category="childrens_clothing", list_price=1000, sold_price=900),  # fine for a phone, not here
        listing(906, list_price=1200, sold_price=5.0),              # sold price typo
        listing(907, category="cosmetics", list_price=5000, status="active"),  # tiny category: all-rows bounds
        listing(908, image=None, list_price=1.0),                   # two problems: first reason wins
    ]
    df = listings_df(spark, rows)
    kept, rejected = clean_listings(df, CONF)
    return df, kept.collect(), {r.listing_id: r for r in rejected.collect()}


def test_rows_in_equal_kept_plus_rejected(cleaned):
    df, kept, rejected = cleaned
    assert df.count() == len(kept) + len(rejected)
    assert not {r.listing_id for r in kept} & set(rejected)


def test_each_bad_row_gets_its_reason(cleaned):
    _, _, rejected = cleaned
    expected = {900: "missing_image", 901: "undecodable_image", 902: "empty_title", 903: "list_price_outlier",
                904: "price_placeholder", 905: "list_price_outlier", 906: "sold_price_outlier", 908: "missing_image"}
    assert {i: r.reject_reason for i, r in rejected.items()} == expected
    assert all(r.reject_reason in REJECT_REASONS and r.reject_detail for r in rejected.values())
    assert "outside [" in rejected[905].reject_detail


def test_bounds_are_per_category_and_keep_plausible_rows(cleaned):
    _, kept, _ = cleaned
    kept_ids = {r.listing_id for r in kept}
    assert set(range(40)) | set(range(100, 140)) <= kept_ids  # the whole plausible spread survives
    assert 907 in kept_ids  # a small category falls back to bounds over all rows, 5000 is within them
