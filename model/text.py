"""Text to fixed-length token ids: a vocabulary of words from the training split, and hashed bigrams.

Ids: 0 = padding, 1 = unknown word; real words from 2 by descending training frequency
(the vocabulary is fitted in Spark: training/input_fitting.py).
Title and description are one text. Longer texts keep their first `length` tokens. With
`bigram_buckets`, `length` more slots follow: each pair of neighbouring tokens hashed
(CRC32, the same on every executor and in every process) into the ids after the words.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

PAD, UNK = 0, 1
TOKEN = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


def tokenize(text: str | None) -> list[str]:
    return TOKEN.findall((text or "").lower())


def bigram_id(first: str, second: str, buckets: int) -> int:
    """A bigram's bucket in [0, buckets): the id is this plus the vocabulary size."""
    return zlib.crc32(f"{first} {second}".encode()) % buckets


@dataclass
class Vocabulary:
    words: list[str]  # index i holds the word with id i + 2

    @property
    def size(self) -> int:
        return len(self.words) + 2

    def encode(self, texts: Iterable[str], length: int = 32, bigram_buckets: int = 0) -> np.ndarray:
        """[N, length] word ids, then (with bigram_buckets) [N, length] bigram ids: [N, 2 x length]."""
        index = {w: i + 2 for i, w in enumerate(self.words)}
        texts = list(texts)
        width = 2 * length if bigram_buckets else length
        out = np.full((len(texts), width), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = tokenize(text)[:length]
            out[row, : len(tokens)] = [index.get(token, UNK) for token in tokens]
            if bigram_buckets:
                pairs = [self.size + bigram_id(a, b, bigram_buckets) for a, b in zip(tokens, tokens[1:])]
                out[row, length: length + len(pairs)] = pairs
        return out

    def to_dict(self) -> dict:
        return {"words": self.words}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls(list(data["words"]))
