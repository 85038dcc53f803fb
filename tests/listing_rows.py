"""Hand-made listings for transform tests: every column of the `listings` contract."""
from __future__ import annotations

import io
from datetime import datetime

from PIL import Image
from pyspark.sql import types as T

from marketplace.generate import LISTINGS_SCHEMA


def png(colour=(120, 30, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


GOOD_PNG = png()


def listing(listing_id: int, *, seller_id: int = 1, category: str = "phones", status: str = "sold",
            list_price: float = 120.0, sold_price: float | None = 100.0, created_at: datetime = datetime(2026, 6, 1),
            closed_at: datetime | None = datetime(2026, 6, 3), title: str = "a phone", image: bytes | None = GOOD_PNG,
            description: str | None = "desc"):
    if status != "sold":
        sold_price = None
    if status == "active":
        closed_at = None
    return (listing_id, seller_id, category, None, None, title, description, image, status, float(list_price),
            None if sold_price is None else float(sold_price), "CNY", created_at, closed_at)


def listings_df(spark, rows, nullable: bool = False):
    """nullable: every column may hold nulls, as an upstream table without constraints does."""
    schema = T.StructType([T.StructField(f.name, f.dataType, True) for f in LISTINGS_SCHEMA]) if nullable \
        else LISTINGS_SCHEMA
    return spark.createDataFrame(rows, schema)


def photo(mode: str = "RGB", fmt: str = "PNG", size: tuple[int, int] = (8, 8), noise: bool = False) -> bytes:
    """An upload in any colour mode, format and size (noise: incompressible, for the byte limit)."""
    if noise:
        import numpy as np
        pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        img = Image.fromarray(pixels)
    else:
        img = Image.new("RGB", size, (120, 30, 200))
    img = img.convert(mode)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()
