"""The synthetic world's statistics, measured from what a platform would see (prices, pixels, text)."""
from __future__ import annotations

import io
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from marketplace.world import World, WorldClock

N = 1500


@pytest.fixture(scope="module")
def world_sample(tiny_conf):
    gen = tiny_conf.generator
    clock = WorldClock(datetime(2026, 6, 1), 25.0, datetime(2026, 8, 15))  # 60 days + 15 to close
    return gen, World(gen, n_sellers=200).generate(np.arange(1, N + 1), clock)


def test_same_listing_id_gives_the_same_row(tiny_conf):
    world = World(tiny_conf.generator, n_sellers=50)
    clock = WorldClock(datetime(2026, 6, 1), 10.0, datetime(2026, 6, 21))
    a, b = world.listing(17, clock), world.listing(17, clock)
    assert a == b
    assert a != world.listing(18, clock)


def test_photo_stream_is_independent_of_drawing(tiny_conf):
    world = World(tiny_conf.generator, n_sellers=50)
    clock = WorldClock(datetime(2026, 6, 1), 10.0, datetime(2026, 6, 21))
    with_photo, without = world.listing(5, clock, True), world.listing(5, clock, False)
    assert without.pop("image") is None and with_photo.pop("image") is not None
    assert with_photo == without


def test_photo_marks_are_where_the_brand_and_wear_marks_are_drawn(tiny_conf):
    world = World(tiny_conf.generator, n_sellers=50)
    clock = WorldClock(datetime(2026, 6, 1), 10.0, datetime(2026, 6, 21))
    rows = {i: world.listing(i, clock) for i in range(1, 400)}
    plain = next(i for i, r in rows.items() if not r["true_brand"] and r["true_condition"] == "new"
                 and not r["photo_defect"])
    branded = next(i for i, r in rows.items() if r["true_brand"] and r["true_condition"] == "new"
                   and not r["photo_defect"])
    worn = next(i for i, r in rows.items() if not r["true_brand"] and r["true_condition"] == "poor"
                and not r["photo_defect"])
    assert not world.photo_marks(plain, clock).any()  # nothing drawn on an unbranded new item
    mark = world.photo_marks(branded, clock)
    size = tiny_conf.generator.image_size
    ys, xs = np.nonzero(mark)
    # the mark sits at the item's centre, within the generator's offset of the photo's centre
    assert 0 < mark.mean() < 0.05 and abs(ys.mean() - size / 2) < 0.1 * size and abs(xs.mean() - size / 2) < 0.1 * size
    pixels = np.asarray(Image.open(io.BytesIO(rows[branded]["image"])).convert("RGB"), dtype=float)
    assert pixels[mark].std(axis=0).mean() < pixels[~mark].std(axis=0).mean()  # one flat colour under the mask
    assert world.photo_marks(worn, clock).mean() > mark.mean()  # scratches and stains over the item


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.price_defect.isna()]


def test_prices_are_long_tailed_over_orders_of_magnitude(world_sample):
    _, df = world_sample
    prices = clean(df).list_price
    assert np.log10(prices.quantile(0.99) / prices.quantile(0.01)) > 2.5
    assert prices.mean() > 1.5 * prices.median()  # right-skewed in currency
    logs = np.log(prices)
    assert abs(logs.mean() - logs.median()) < 0.35  # ... roughly symmetric in logs


def test_category_price_levels_are_ordered_as_configured(world_sample):
    _, df = world_sample
    medians = clean(df).groupby("category").list_price.median()
    assert medians["phones"] > 5 * medians["childrens_clothing"]
    assert medians["household_appliances"] > medians["cosmetics"]
    assert medians["childrens_shoes"] < medians["mens_shoes"]


def test_list_price_is_about_1_2_times_sold_price(world_sample):
    _, df = world_sample
    sold = clean(df[df.status == "sold"])
    ratio = float(np.exp(np.log(sold.list_price / sold.sold_price).mean()))
    assert 1.12 < ratio < 1.32
    assert (sold.sold_price <= sold.list_price).all()


def test_overpriced_listings_sell_less(world_sample):
    _, df = world_sample
    closed = clean(df[df.status != "active"])
    markup = np.log(closed.list_price) - closed.log_fair_price
    sold = closed.status == "sold"
    high = markup > markup.quantile(0.8)
    low = markup < markup.quantile(0.2)
    assert sold[low].mean() > sold[high].mean() + 0.2


def luminance(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low for blurred photos."""
    lap = (-4 * gray[1:-1, 1:-1] + gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:])
    return float(lap.var())


def test_degraded_photo_fractions_measured_from_pixels(world_sample):
    gen, df = world_sample
    images = [luminance(b) for b in df.image.dropna() if len(b) > 100 and b[-8:] == df.image.dropna().iloc[0][-8:]]
    per_defect = gen.degraded_photo_share / 5  # five defect kinds, equally likely
    dark = np.mean([img.mean() < 80 for img in images])
    blurry = np.mean([sharpness(img) < 20 and img.mean() >= 80 for img in images])
    assert per_defect * 0.5 < dark < per_defect * 1.6
    assert per_defect * 0.5 < blurry < per_defect * 1.8


def test_useless_text_fraction(world_sample):
    gen, df = world_sample
    vocabulary = set()
    for cat in gen.categories:
        for name in list(cat.brands) + list(cat.spec.values) + list(cat.materials):
            vocabulary |= set(re.findall(r"[\w']+", name.lower()))
    vocabulary |= {c.lower() for c in gen.colours} | {"used", "new", "wear", "worn"}
    text = (df.title + " " + df.description).str.lower()
    useless = ~text.apply(lambda t: bool(vocabulary & set(re.findall(r"[\w']+", t))))
    assert gen.useless_text_share * 0.8 < useless.mean() < gen.useless_text_share * 1.4


def test_irrational_price_fraction_by_robust_per_category_fences(world_sample):
    gen, df = world_sample
    logs = np.log(df.list_price)
    q1 = logs.groupby(df.category).transform(lambda s: s.quantile(0.25))
    q3 = logs.groupby(df.category).transform(lambda s: s.quantile(0.75))
    iqr = q3 - q1
    outside = (logs < q1 - 2 * iqr) | (logs > q3 + 2 * iqr) | (df.list_price <= 1)
    assert gen.irrational_price_share * 0.6 < outside.mean() < gen.irrational_price_share * 1.5


def test_seller_listing_counts_are_zipf_like(world_sample):
    _, df = world_sample
    counts = df.seller_id.value_counts()
    assert counts.iloc[0] > 5 * counts.median()  # a few power sellers
    assert (counts == 1).sum() > 0  # and occasional ones
