"""What `make demo` prints about the generated marketplace: small aggregates, computed in Spark."""
from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def status_split(listings: DataFrame) -> pd.DataFrame:
    out = listings.groupBy("status").count().toPandas().sort_values("status")
    out["share"] = out["count"] / out["count"].sum()
    return out.reset_index(drop=True)


def price_by_category(listings: DataFrame) -> pd.DataFrame:
    """List and sold price quartiles per category (CNY), raw: irrational prices included."""
    quantiles = [0.1, 0.5, 0.9]
    out = listings.groupBy("category").agg(
        F.count("*").alias("listings"),
        F.avg((F.col("status") == "sold").cast("double")).alias("sold_share"),
        F.percentile_approx("list_price", quantiles, 10000).alias("list_p10_p50_p90"),
        F.percentile_approx("sold_price", quantiles, 10000).alias("sold_p10_p50_p90"),
    ).toPandas()
    return out.sort_values("category").reset_index(drop=True)


def list_to_sold_ratio(listings: DataFrame) -> float:
    """Geometric mean of list / sold over sold listings with plausible prices."""
    sold = listings.where((F.col("status") == "sold") & F.col("sold_price").between(1.0, 1e6))
    return float(sold.agg(F.exp(F.avg(F.log(F.col("list_price") / F.col("sold_price"))))).first()[0])


def format_summary(counts: dict[str, int], listings: DataFrame) -> str:
    lines = ["Rows per table:"] + [f"  {name:<16} {n:>10,}" for name, n in counts.items()]
    lines += ["", "Status split:", status_split(listings).to_string(index=False, float_format="%.3f")]
    lines += ["", "Prices per category (CNY, raw, irrational prices included):",
              price_by_category(listings).to_string(index=False, float_format="%.3f")]
    lines += ["", f"list / sold price, geometric mean over sold items: {list_to_sold_ratio(listings):.3f}"]
    return "\n".join(lines)
