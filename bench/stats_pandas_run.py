"""The single-process peer: the same statistics with vectorised pandas, for all requested snapshots.

Explodes each closed transaction into the snapshot days whose window holds it (np.repeat,
no Python loops), then one groupby-quantile per level. Run under a memory cap so that
running out of memory is a clean MemoryError, not the machine's OOM killer.
"""
import argparse
import resource
from datetime import date

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("source", help="the workload's Parquet (bench/stats_workload.py)")
parser.add_argument("first", type=date.fromisoformat, help="first snapshot day")
parser.add_argument("last", type=date.fromisoformat, help="last snapshot day")
parser.add_argument("window", type=int, help="window in days")
parser.add_argument("cap_gib", type=float, help="address-space cap (GiB)")
args = parser.parse_args()
source, first, last, window, cap_gib = args.source, args.first, args.last, args.window, args.cap_gib
cap = int(cap_gib * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

df = pq.read_table(source, columns=["seller_id", "category", "status", "list_price", "sold_price", "closed_at"]).to_pandas()
closed_day = df["closed_at"].values.astype("datetime64[D]")
first_d, last_d = np.datetime64(first, "D"), np.datetime64(last, "D")
lo = np.maximum(closed_day + 1, first_d)
hi = np.minimum(closed_day + window, last_d)
n_days = np.maximum((hi - lo).astype(np.int64) + 1, 0)
idx = np.repeat(np.arange(len(df)), n_days)
offset = np.arange(len(idx)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
rows = pd.DataFrame({
    "snapshot_date": np.repeat(lo, n_days) + offset.astype("timedelta64[D]"),
    "category": df["category"].values[idx],
    "seller": df["seller_id"].values[idx],
    "sold": np.where(df["status"].values[idx] == "sold", df["sold_price"].values[idx], np.nan),
    "unsold": np.where(df["status"].values[idx] == "unsold", df["list_price"].values[idx], np.nan),
})
del df, idx, offset
out = []
for level, keys in (("platform", ["snapshot_date"]), ("category", ["snapshot_date", "category"]),
                    ("seller", ["snapshot_date", "seller"])):
    grouped = rows.groupby(keys, sort=False)[["sold", "unsold"]]
    q = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    stats = pd.concat([grouped.count().add_suffix("_count"), grouped.mean().add_suffix("_mean"), q], axis=1)
    stats["level"] = level
    out.append(stats.reset_index())
result = pd.concat(out, ignore_index=True)
print("rows", len(result))
