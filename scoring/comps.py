"""Comparable sold listings for a scoring run's listings, in Spark: embeddings, then exact search by category.

1. `missing_embeddings` -> `embed`: the scored listings and the window's sold listings that have no
   row in `listing_embeddings` for the run's model version get one, computed in the executors by
   the model (`model.predict.embed`, the photo through pricesuggest/photo.py). A sold listing
   whose photo cannot be read gets a row with `unusable_reason` instead, so it is counted, never
   silently left out, and not retried every night.
2. `comps_rows`: per category, the scored listings and that category's sold listings meet in one
   pandas group (`cogroup`), where `model.comps.nearest_sold` ranks them. Nothing is collected
   to the driver; a category's sold listings must fit in one Python worker's memory
   (~1 KB each at 128 dimensions). Every listing gets exactly k rows, null comps where fewer
   than k sold listings qualify, so the table's rows are always ranks 1..k and a rerun that
   finds the same comps commits nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from model.comps import SoldListings, as_datetimes, embedding_matrix, nearest_sold

EMBEDDINGS_SCHEMA = T.StructType([
    T.StructField("listing_id", T.LongType(), False),
    T.StructField("model_version", T.StringType(), False),
    T.StructField("embedding", T.ArrayType(T.FloatType(), False), True),
    T.StructField("unusable_reason", T.StringType(), True),
])

COMPS_SCHEMA = T.StructType([
    T.StructField("listing_id", T.LongType(), False),
    T.StructField("rank", T.IntegerType(), False),
    T.StructField("comp_listing_id", T.LongType(), True),
    T.StructField("comp_sold_price", T.DoubleType(), True),
    T.StructField("comp_sold_at", T.TimestampType(), True),
    T.StructField("similarity", T.DoubleType(), True),
    T.StructField("category", T.StringType(), True),
])
# what a rerun compares: rows equal on these are not rewritten
COMPS_COMPARED = ["comp_listing_id", "comp_sold_price", "comp_sold_at", "similarity", "category", "model_version"]
EMBEDDINGS_COMPARED = ["embedding", "unusable_reason"]
# what an embedding reads (the encoder also takes the statistics, which the embedding ignores)
EMBEDDED_COLUMNS = ["listing_id", "image", "title", "description", "brand", "category", "condition"]
# where one run's index snapshot goes: <comps_index>/<model version>/as_of=<day>/run_id=<run>/
DAY_PREFIX, RUN_PREFIX = "as_of=", "run_id="


@dataclass(frozen=True)
class Snapshot:
    """One scoring run's comps index: the day it scored and its run id (serving/comps_index.py reads it)."""
    as_of: date
    run_id: str

    def path(self, root: str) -> str:
        return f"{root.rstrip('/')}/{DAY_PREFIX}{self.as_of.isoformat()}/{RUN_PREFIX}{self.run_id}"


# the service's index snapshot (serving/comps_index.py reads it): the candidates as the batch search saw them
INDEX_COLUMNS = ["listing_id", "category", "closed_at", "sold_price", "embedding"]


def sold_in_window(listings_known: DataFrame, as_of: date, window_days: int) -> DataFrame:
    """Listings sold in the statistics window [as_of - window_days, as_of): the comps' candidates.
    An id upstream sent twice is no candidate: which copy's price is right is ambiguous (as in scoring)."""
    start = datetime.combine(as_of - timedelta(days=window_days), datetime.min.time())
    end = datetime.combine(as_of, datetime.min.time())
    sold = listings_known.where((F.col("status") == "sold") & (F.col("closed_at") >= F.lit(start))
                                & (F.col("closed_at") < F.lit(end)) & F.col("sold_price").isNotNull())
    once = sold.groupBy("listing_id").count().where("count = 1").select("listing_id")
    return sold.join(once, "listing_id")


def missing_embeddings(listings: DataFrame, existing: DataFrame | None, model_version: str) -> DataFrame:
    """The rows of `listings` with no `listing_embeddings` row for this model version yet."""
    if existing is None:
        return listings
    done = existing.where(F.col("model_version") == F.lit(model_version)).select("listing_id")
    return listings.join(done, "listing_id", "left_anti")


def embed(listings: DataFrame, store_root: str, model_version: str, batch_size: int, photo_limits) -> DataFrame:
    """listing_embeddings rows for these listings (photo, title, description), computed in the executors."""

    def embed_batches(frames):  # runs in the executors' Python workers
        from pyspark import TaskContext

        from model.predict import embed as embed_arrays
        from pricesuggest.photo import photo_problem
        from scoring.inference import cached_model, limit_cpu_threads

        task = TaskContext.get()
        limit_cpu_threads(task.cpus() if task is not None else None)
        loaded = cached_model(store_root, model_version)
        for frame in frames:
            reasons = [photo_problem(b, photo_limits)[0] for b in frame["image"]]
            usable = np.array([r is None for r in reasons], dtype=bool)
            rows = frame[usable]
            # the embedding reads photo and text only: the statistics the encoder also takes are left missing
            rows = rows.assign(**{c: np.nan for c in loaded.inputs.stats_columns if c not in rows})
            vectors = embed_arrays(loaded.model, loaded.inputs.encode_features(rows), loaded.device, batch_size)
            embedding = pd.Series([None] * len(frame), dtype=object)
            embedding[np.flatnonzero(usable)] = list(vectors.astype(np.float32))
            yield pd.DataFrame({"listing_id": frame["listing_id"].to_numpy(), "model_version": model_version,
                                "embedding": embedding.to_numpy(), "unusable_reason": reasons})

    return listings.select(*EMBEDDED_COLUMNS).mapInPandas(embed_batches, EMBEDDINGS_SCHEMA)


def comps_rows(queries: DataFrame, sold: DataFrame, k: int) -> DataFrame:
    """k rows per query listing: its comps by rank (null comps where fewer qualify).

    queries: listing_id, category, created_at, embedding; sold: listing_id, category, closed_at,
    sold_price, embedding (usable ones only)."""

    def rank(keys, listings: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
        pool = SoldListings.from_frame(candidates)
        found = nearest_sold(listings["listing_id"].to_numpy(np.int64), as_datetimes(listings["created_at"]),
                             embedding_matrix(listings["embedding"]), pool, k)
        index = found.index.ravel()
        hit = index >= 0
        comp = pd.array(np.full(len(index), 0, np.int64), dtype="Int64")
        price, sold_at = np.full(len(index), np.nan), np.full(len(index), np.datetime64("NaT"), "datetime64[us]")
        comp[~hit] = pd.NA
        if hit.any():
            comp[hit] = pool.listing_id[index[hit]]
            price[hit], sold_at[hit] = pool.sold_price[index[hit]], pool.closed_at[index[hit]]
        return pd.DataFrame({
            "listing_id": np.repeat(listings["listing_id"].to_numpy(np.int64), k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(listings)),
            "comp_listing_id": comp, "comp_sold_price": price, "comp_sold_at": sold_at,
            "similarity": found.similarity.ravel(),
            "category": np.repeat(listings["category"].to_numpy(object), k),
        })

    # fresh attribute ids on each side: both sides come from `listings` and the embeddings, and Spark
    # refuses a cogroup whose columns it cannot tell apart
    left = queries.select(*[F.col(c).alias(c) for c in ("listing_id", "category", "created_at", "embedding")])
    right = sold.select(*[F.col(c).alias(c) for c in ("listing_id", "category", "closed_at", "sold_price", "embedding")])
    return left.groupBy("category").cogroup(right.groupBy("category")).applyInPandas(rank, COMPS_SCHEMA)
