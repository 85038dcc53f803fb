"""What the service refuses before any model runs: cleaning's reasons, the platform's categories."""
from __future__ import annotations

from ingest.cleaning import ContentLimits
from pricesuggest.photo import PhotoLimits
from serving.suggester import UploadedListing, listing_problem
from tests.listing_rows import GOOD_PNG, photo

LIMITS = ContentLimits(PhotoLimits(max_bytes=200_000, max_pixels=3_000_000), max_text_chars=200, max_garbled_share=0.05)
CATEGORIES = ["phones", "shoes"]


def upload(**changes) -> UploadedListing:
    fields = {"photo": GOOD_PNG, "title": "a phone", "description": "128GB, like new", "category": "phones",
              "seller_id": 7}
    return UploadedListing(**{**fields, **changes})


def test_an_upload_is_judged_by_cleanings_rules_and_the_models_categories():
    assert listing_problem(upload(), LIMITS, CATEGORIES) is None
    assert listing_problem(upload(photo=photo("CMYK", "JPEG")), LIMITS, CATEGORIES) is None  # converted, as in batch
    cases = {"photo": (b"GIF89a....", "unsupported_image_format"), "title": (" ", "empty_title"),
             "description": ("x" * 500, "text_too_long"), "category": ("spaceships", "unknown_category")}
    for field, (value, reason) in cases.items():
        assert listing_problem(upload(**{field: value}), LIMITS, CATEGORIES)[0] == reason, field
    assert listing_problem(upload(category=" "), LIMITS, CATEGORIES)[0] == "missing_category"
    assert listing_problem(upload(photo=photo(size=(2000, 2000))), LIMITS, CATEGORIES)[0] == "image_too_many_pixels"
