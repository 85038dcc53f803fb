"""Training-table rows -> model tensors: photo pixels, token ids, form fields, normalised statistics.

`ModelInputs` is what a trained model needs besides its weights (vocabulary, form-field
values, statistics normalisation, column names); it travels in every checkpoint.
`encode_frame` turns a pandas batch of listing rows into arrays: the training job runs it
inside Petastorm's TransformSpec on the readers' workers (photos are decoded next to the data,
never on the driver, by pricesuggest/photo.py), and scoring and the evaluation call the same function.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.stats_input import StatsNormalizer
from model.text import Vocabulary
from pricesuggest.photo import photo_pixels

LABEL_COLUMNS = ["listing_id", "label_sold", "log_sold_price", "log_list_price"]
TEXT_COLUMNS = ["title", "description"]
# What the seller typed in the form besides the text, in the column order of `form` (sorted:
# the network's FieldEncoder orders them the same way). Id 0: missing, or unseen in training.
FORM_FIELDS = ("brand", "category", "condition")
MODEL_INPUTS = ("image", "tokens", "stats", "form")  # the networks' forward arguments, in order


def listing_text(titles: pd.Series, descriptions: pd.Series) -> list[str]:
    return (titles.fillna("") + " " + descriptions.fillna("")).tolist()


@dataclass
class ModelInputs:
    vocabulary: Vocabulary
    stats: StatsNormalizer
    image_size: int
    text_length: int
    bigram_buckets: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)  # form field -> values (id = index + 1)

    @property
    def stats_columns(self) -> list[str]:
        return self.stats.columns

    @property
    def field_sizes(self) -> dict[str, int]:
        """Ids per form field, 0 (missing) included: the networks' embedding sizes."""
        return {name: len(values) + 1 for name, values in self.fields.items()}

    def feature_columns(self) -> list[str]:
        """The listing columns the networks read (scoring needs these and listing_id)."""
        return ["image", *TEXT_COLUMNS, *self.fields, *self.stats_columns]

    def source_columns(self) -> list[str]:
        """feature_columns and the labels: what a training row must have."""
        return [*self.feature_columns(), *LABEL_COLUMNS]

    def field_ids(self, frame: pd.DataFrame) -> np.ndarray:
        """[N, fields] int64 ids in FORM_FIELDS order; empty or unseen values -> 0."""
        columns = [frame[name].map({v: i + 1 for i, v in enumerate(self.fields[name])}).fillna(0)
                   .to_numpy(dtype=np.int64) for name in FORM_FIELDS if name in self.fields]
        return np.stack(columns, axis=1) if columns else np.zeros((len(frame), 0), np.int64)

    def photo_targets(self, frame: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
        """What the photo heads learn: the form fields' ids, except that a brand the text names wins.

        A brand typed in the title or description is a better label than the form field (which
        sellers leave empty or get wrong more often), and it labels rows whose field is empty.
        """
        targets = ids.copy()
        if "brand" in self.fields and len(frame):
            named = self.brand_mentions(listing_text(frame["title"], frame["description"]))
            column = FORM_FIELDS.index("brand")
            targets[:, column] = np.where(named > 0, named, targets[:, column])
        return targets

    def brand_mentions(self, texts: list[str]) -> np.ndarray:
        """Per text, the id of the longest known brand it names as whole words (0: none)."""
        brands = sorted(self.fields["brand"], key=len, reverse=True)
        if not brands:
            return np.zeros(len(texts), np.int64)
        pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(b.lower()) for b in brands) + r")(?![a-z0-9])")
        index = {b.lower(): i + 1 for i, b in enumerate(self.fields["brand"])}
        return np.array([index[m.group(1)] if (m := pattern.search(t.lower())) else 0 for t in texts], np.int64)

    def encode_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Listing rows (photo, text, form fields, statistics) -> the networks' inputs."""
        return {
            "image": np.stack([photo_pixels(b, self.image_size) for b in frame["image"]])
            if len(frame) else np.zeros((0, 3, self.image_size, self.image_size), np.uint8),
            "tokens": self.vocabulary.encode(listing_text(frame["title"], frame["description"]), self.text_length,
                                             self.bigram_buckets),
            "stats": self.stats.transform(frame[self.stats_columns].to_numpy(dtype=np.float64)),
            "form": self.field_ids(frame),
        }

    def encode_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Training-table rows -> inputs and labels."""
        features = self.encode_features(frame)
        return {
            "listing_id": frame["listing_id"].to_numpy(dtype=np.int64),
            **features,
            "photo_targets": self.photo_targets(frame, features["form"]),
            "is_sold": frame["label_sold"].to_numpy(dtype=np.float32),
            # unsold rows have no sold price: 0 is a placeholder the losses mask out
            "log_sold": frame["log_sold_price"].fillna(0.0).to_numpy(dtype=np.float32),
            "log_list": frame["log_list_price"].to_numpy(dtype=np.float32),
        }

    def petastorm_fields(self) -> list[tuple]:
        """(name, dtype, shape, nullable) of encode_frame's output, for TransformSpec.edit_fields."""
        k = 2 * len(self.stats_columns)
        width = 2 * self.text_length if self.bigram_buckets else self.text_length
        return [("listing_id", np.int64, (), False),
                ("image", np.uint8, (3, self.image_size, self.image_size), False),
                ("tokens", np.int64, (width,), False), ("stats", np.float32, (k,), False),
                ("form", np.int64, (len(self.fields),), False),
                ("photo_targets", np.int64, (len(self.fields),), False),
                ("is_sold", np.float32, (), False), ("log_sold", np.float32, (), False),
                ("log_list", np.float32, (), False)]

    def to_dict(self) -> dict:
        return {"vocabulary": self.vocabulary.to_dict(), "stats": self.stats.to_dict(),
                "image_size": self.image_size, "text_length": self.text_length,
                "bigram_buckets": self.bigram_buckets, "fields": self.fields}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInputs":
        return cls(Vocabulary.from_dict(data["vocabulary"]), StatsNormalizer.from_dict(data["stats"]),
                   int(data["image_size"]), int(data["text_length"]), int(data.get("bigram_buckets", 0)),
                   {k: list(v) for k, v in data.get("fields", {}).items()})
