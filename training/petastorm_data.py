"""Batches from the Parquet files of one Delta snapshot, through Petastorm.

Each rank reads its shard of the files' row groups (`cur_shard=rank`, `shard_count=size`),
decodes PNGs and encodes text/statistics in Petastorm's TransformSpec on reader threads,
and Petastorm's BatchedDataLoader shuffles rows and slices batches as whole tensors (the
row-by-row `DataLoader` collates each of a row group's rows in Python: measured at ~0.6
of in-memory throughput). The reader loops over its shard
forever (`num_epochs=None`): every rank then takes the same number of steps per epoch,
which Horovod's collective calls require even when shards differ in size.

`shard_batches` decodes each photo of a rank's shard once per run: the first pass streams
through Petastorm (and trains as it goes) while it keeps what it decoded, and later passes
reshuffle the kept rows in memory. A shard bigger than the cache budget streams through
Petastorm every pass instead (a cluster's shards at a marketplace's scale).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from petastorm import make_batch_reader
from petastorm.pytorch import BatchedDataLoader
from petastorm.transform import TransformSpec

from model.inputs import ModelInputs


def file_url(path: str) -> str:
    """Spark's `file:/x` (or a bare path) -> `file:///x`; other schemes pass through."""
    if path.startswith("file:") and not path.startswith("file://"):
        return "file://" + path[len("file:"):]
    return path if "://" in path else "file://" + path


def transform_spec(inputs: ModelInputs) -> TransformSpec:
    fields = inputs.petastorm_fields()

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        arrays = inputs.encode_frame(frame)
        return pd.DataFrame({k: list(v) if v.ndim > 1 else v for k, v in arrays.items()})

    return TransformSpec(encode, edit_fields=fields, selected_fields=[f[0] for f in fields])


@contextmanager
def petastorm_batches(urls: list[str], inputs: ModelInputs, batch_size: int, rank: int = 0, size: int = 1,
                      seed: int = 0, workers: int = 2, loop: bool = True,
                      shuffle: bool | None = None) -> Iterator[Iterator[dict]]:
    """Batches of this rank's shard: forever (`loop`) or one pass; shuffled (default: when looping)."""
    shuffle = loop if shuffle is None else shuffle
    reader = make_batch_reader([file_url(u) for u in urls], schema_fields=inputs.source_columns(),
                               transform_spec=transform_spec(inputs), cur_shard=rank, shard_count=size,
                               num_epochs=None if loop else 1, shuffle_row_groups=shuffle, seed=seed,
                               workers_count=workers, reader_pool_type="thread",
                               # a result is a whole decoded row group (~80 MB at 64 px): keep few in flight
                               results_queue_size=3)
    loader = BatchedDataLoader(reader, batch_size=batch_size,
                               shuffling_queue_capacity=4 * batch_size if shuffle else 0)
    try:
        yield iter(loader)
    finally:
        reader.stop()
        reader.join()


@contextmanager
def shard_batches(urls: list[str], inputs: ModelInputs, batch_size: int, rank: int = 0, size: int = 1,
                  seed: int = 0, workers: int = 2, cache_mb: float = 0) -> Iterator[Iterator[dict]]:
    """This rank's shard, shuffled, forever, each photo decoded once when the shard's decoded rows
    fit in `cache_mb` (0: stream every pass). The iterator never ends, whichever way it goes."""
    batches = _decoded_once(urls, inputs, batch_size, rank, size, seed, workers, cache_mb * 2 ** 20)
    try:
        yield batches
    finally:
        batches.close()  # stops the first pass's (or the streaming) reader if training ended inside it


def _decoded_once(urls, inputs, batch_size, rank, size, seed, workers, budget: float) -> Iterator[dict]:
    kept: list[dict] | None = [] if budget > 0 else None
    used = rows = 0
    with petastorm_batches(urls, inputs, batch_size, rank, size, seed, workers, loop=False, shuffle=True) as first:
        for batch in first:
            if kept is not None:
                used += sum(t.nelement() * t.element_size() for t in batch.values())
                rows += len(batch["listing_id"])
                if used <= budget:
                    kept.append(batch)
                else:
                    kept = None  # over budget: stream every pass from now on
            yield batch
    if not kept or rows < batch_size:  # (a shard smaller than one batch: Petastorm's loop fills batches)
        with petastorm_batches(urls, inputs, batch_size, rank, size, seed + 1, workers) as rest:
            yield from rest
        return
    arrays = {k: np.concatenate([b[k].numpy() for b in kept]) for k in kept[0]}
    del kept
    yield from in_memory_batches(arrays, batch_size, seed + 1)


def collect_arrays(urls: list[str], inputs: ModelInputs, workers: int = 2, limit: int | None = None,
                   batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Encoded rows of these files (all shards, one pass, at most about `limit`) as numpy arrays."""
    parts, rows = [], 0
    with petastorm_batches(urls, inputs, batch_size, workers=workers, loop=False) as batches:
        for batch in batches:
            parts.append({k: v.numpy() for k, v in batch.items()})
            rows += len(parts[-1]["image"])
            if limit is not None and rows >= limit:
                break
    if not parts:
        raise ValueError(f"no rows in {len(urls)} file(s)")
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def in_memory_batches(arrays: dict[str, np.ndarray], batch_size: int, seed: int = 0) -> Iterator[dict]:
    """The same batches from arrays already in memory (benchmark baseline, notebooks)."""
    import torch

    n = len(next(iter(arrays.values())))
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = torch.from_numpy(order[start:start + batch_size])
            yield {k: v[idx] for k, v in tensors.items()}
