"""Text to fixed-length token ids: a vocabulary built from the training split only.

Ids: 0 = padding, 1 = unknown word; real words from 2 by descending training frequency.
Title and description are one text. Longer texts keep their first `length` tokens.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

PAD, UNK = 0, 1
TOKEN = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


def tokenize(text: str | None) -> list[str]:
    return TOKEN.findall((text or "").lower())


@dataclass
class Vocabulary:
    words: list[str]  # index i holds the word with id i + 2

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int, min_count: int = 2) -> "Vocabulary":
        counts = Counter(token for text in texts for token in tokenize(text))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(ranked[: max_size - 2])

    @property
    def size(self) -> int:
        return len(self.words) + 2

    def encode(self, texts: Iterable[str], length: int = 32) -> np.ndarray:
        index = {w: i + 2 for i, w in enumerate(self.words)}
        texts = list(texts)
        out = np.full((len(texts), length), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [index.get(token, UNK) for token in tokenize(text)[:length]]
            out[row, : len(ids)] = ids
        return out

    def to_dict(self) -> dict:
        return {"words": self.words}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls(list(data["words"]))
