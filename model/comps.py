"""Comparable sold listings ("comps"): for a listing, the k sold listings of its category that
are nearest it in the model's own reading of photo and text, among those sold before it was created.

One exact search serves the batch job and the service. `nearest_sold` ranks one category's
sold listings for a block of listings. The comps job runs it in Spark executors, one category
per group (`scoring.comps`), and never collects the sold listings to the driver. The service
runs it over an in-memory index loaded with the model (`serving.comps_index`), so the two
rank the same candidates in the same order.

Ranking: similarity descending, rounded to SIMILARITY_DECIMALS first, so that a float
rounding difference between two machines cannot reorder two comps; ties go to the smaller
listing id. A rerun on the same snapshot ranks the same comps, so its MERGE commits nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SIMILARITY_DECIMALS = 6  # what the comps table stores, and what ranks
QUERY_BLOCK = 1024       # listings ranked at once: a block x candidates float64 matrix in memory


@dataclass(frozen=True)
class SoldListings:
    """One category's sold listings, the candidates: ids, when each closed (datetime64[us]),
    its sold price, and its embedding (unit rows)."""

    listing_id: np.ndarray
    closed_at: np.ndarray
    sold_price: np.ndarray
    embedding: np.ndarray

    def __len__(self) -> int:
        return len(self.listing_id)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> SoldListings:
        """From rows with listing_id, closed_at, sold_price and embedding (the batch job's group of one
        category, the service's index snapshot)."""
        return cls(frame["listing_id"].to_numpy(np.int64), as_datetimes(frame["closed_at"]),
                   frame["sold_price"].to_numpy(np.float64), embedding_matrix(frame["embedding"]))


def embedding_matrix(embeddings: pd.Series) -> np.ndarray:
    """[N, D] float64 of a column of per-row vectors (Spark arrays, Parquet lists)."""
    return np.stack([np.asarray(e, dtype=np.float64) for e in embeddings]) if len(embeddings) else np.zeros((0, 0))


def as_datetimes(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy(dtype="datetime64[us]")


@dataclass(frozen=True)
class Comps:
    """Per listing, k slots: the index into the candidates (-1: no comp in that slot) and the similarity."""

    index: np.ndarray       # [Q, k] int64
    similarity: np.ndarray  # [Q, k] float64, NaN where index is -1


def nearest_sold(listing_id: np.ndarray, created_at: np.ndarray, embedding: np.ndarray, sold: SoldListings,
                 k: int, similarity: np.ndarray | None = None) -> Comps:
    """The k nearest `sold` listings for each listing (same category), never the listing itself
    nor one that closed at or after the listing's creation.

    `similarity` [Q, C]: a precomputed one instead of the embeddings' dot product (the
    benchmark's TF-IDF and random neighbours rank through the same rule)."""
    n = len(listing_id)
    index, best = np.full((n, k), -1, np.int64), np.full((n, k), np.nan)
    if not len(sold) or not n:
        return Comps(index, best)
    candidates = as_stored(sold.embedding) if similarity is None else None
    for start in range(0, n, QUERY_BLOCK):
        rows = slice(start, start + QUERY_BLOCK)
        scores = (as_stored(embedding[rows]) @ candidates.T if similarity is None
                  else similarity[rows]).astype(np.float64)
        scores = np.round(scores, SIMILARITY_DECIMALS)
        allowed = (sold.listing_id[None, :] != listing_id[rows, None]) & (sold.closed_at[None, :] < created_at[rows, None])
        scores = np.where(allowed, scores, -np.inf)
        ids = np.broadcast_to(sold.listing_id, scores.shape)
        order = np.lexsort((ids, -scores), axis=1)[:, :k]  # similarity descending, then the smaller id
        taken = np.take_along_axis(scores, order, axis=1)
        found = np.isfinite(taken)
        width = order.shape[1]
        index[rows, :width] = np.where(found, order, -1)
        best[rows, :width] = np.where(found, taken, np.nan)
    return Comps(index, best)


def as_stored(embedding: np.ndarray) -> np.ndarray:
    """float64 of the float32 values `listing_embeddings` stores: a query fresh from the model
    (the service's) then ranks exactly as the stored one (the batch job's) does."""
    return np.asarray(embedding, dtype=np.float32).astype(np.float64)
