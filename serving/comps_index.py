"""The service's comparable sold listings: the batch job's search over an in-memory index.

Each scoring run writes the sold listings it searched, with their embeddings, for its model
version: `storage.comps_index`/<model version>/as_of=<day>/run_id=<run>/ (Parquet; Spark writes
`_SUCCESS` last, so a snapshot with it is complete). A folder per run, because two runs for
the same day may write at once, and a Parquet overwrite of one shared folder lets each delete
the other's files mid-write. The service loads the newest complete snapshot of the model it
serves (`newest_snapshot`: the newest day, then that day's newest run; run ids start with their
UTC start time) with the model, and again when its refresh loop finds a newer one or another
model. `comps` ranks through `model.comps.nearest_sold`, the function the batch job runs in its
executors, on the same float32 embeddings, so for the same listing the two give the same comps
in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from model.comps import SoldListings, nearest_sold
from scoring.comps import DAY_PREFIX, RUN_PREFIX, Snapshot


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
    snapshot: Snapshot
    by_category: dict[str, SoldListings]

    @property
    def as_of(self) -> date:
        return self.snapshot.as_of

    @classmethod
    def load(cls, root: str, model_version: str, snapshot: Snapshot) -> CompsIndex:
        filesystem, path = _filesystem(root)
        table = pq.read_table(snapshot.path(path), filesystem=filesystem).to_pandas()
        return cls(model_version, snapshot, _by_category(table))

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


def newest_snapshot(root: str) -> Snapshot | None:
    """The newest complete snapshot under `root` (storage.comps_index_path(version)); None: none yet."""
    filesystem, path = _filesystem(root)
    for day in _folders(filesystem, path, DAY_PREFIX):
        for run in _folders(filesystem, f"{path}/{DAY_PREFIX}{day}", RUN_PREFIX):
            snapshot = Snapshot(date.fromisoformat(day), run)
            if filesystem.get_file_info(f"{snapshot.path(path)}/_SUCCESS").type == pafs.FileType.File:
                return snapshot
    return None


def _folders(filesystem: pafs.FileSystem, path: str, prefix: str) -> list[str]:
    """The values of the `prefix<value>` folders under `path`, newest (greatest) first."""
    listing = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted((i.base_name[len(prefix):] for i in listing
                   if i.type == pafs.FileType.Directory and i.base_name.startswith(prefix)), reverse=True)


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in root:  # a local path as it is (a file:// URI of it would need its spaces escaped)
        return pafs.LocalFileSystem(), root
    return pafs.FileSystem.from_uri(root)


def _by_category(table) -> dict[str, SoldListings]:
    return {category: SoldListings.from_frame(rows) for category, rows in table.groupby("category")}
