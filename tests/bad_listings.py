"""The bad-input table: what upstream really sends, and each row's defined outcome.

One table for every consumer of the cleaning rules: `tests/ingest/test_cleaning.py` runs it
through cleaning (the statistics' and the training set's rules) and
`tests/scoring/test_score_job.py` through `score_listings`, together with good rows. The
photo limits are lowered (`TEST_LIMITS`) so that oversized uploads stay small in a test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tests.listing_rows import photo

# cleaning.photo and the text limit, lowered for the table's oversized cases
TEST_LIMITS = {"max_text_chars": 2000, "photo": {"max_bytes": 200_000, "max_pixels": 3_000_000}}
FUTURE = datetime(2030, 1, 1)
BINARY_AS_TEXT = bytes(range(256)).decode("latin-1") * 2  # control bytes, as a binary upload read as text


@dataclass(frozen=True)
class Case:
    name: str
    row: dict = field(default_factory=dict)  # tests.listing_rows.listing keywords
    reason: str | None = None                # cleaning's verdict (None: kept)
    scored: bool = True                      # scoring: a suggestion (True) or a `rejected` row
    copies: int = 1                          # rows appended with this case's id


CASES = [
    # who the row is
    Case("duplicate_id", reason="duplicate_listing_id", scored=False, copies=2),
    Case("created_in_future", {"created_at": FUTURE}, "created_in_future", scored=False),
    Case("null_created_at", {"created_at": None}, "missing_created_at", scored=False),
    Case("null_seller", {"seller_id": None}, "missing_seller_id", scored=False),
    Case("null_category", {"category": None}, "missing_category", scored=False),
    Case("empty_category", {"category": "  "}, "missing_category", scored=False),
    Case("unknown_category", {"category": "spaceships"}),  # scored, never qualified
    Case("new_seller", {"seller_id": 987654}),             # cold start: scored
    # the photo
    Case("no_photo", {"image": None}, "missing_image", scored=False),
    Case("empty_photo", {"image": b""}, "missing_image", scored=False),
    Case("truncated_png", {"image": photo()[:20]}, "undecodable_image", scored=False),
    Case("text_as_photo", {"image": b"not an image at all"}, "unsupported_image_format", scored=False),
    Case("gif", {"image": photo(fmt="GIF")}, "unsupported_image_format", scored=False),
    Case("too_many_pixels", {"image": photo(size=(2000, 2000))}, "image_too_many_pixels", scored=False),
    Case("too_many_bytes", {"image": photo(size=(300, 300), noise=True)}, "image_too_large", scored=False),
    Case("grayscale_png", {"image": photo("L")}),
    Case("rgba_png", {"image": photo("RGBA")}),
    Case("palette_png", {"image": photo("P")}),
    Case("jpeg", {"image": photo(fmt="JPEG")}),
    Case("cmyk_jpeg", {"image": photo("CMYK", "JPEG")}),
    Case("webp", {"image": photo(fmt="WEBP")}),
    Case("large_png", {"image": photo(size=(1500, 1000))}),  # within the limits: padded and resized
    # the text
    Case("blank_title", {"title": "   "}, "empty_title", scored=False),
    Case("null_title", {"title": None}, "empty_title", scored=False),
    Case("huge_description", {"description": "cheap phone " * 500}, "text_too_long", scored=False),
    Case("binary_description", {"description": BINARY_AS_TEXT}, "garbled_text", scored=False),
    Case("empty_description", {"description": ""}),
    Case("null_description", {"description": None}),
    # the prices: flagged; a scored listing keeps its suggestion, the training set drops the row
    Case("zero_price", {"list_price": 0.0}, "price_placeholder"),
    Case("negative_price", {"list_price": -5.0}, "price_placeholder"),
    Case("nan_price", {"list_price": float("nan")}, "invalid_price"),
    Case("infinite_price", {"list_price": float("inf")}, "invalid_price"),
    Case("absurd_price", {"list_price": 88888888.0}, "list_price_outlier"),
]


def case_rows(first_id: int, **defaults) -> tuple[list[tuple], dict[str, int]]:
    """(listing rows, case name -> listing id): every case's rows, from `defaults` and its overrides."""
    from tests.listing_rows import listing

    rows, ids = [], {}
    for offset, case in enumerate(CASES):
        ids[case.name] = first_id + offset
        rows += [listing(first_id + offset, **{**defaults, **case.row})] * case.copies
    return rows, ids
