"""The one photo decoder: an upload's bytes -> the model's RGB pixels, or the reason it cannot be used.

Cleaning (for statistics, the training set and batch scoring), the model's encode path (training,
scoring, the evaluation) and the upload-time service all call `normalise_photo`, so they agree on
what a photo is. Outcomes, checked in this order (limits: `cleaning.photo` in conf):

| input                                            | outcome                                   |
|--------------------------------------------------|-------------------------------------------|
| no bytes                                         | rejected: `missing_image`                 |
| more than `max_bytes`                            | rejected: `image_too_large`               |
| not PNG, JPEG or WebP (or no known header)       | rejected: `unsupported_image_format`      |
| more than `max_pixels` (read from the header)    | rejected: `image_too_many_pixels`         |
| the pixels do not decode (truncated, corrupt)    | rejected: `undecodable_image`             |
| any colour mode (L, LA, P, RGBA, CMYK, I;16 ...) | RGB; transparency composited on white     |
| any size and aspect                              | padded to a square on white, resized      |

The pixel limit is checked before decoding, so a decompression bomb is refused without
allocating it. Photo-quality reasons (blur, darkness) are computed later, on these pixels.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

PHOTO_FORMATS = ("PNG", "JPEG", "WEBP")
PHOTO_REASONS = ("missing_image", "image_too_large", "unsupported_image_format", "image_too_many_pixels",
                 "undecodable_image")
BACKGROUND = (255, 255, 255)  # what transparency and padding become: the listings' photos are shot on white


@dataclass(frozen=True)
class PhotoLimits:
    """cleaning.photo: what an upload may be before it is refused."""
    max_bytes: int
    max_pixels: int


class Photo(NamedTuple):
    pixels: np.ndarray | None  # uint8 [3, size, size], None when rejected
    problem: str | None        # one of PHOTO_REASONS, None when usable
    detail: str | None = None


def _signature(data: bytes) -> str | None:
    """The accepted format whose magic bytes `data` starts with."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _rejected(problem: str, detail: str) -> Photo:
    return Photo(None, problem, detail)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode -> RGB; transparent pixels become the white background, not black."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", img.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale to 8 bits before RGB
        scaled = np.asarray(img, dtype=np.float64)
        top = max(float(scaled.max()), 1.0)
        return Image.fromarray(np.round(scaled / top * 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def _open_checked(data: bytes | None, limits: PhotoLimits | None) -> tuple[Image.Image | None, Photo | None]:
    """(the decoded RGB image, None) or (None, the rejection)."""
    if data is None or len(data) == 0:
        return None, _rejected("missing_image", "no image bytes")
    if limits is not None and len(data) > limits.max_bytes:
        return None, _rejected("image_too_large", f"{len(data)} bytes (limit {limits.max_bytes})")
    try:
        img = Image.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - PIL raises several types for "not an image it knows"
        if signature := _signature(data):  # a photo cut off inside its header
            return None, _rejected("undecodable_image", f"{signature} header does not parse ({len(data)} bytes)")
        return None, _rejected("unsupported_image_format", f"no PNG, JPEG or WebP header ({len(data)} bytes)")
    with img:
        if img.format not in PHOTO_FORMATS:
            return None, _rejected("unsupported_image_format",
                                   f"{img.format} (accepted: {', '.join(PHOTO_FORMATS)})")
        width, height = img.size
        if limits is not None and width * height > limits.max_pixels:
            return None, _rejected("image_too_many_pixels", f"{width}x{height} (limit {limits.max_pixels} pixels)")
        try:
            img.load()  # decodes every pixel: catches truncated uploads, not just bad headers
            return _to_rgb(ImageOps.exif_transpose(img)), None
        except Exception:  # noqa: BLE001 - any decoder failure means the same thing here
            return None, _rejected("undecodable_image",
                                   f"{img.format} {width}x{height} does not decode ({len(data)} bytes)")


def photo_problem(data: bytes | None, limits: PhotoLimits) -> tuple[str | None, str | None]:
    """(reason, detail) why an upload cannot be used as a photo, or (None, None)."""
    _, rejected = _open_checked(data, limits)
    return (rejected.problem, rejected.detail) if rejected else (None, None)


def normalise_photo(data: bytes | None, size: int, limits: PhotoLimits | None = None) -> Photo:
    """Upload bytes -> Photo(pixels [3, size, size] uint8, None) or Photo(None, reason, detail).

    `limits` None skips the byte and pixel limits: the model's encode path reads rows that
    cleaning already judged with them.
    """
    rgb, rejected = _open_checked(data, limits)
    if rejected:
        return rejected
    if rgb.size != (size, size):
        rgb = ImageOps.pad(rgb, (size, size), Image.BILINEAR, color=BACKGROUND)
    # C-contiguous: Petastorm ravels multi-dimensional fields and accepts row-major arrays only
    return Photo(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)), None)


def photo_pixels(data: bytes | None, size: int) -> np.ndarray:
    """The model's input for a cleaned row: the pixels, or zeros if the photo cannot be used.

    Zeros, not an exception: one bad row reaching a batch must not stop a scoring run (cleaning
    rejects such rows before they get here; the zeros are a last line of defence). Bytes, not
    floats: a row group of decoded photos passes through pandas and Arrow inside Petastorm several
    times, and uint8 makes each copy 4x cheaper; `training.train.to_device` scales to [0, 1].
    """
    photo = normalise_photo(data, size)
    return photo.pixels if photo.pixels is not None else np.zeros((3, size, size), dtype=np.uint8)
