"""The README's screenshot of the seller's page: a demo listing uploaded in headless Chromium.

  make serve &                                   # after make demo
  .venv/bin/python scripts/seller_page_screenshot.py --out docs/img/seller_page.png

Takes one active demo listing (its stored photo and text), fills the page's form with it in
Debian's chromium (the browser the page test drives), submits, waits for the result and saves
a PNG of the page.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def demo_listing(listing_id: int | None) -> dict:
    from pyspark.sql import functions as F

    from pricesuggest.clock import run_clock
    from pricesuggest.config import load_config
    from pricesuggest.delta_io import read_table
    from pricesuggest.spark import build_session
    from scoring.transforms import active_listings

    conf = load_config()
    spark = build_session(conf, "seller_page_screenshot")
    listings = active_listings(read_table(spark, conf.storage.table_path("listings")), run_clock(spark, conf, None))
    if listing_id is not None:
        listings = listings.where(F.col("listing_id") == listing_id)
    row = listings.where("brand IS NOT NULL AND condition IS NOT NULL").orderBy("listing_id").first()
    spark.stop()
    return {**row.asDict(), "image": bytes(row["image"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/")
    parser.add_argument("--listing-id", type=int, help="default: the first active listing with a brand and condition")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/seller_page.png")
    args = parser.parse_args(argv)
    from tests.live_server import headless_chromium, price_on_the_page

    listing = demo_listing(args.listing_id)
    browser = headless_chromium("--window-size=900,1100")
    with tempfile.TemporaryDirectory() as scratch:
        photo = Path(scratch) / "photo.png"
        photo.write_bytes(listing["image"])
        try:
            price_on_the_page(browser, args.url, listing, photo)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(args.out))
        finally:
            browser.quit()
    print(f"listing {listing['listing_id']}: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
