"""Training-table rows -> model tensors: PNG decoding, token ids, normalised statistics.

`ModelInputs` is what a trained model needs besides its weights (vocabulary, statistics
normalisation, column names); it travels in every checkpoint. `encode_frame` turns a
pandas batch of training-table rows into arrays; it runs inside Petastorm's TransformSpec
on the readers' workers, so PNGs are decoded next to the data, never on the driver.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image

from models.stats_input import StatsNormalizer
from models.text import Vocabulary

LABEL_COLUMNS = ["listing_id", "label_sold", "log_sold_price", "log_list_price"]
TEXT_COLUMNS = ["title", "description"]
# Seller-entered fields the multiple single-task CNNs are pre-trained to predict from the photo.
VISUAL_TASKS = ("brand", "category", "condition")
MISSING_LABEL = -1  # the field is empty: that row does not train that task


def decode_png(data: bytes | None, size: int) -> np.ndarray:
    """PNG bytes -> uint8 [3, size, size]; a missing/broken image is all zeros.

    Bytes, not floats: a row group of decoded photos passes through pandas and Arrow inside
    Petastorm several times, and uint8 makes each copy 4x cheaper. `models.train.to_device`
    scales to [0, 1] on the training device.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.BILINEAR)
            # C-contiguous: Petastorm ravels multi-dimensional fields and accepts row-major arrays only
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))
    except Exception:  # noqa: BLE001 - scoring must not crash on one bad upload
        return np.zeros((3, size, size), dtype=np.uint8)


def listing_text(titles: pd.Series, descriptions: pd.Series) -> list[str]:
    return (titles.fillna("") + " " + descriptions.fillna("")).tolist()


@dataclass
class ModelInputs:
    vocabulary: Vocabulary
    stats: StatsNormalizer
    image_size: int
    text_length: int
    # task -> class names (from the train split) for the single-task CNNs; empty: not used
    task_classes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stats_columns(self) -> list[str]:
        return self.stats.columns

    def source_columns(self) -> list[str]:
        return ["image", *TEXT_COLUMNS, *self.stats_columns, *LABEL_COLUMNS, *sorted(self.task_classes)]

    def task_labels(self, frame: pd.DataFrame, task: str) -> np.ndarray:
        """Class ids of a seller-entered field; empty or unseen values -> MISSING_LABEL."""
        index = {name: i for i, name in enumerate(self.task_classes[task])}
        return frame[task].map(index).fillna(MISSING_LABEL).to_numpy(dtype=np.int64)

    def encode_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """A batch of training-table rows -> arrays (image, tokens, stats, labels)."""
        sold = frame["label_sold"].to_numpy(dtype=np.float32)
        return {
            "listing_id": frame["listing_id"].to_numpy(dtype=np.int64),
            "image": np.stack([decode_png(b, self.image_size) for b in frame["image"]])
            if len(frame) else np.zeros((0, 3, self.image_size, self.image_size), np.uint8),
            "tokens": self.vocabulary.encode(listing_text(frame["title"], frame["description"]), self.text_length),
            "stats": self.stats.transform(frame[self.stats_columns].to_numpy(dtype=np.float64)),
            "is_sold": sold,
            # unsold rows have no sold price: 0 is a placeholder the losses mask out
            "log_sold": frame["log_sold_price"].fillna(0.0).to_numpy(dtype=np.float32),
            "log_list": frame["log_list_price"].to_numpy(dtype=np.float32),
            **{f"task_{task}": self.task_labels(frame, task) for task in sorted(self.task_classes)},
        }

    def petastorm_fields(self) -> list[tuple]:
        """(name, dtype, shape, nullable) of encode_frame's output, for TransformSpec.edit_fields."""
        k = 2 * len(self.stats_columns)
        return [("listing_id", np.int64, (), False),
                ("image", np.uint8, (3, self.image_size, self.image_size), False),
                ("tokens", np.int64, (self.text_length,), False), ("stats", np.float32, (k,), False),
                ("is_sold", np.float32, (), False), ("log_sold", np.float32, (), False),
                ("log_list", np.float32, (), False),
                *[(f"task_{task}", np.int64, (), False) for task in sorted(self.task_classes)]]

    def to_dict(self) -> dict:
        return {"vocabulary": self.vocabulary.to_dict(), "stats": self.stats.to_dict(),
                "image_size": self.image_size, "text_length": self.text_length, "task_classes": self.task_classes}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInputs":
        return cls(Vocabulary.from_dict(data["vocabulary"]), StatsNormalizer.from_dict(data["stats"]),
                   int(data["image_size"]), int(data["text_length"]), dict(data.get("task_classes", {})))
