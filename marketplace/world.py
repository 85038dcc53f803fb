"""The synthetic marketplace's rules: who sells what, at which price, and what happens to it.

Everything about listing `i` is a pure function of (seed, i) and the world's clock, drawn
from generators seeded with [seed, i, stream]: the result does not depend on how rows are
partitioned, on which executor they run, or on generation order. Streams keep the photo's
random draws apart from the listing's, so skipping the drawing (for `listing_truth`) does
not change any other value.

Price model (natural logs, `fair` = what the item is worth on this market today):
  log_fair  = log(category median) + spread * (item type + brand + spec + material)
              + log(condition depreciation) + item noise            (item noise: hidden)
  log_list  = log_fair + log(list_markup) + seller habit + list noise
  P(sold)   = sigmoid(logit(base_p) - elasticity * (log_list - log_fair - log(list_markup)))
  log_sold  = min(log_list, log_fair + market noise + passthrough * (seller habit + list noise))
The oracle that knows `fair` still misses log_sold - log_fair: the floor evaluation reports.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from marketplace.photos import PHOTO_DEFECTS, photo_and_marks
from marketplace.texts import compose_text
from pricesuggest.config import GeneratorConf

STREAM_LISTING, STREAM_PHOTO, STREAM_SELLER = 0, 1, 2
PLACEHOLDER_PRICES = (1.0, 0.01, 9999999.0, 99999999.0, 88888888.0, 123456.0)
ROW_DEFECTS = ("missing_image", "corrupt_image", "empty_title")

LISTING_COLUMNS = [
    "listing_id", "seller_id", "category", "brand", "condition", "title", "description",
    "image", "status", "list_price", "sold_price", "currency", "created_at", "closed_at",
]
TRUTH_COLUMNS = [
    "listing_id", "fair_price", "log_fair_price", "sold_log_residual", "seller_bias_log",
    "item_noise_log", "true_brand", "true_condition", "item_type", "colour", "material",
    "spec_name", "spec_value", "photo_defect", "text_useless", "brand_in_text",
    "spec_in_text", "condition_in_text", "brand_in_photo", "price_defect", "row_defect",
]


@dataclass(frozen=True)
class WorldClock:
    """The world's time line: listing i is created at start + (i - 1 + u) / rate days."""

    start: datetime
    listings_per_day: float
    now: datetime

    def listing_count(self) -> int:
        days = (self.now - self.start) / timedelta(days=1)
        return int(math.floor(days * self.listings_per_day + 1e-9))


