import io
from datetime import datetime

import pytest
from PIL import Image

from ingest.cleaning import REJECT_REASONS, ContentLimits, clean_listings, content_problem, garbled_share
from pricesuggest.config import CleaningConf
from pricesuggest.photo import PhotoLimits, normalise_photo
from tests.bad_listings import CASES, TEST_LIMITS, case_rows
from tests.listing_rows import GOOD_PNG, listing, listings_df, photo

CONF = CleaningConf(min_price=1.0, log_price_iqr_multiplier=2.0, min_rows_per_category=10,
                    max_text_chars=TEST_LIMITS["max_text_chars"], max_garbled_share=0.05,
                    photo=PhotoLimits(**TEST_LIMITS["photo"]))
CLOCK = datetime(2026, 7, 1)  # the ingestion's clock: later rows are created_in_future
FIRST_CASE_ID = 5000


@pytest.fixture(scope="module")
def cleaned(spark):
    rows = []
    # 40 plausible phones around 1000 CNY and 40 kids' T-shirts around 50 CNY
    for i in range(40):
        rows.append(listing(i, category="phones", list_price=800 + 10 * i, sold_price=700 + 8 * i))
        rows.append(listing(100 + i, category="childrens_clothing", list_price=40 + i, sold_price=35 + i))
    rows += [
        listing(903, list_price=99999999, sold_price=99999999),     # placeholder... caught as outlier
        listing(905, category="childrens_clothing", list_price=1000, sold_price=900),  # fine for a phone, not here
        listing(906, list_price=1200, sold_price=5.0),              # sold price typo
        listing(907, category="cosmetics", list_price=5000, status="active"),  # tiny category: all-rows bounds
        listing(908, image=None, list_price=1.0),                   # two problems: first reason wins
        listing(909, image=None, sold_price=float("nan")),          # a NaN sold price is invalid too
    ]
    bad, ids = case_rows(FIRST_CASE_ID, list_price=900.0, sold_price=850.0)
    df = listings_df(spark, rows + bad, nullable=True)
    kept, rejected = clean_listings(df, CONF, future_after=CLOCK)
    return df, kept.collect(), rejected.collect(), ids


def test_rows_in_equal_kept_plus_rejected(cleaned):
    df, kept, rejected, _ = cleaned
    assert df.count() == len(kept) + len(rejected)
    assert not {r.listing_id for r in kept} & {r.listing_id for r in rejected}


def test_each_bad_row_gets_its_reason(cleaned):
    _, _, rejected, _ = cleaned
    by_id = {r.listing_id: r for r in rejected if r.listing_id < FIRST_CASE_ID}
    expected = {903: "list_price_outlier", 905: "list_price_outlier", 906: "sold_price_outlier",
                908: "missing_image", 909: "missing_image"}
    assert {i: r.reject_reason for i, r in by_id.items()} == expected
    assert all(r.reject_reason in REJECT_REASONS and r.reject_detail for r in rejected)
    assert "outside [" in by_id[905].reject_detail


def test_the_bad_input_table_gets_its_reasons_with_every_copy_of_a_duplicate(cleaned):
    _, kept, rejected, ids = cleaned
    kept_ids = {r.listing_id for r in kept}
    for case in CASES:
        reasons = [r.reject_reason for r in rejected if r.listing_id == ids[case.name]]
        if case.reason is None:
            assert ids[case.name] in kept_ids and not reasons, case.name
        else:
            assert reasons == [case.reason] * case.copies, case.name
    assert {c.reason for c in CASES} - {None} <= set(REJECT_REASONS)


def test_bounds_are_per_category_and_keep_plausible_rows(cleaned):
    _, kept, _, _ = cleaned
    kept_ids = {r.listing_id for r in kept}
    assert set(range(40)) | set(range(100, 140)) <= kept_ids  # the whole plausible spread survives
    assert 907 in kept_ids  # a small category falls back to bounds over all rows, 5000 is within them


@pytest.mark.parametrize("mode,fmt", [("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"),
                                      ("RGB", "JPEG"), ("RGB", "WEBP"), ("I;16", "PNG")])
def test_every_colour_mode_and_format_becomes_the_models_rgb(mode, fmt):
    out = normalise_photo(photo(mode, fmt, size=(40, 20)), 16, CONF.photo)
    assert out.problem is None and out.pixels.shape == (3, 16, 16) and out.pixels.dtype.name == "uint8"


def test_transparency_and_padding_become_white_not_black():
    clear = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(clear, format="PNG")
    assert (normalise_photo(clear.getvalue(), 8).pixels == 255).all()
    wide = normalise_photo(photo(size=(40, 10)), 20).pixels  # an item photo letterboxed, never stretched
    assert (wide[:, 0, :] == 255).all() and (wide[:, 10, :] == [[120], [30], [200]]).all()


def test_text_checks_take_real_texts_and_refuse_pastes_and_binary():
    limits = ContentLimits.from_conf(CONF)
    assert content_problem(GOOD_PNG, "iPhone 12, 128 GB", "Tiny scratch.\nBox included.\t€ ✓ 中文", limits) == (None, None)
    assert content_problem(GOOD_PNG, "x", "y" * 5000, limits)[0] == "text_too_long"
    assert content_problem(GOOD_PNG, "x", "\x00\x01\x02 hello \ufffd\ufffd", limits)[0] == "garbled_text"
    assert garbled_share("plain words") == 0.0 and garbled_share("") == 0.0
