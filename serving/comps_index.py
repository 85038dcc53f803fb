"""The service's comparable sold listings: the batch job's search over an in-memory index.

Each scoring run writes the sold listings it searched, with their embeddings, for its model
version: `storage.comps_index`/<model version>/as_of=<day>/ (Parquet; Spark writes `_SUCCESS`
last, so a snapshot with it is complete). The service loads the newest complete snapshot of
the model it serves (`newest_snapshot`, `CompsIndex.load`) with the model, and again when its
refresh loop finds a newer day or another model. `comps` ranks through `model.comps.nearest_sold`, the
function the batch job runs in its executors, on the same float32 embeddings, so for the same
listing the two give the same comps in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from model.comps import SoldListings, nearest_sold

SNAPSHOT_PREFIX = "as_of="


@dataclass(frozen=True)
class Comp:
    listing_id: int
    sold_price: float
    sold_at: datetime
    similarity: float

    def to_dict(self) -> dict:
        return {"listing_id": self.listing_id, "sold_price": self.sold_price,
                "sold_at": self.sold_at.isoformat(), "similarity": self.similarity}


@dataclass(frozen=True)
class CompsIndex:
    model_version: str
    as_of: date
    by_category: dict[str, SoldListings]

    @classmethod
    def load(cls, root: str, model_version: str, day: date) -> CompsIndex:
        filesystem, path = _filesystem(root)
        table = pq.read_table(f"{path}/{SNAPSHOT_PREFIX}{day.isoformat()}", filesystem=filesystem).to_pandas()
        return cls(model_version, day, _by_category(table))

    def comps(self, embedding: np.ndarray, category: str, k: int, created_at: datetime | None = None,
              listing_id: int = 0) -> list[Comp]:
        """The k comps of one listing: an upload (created now: every sold listing of the snapshot
        closed before it) or, with its `created_at` and id, a stored listing as the batch job ranked it."""
        sold = self.by_category.get(category)
        if sold is None or not len(sold):
            return []
        created = np.datetime64(created_at or datetime.combine(self.as_of, datetime.min.time()), "us")
        found = nearest_sold(np.array([listing_id]), np.array([created]), np.asarray(embedding)[None, :], sold, k)
        return [Comp(int(sold.listing_id[i]), float(sold.sold_price[i]),
                     sold.closed_at[i].astype("datetime64[us]").astype(datetime), float(s))
                for i, s in zip(found.index[0], found.similarity[0]) if i >= 0]


def newest_snapshot(root: str) -> date | None:
    """The day of the newest complete snapshot under `root` (storage.comps_index_path(version)); None: none yet."""
    filesystem, path = _filesystem(root)
    listing = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    days = sorted((i.base_name for i in listing if i.type == pafs.FileType.Directory
                   and i.base_name.startswith(SNAPSHOT_PREFIX)), reverse=True)
    for day in days:
        if filesystem.get_file_info(f"{path}/{day}/_SUCCESS").type == pafs.FileType.File:
            return date.fromisoformat(day[len(SNAPSHOT_PREFIX):])
    return None


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(root if "://" in root else "file://" + root)


def _by_category(table) -> dict[str, SoldListings]:
    return {category: SoldListings.from_frame(rows) for category, rows in table.groupby("category")}
