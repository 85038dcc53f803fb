"""Procedural item photos: shape (item type), colour, brand mark, wear, and photo defects.

Drawn at twice the target size and downsampled, so thin wear scratches blend in the way
they do in a small real photo. All randomness comes from the caller's generator, which is
seeded per listing: the same listing draws the same photo on any executor.
"""
from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from marketplace.shapes import MARK_COLOURS, MARK_SHAPES, SHAPES

PHOTO_DEFECTS = ("blur", "dark", "clutter", "off_centre", "cropped")


def brand_mark(brand: str) -> tuple[str, tuple[int, int, int]]:
    code = zlib.crc32(brand.encode())
    return MARK_SHAPES[code % len(MARK_SHAPES)], MARK_COLOURS[(code // 7) % len(MARK_COLOURS)]


def _shade(colour: tuple[int, ...], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in colour[:3])  # type: ignore[return-value]


def _draw_primitive(draw: ImageDraw.ImageDraw, kind: str, pts: list[float], fill, outline, width: int):
    if kind == "rect":
        draw.rectangle(pts, fill=fill, outline=outline, width=max(1, width // 2))
    elif kind == "ellipse":
        draw.ellipse(pts, fill=fill, outline=outline, width=max(1, width // 2))
    elif kind == "poly":
        draw.polygon(list(zip(pts[::2], pts[1::2])), fill=fill, outline=outline)
    elif kind == "line":
        draw.line(pts, fill=fill, width=width)
    elif kind == "arc":  # upper half of an ellipse: headband, handle
        draw.arc(pts, start=180, end=360, fill=outline, width=width)
    elif kind == "ring":  # ellipse outline: wheel, racket head, chain
        draw.ellipse(pts, outline=outline, width=width)
    else:
        raise ValueError(f"unknown primitive {kind!r}")


def _draw_mark(draw: ImageDraw.ImageDraw, shape: str, colour, cx: float, cy: float, r: float) -> None:
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, int(r / 2.5)))
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=colour)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)
    elif shape == "cross":
        w = r / 2.5
        draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
        draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
    elif shape == "bar":
        draw.rectangle((cx - r, cy - r / 3, cx + r, cy + r / 3), fill=colour)
    elif shape == "chevron":
        draw.line([(cx - r, cy - r / 2), (cx, cy + r / 2), (cx + r, cy - r / 2)], fill=colour, width=max(2, int(r / 2)))


def photo_and_marks(
    rng: np.random.Generator,
    size: int,
    shape: str,
    colour: tuple[int, int, int],
    wear: float,
    brand: str | None,
    defect: str | None,
) -> tuple[bytes, np.ndarray]:
    """(PNG bytes of a `size`x`size` RGB photo of one item, bool [size, size]: where the brand mark
    and the wear marks are drawn).

    The mask is what the photo explanations are checked against (evaluation only): the same
    random draws make the same photo, and the mask is drawn beside it, costing no draw of its own.
    """
    big = size * 2
    bg = tuple(int(v) for v in rng.integers(200, 250, size=3))
    img = Image.new("RGB", (big, big), bg)
    draw = ImageDraw.Draw(img)
    marks = Image.new("L", (big, big), 0)
    marks_draw = ImageDraw.Draw(marks)

    scale = rng.uniform(0.72, 0.92) * big
    ox = (big - scale) / 2 + rng.uniform(-0.06, 0.06) * big
    oy = (big - scale) / 2 + rng.uniform(-0.06, 0.06) * big
    if defect == "off_centre":  # push the item partly out of frame
        shift = rng.uniform(0.38, 0.5) * big * rng.choice([-1, 1])
        if rng.random() < 0.5:
            ox += shift
        else:
            oy += shift

    faded = _shade(colour, 1.0 - 0.25 * wear) if wear > 0 else colour
    paints = {"item": faded, "dark": _shade(colour, 0.35), "light": _shade((235, 235, 235), 1.0)}
    width = max(2, big // 24)
    for kind, unit, paint in SHAPES[shape]:
        pts = [ox + u * scale if i % 2 == 0 else oy + u * scale for i, u in enumerate(unit)]
        if paint == "outline":
            _draw_primitive(draw, kind, pts, None if kind != "line" else faded, faded, width)
        else:
            fill = paints[paint]
            _draw_primitive(draw, kind, pts, fill, _shade(fill, 0.6), width)

    if brand:
        mark_shape, mark_colour = brand_mark(brand)
        _draw_mark(draw, mark_shape, mark_colour, ox + 0.5 * scale, oy + 0.5 * scale, 0.09 * scale)
        _draw_mark(marks_draw, mark_shape, 255, ox + 0.5 * scale, oy + 0.5 * scale, 0.09 * scale)

    # Wear: scratches and stains over the item, more the worse its condition.
    for _ in range(rng.poisson(10 * wear)):
        x0, y0 = ox + rng.uniform(0.2, 0.8) * scale, oy + rng.uniform(0.2, 0.8) * scale
        dx, dy = rng.uniform(-0.15, 0.15, size=2) * scale
        tone = (255, 255, 255) if rng.random() < 0.5 else (20, 20, 20)
        draw.line((x0, y0, x0 + dx, y0 + dy), fill=tone, width=max(1, big // 64))
        marks_draw.line((x0, y0, x0 + dx, y0 + dy), fill=255, width=max(1, big // 64))
    for _ in range(rng.poisson(6 * wear)):
        x0, y0 = ox + rng.uniform(0.2, 0.8) * scale, oy + rng.uniform(0.2, 0.8) * scale
        r = rng.uniform(0.02, 0.05) * scale
        draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=(110, 90, 60))
        marks_draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=255)

    if defect == "clutter":  # other things lying around, over and behind the item
        for _ in range(rng.integers(8, 15)):
            x0, y0 = rng.uniform(-0.1, 0.9, size=2) * big
            w, h = rng.uniform(0.08, 0.3, size=2) * big
            fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x0 + w, y0 + h), fill=fill)

    img = img.resize((size, size), Image.LANCZOS)
    marks = marks.resize((size, size), Image.BILINEAR)
    if defect == "cropped":  # a close-up of part of the item
        side = rng.uniform(0.42, 0.58) * size
        x0, y0 = rng.uniform(0, size - side, size=2)
        img = img.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)
        marks = marks.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)
    elif defect == "blur":
        img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.035, 0.05) * size))
    elif defect == "dark":  # under-exposed with uneven light from one side
        arr = np.asarray(img, dtype=np.float32)
        gradient = np.linspace(rng.uniform(0.1, 0.2), rng.uniform(0.3, 0.45), size, dtype=np.float32)
        if rng.random() < 0.5:
            gradient = gradient[::-1]
        arr = arr * (gradient[None, :, None] if rng.random() < 0.5 else gradient[:, None, None])
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue(), np.asarray(marks) >= 64  # a quarter-covered pixel or more