class World:
    def __init__(self, conf: GeneratorConf, n_sellers: int | None = None):
        self.conf = conf
        self.n_sellers = n_sellers or conf.sellers
        # Zipf-Mandelbrot: a few power sellers, a long tail of occasional ones.
        ranks = np.arange(1, self.n_sellers + 1) + conf.seller.zipf_offset
        weights = 1.0 / ranks ** conf.seller.zipf_exponent
        self.seller_cdf = np.cumsum(weights) / weights.sum()
        cat_w = np.array([c.weight for c in conf.categories])
        self.category_cdf = np.cumsum(cat_w) / cat_w.sum()
        cond_w = np.array([c.weight for c in conf.conditions])
        self.condition_cdf = np.cumsum(cond_w) / cond_w.sum()
        self.colour_names = list(conf.colours)

    # ------------------------------------------------------------------ sellers

    def seller_traits(self, seller_id: int) -> tuple[float, int]:
        """(personal list-price habit in log, home category index) of one seller."""
        s = self.conf.seller
        rng = np.random.default_rng([self.conf.seed, int(seller_id), STREAM_SELLER])
        bias = rng.normal(0.0, s.bias_sd)
        kind = rng.random()
        if kind < s.overpricer_share:
            bias += s.overpricer_log
        elif kind < s.overpricer_share + s.underpricer_share:
            bias += s.underpricer_log
        home = int(np.searchsorted(self.category_cdf, rng.random(), side="right"))
        return float(bias), min(home, len(self.conf.categories) - 1)

    # ------------------------------------------------------------------ one listing

    def listing(self, listing_id: int, clock: WorldClock, draw_images: bool = True) -> dict:
        c = self.conf
        rng = np.random.default_rng([c.seed, int(listing_id), STREAM_LISTING])
        pick = lambda cdf: min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)  # noqa: E731

        seller_id = pick(self.seller_cdf) + 1
        bias, home = self.seller_traits(seller_id)
        cat_index = home if rng.random() < c.home_category_share else pick(self.category_cdf)
        cat = c.categories[cat_index]
        cond = c.conditions[pick(self.condition_cdf)]

        item_type = str(rng.choice(list(cat.item_types)))
        brand = None if rng.random() < c.unbranded_share else str(rng.choice(list(cat.brands)))
        spec_value = str(rng.choice(list(cat.spec.values)))
        material = str(rng.choice(list(cat.materials))) if cat.materials else None
        colour = str(rng.choice(self.colour_names))

        effects = cat.item_types[item_type] + cat.spec.values[spec_value]
        effects += cat.brands[brand] if brand else 0.0
        effects += cat.materials[material] if material else 0.0
        item_noise = rng.normal(0.0, c.item_noise_sd)
        log_fair = math.log(cat.median_price) + cat.spread * effects + math.log(cond.depreciation) + item_noise

        habit = bias + rng.normal(0.0, c.list_noise_sd)
        log_list = log_fair + math.log(c.list_markup) + habit
        logit = math.log(c.base_sell_probability / (1 - c.base_sell_probability)) - c.price_elasticity * habit
        sells = rng.random() < 1.0 / (1.0 + math.exp(-logit))
        log_sold = min(log_list, log_fair + rng.normal(0.0, c.market_noise_sd) + c.sold_passthrough * habit)

        u_created = rng.random()
        created_at = clock.start + timedelta(days=(listing_id - 1 + u_created) / clock.listings_per_day)
        if sells:  # time to sale: exponential, truncated to the listing's life
            tail = 1.0 - math.exp(-c.expiry_days / c.mean_days_to_sell)
            days_open = -c.mean_days_to_sell * math.log(1.0 - rng.random() * tail)
        else:
            days_open = float(c.expiry_days)
        closes_at = created_at + timedelta(days=days_open)

        # What the seller reveals, and what got lost.
        useless = rng.random() < c.useless_text_share
        shows = {k: rng.random() < p for k, p in
                 (("brand", 0.75), ("colour", 0.6), ("spec", 0.7), ("material", 0.6), ("condition", 0.5))}
        photo_defect = str(rng.choice(PHOTO_DEFECTS)) if rng.random() < c.degraded_photo_share else None
        form_brand = self._form_brand(rng, brand, cat.brands)
        form_condition = self._form_condition(rng, cond.name)
        title, description = compose_text(rng, cat.name, brand, colour, cat.spec.name, spec_value,
                                          material, cond.name, useless, shows)

        list_price = max(1.0, round(math.exp(log_list)))
        sold_price = max(1.0, min(list_price, round(math.exp(log_sold))))
        sold_log_residual = math.log(sold_price) - log_fair
        price_defect = None
        if rng.random() < c.irrational_price_share:
            if rng.random() < 0.6:
                price_defect = "placeholder"
                list_price = sold_price = float(rng.choice(PLACEHOLDER_PRICES))
            else:
                price_defect = "typo_x100" if rng.random() < 0.5 else "typo_div100"
                factor = 100.0 if price_defect == "typo_x100" else 0.01
                list_price, sold_price = list_price * factor, sold_price * factor
        row_defect = str(rng.choice(ROW_DEFECTS)) if rng.random() < c.broken_row_share else None

        closed = closes_at <= clock.now
        status = ("sold" if sells else "unsold") if closed else "active"
        image = None
        if draw_images:
            image = self._photo(listing_id, item_type, colour, cond.wear, brand, photo_defect)[0]
            if row_defect == "missing_image":
                image = None
            elif row_defect == "corrupt_image":
                image = image[: len(image) // 3]  # a truncated upload
        if row_defect == "empty_title":
            title = ""

        return {
            "listing_id": int(listing_id), "seller_id": int(seller_id), "category": cat.name,
            "brand": form_brand, "condition": form_condition, "title": title, "description": description,
            "image": image, "status": status, "list_price": float(list_price),
            "sold_price": float(sold_price) if status == "sold" else None, "currency": "CNY",
            "created_at": created_at, "closed_at": closes_at if closed else None,
            # listing_truth
            "fair_price": math.exp(log_fair), "log_fair_price": log_fair,
            "sold_log_residual": sold_log_residual, "seller_bias_log": bias, "item_noise_log": item_noise,
            "true_brand": brand, "true_condition": cond.name, "item_type": item_type, "colour": colour,
            "material": material, "spec_name": cat.spec.name, "spec_value": spec_value,
            "photo_defect": photo_defect, "text_useless": useless,
            "brand_in_text": bool(brand) and shows["brand"] and not useless,
            "spec_in_text": shows["spec"] and not useless,
            "condition_in_text": shows["condition"] and not useless,
            "brand_in_photo": bool(brand) and photo_defect not in ("cropped", "off_centre", "dark"),
            "price_defect": price_defect, "row_defect": row_defect,
        }

    def _photo(self, listing_id: int, item_type: str, colour: str, wear: float, brand: str | None,
               defect: str | None) -> tuple[bytes, np.ndarray]:
        """(the listing's photo, where its brand and wear marks are drawn), from the listing's photo stream."""
        c = self.conf
        rng = np.random.default_rng([c.seed, int(listing_id), STREAM_PHOTO])
        return photo_and_marks(rng, c.image_size, item_type, tuple(c.colours[colour]), wear, brand, defect)

    def photo_marks(self, listing_id: int, clock: WorldClock) -> np.ndarray:
        """Bool [size, size]: where listing `listing_id`'s photo shows its brand mark and wear marks.
        Evaluation only: what the photo explanations (model/explain.py) are checked against."""
        row = self.listing(listing_id, clock, draw_images=False)
        wear = next(cond.wear for cond in self.conf.conditions if cond.name == row["true_condition"])
        return self._photo(listing_id, row["item_type"], row["colour"], wear, row["true_brand"], row["photo_defect"])[1]

    def _form_brand(self, rng: np.random.Generator, brand: str | None, brands: dict[str, float]) -> str | None:
        r = rng.random()
        if brand is None or r < self.conf.brand_missing_share:
            return None
        if r < self.conf.brand_missing_share + self.conf.brand_wrong_share:
            return str(rng.choice([b for b in brands if b != brand]))
        return brand

    def _form_condition(self, rng: np.random.Generator, condition: str) -> str | None:
        r = rng.random()
        if r < self.conf.condition_missing_share:
            return None
        names = [c.name for c in self.conf.conditions]
        if r < self.conf.condition_missing_share + self.conf.condition_wrong_share:
            return names[max(0, names.index(condition) - 1)]  # optimistic: one grade better
        return condition

    # ------------------------------------------------------------------ batches

    def generate(self, listing_ids: np.ndarray, clock: WorldClock, draw_images: bool = True) -> pd.DataFrame:
        rows = [self.listing(int(i), clock, draw_images) for i in listing_ids]
        frame = pd.DataFrame(rows, columns=list(dict.fromkeys(LISTING_COLUMNS + TRUTH_COLUMNS)))
        for column in ("created_at", "closed_at"):
            # microseconds: Spark rejects nanosecond timestamps in Parquet
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
        return frame
