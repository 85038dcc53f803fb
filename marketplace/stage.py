"""The generator stage (jobs/generate_marketplace.py): draw what a world plan adds and write
`listings` and `listing_truth`, each with the properties the next run plans from."""
from __future__ import annotations

import dataclasses

from pyspark.sql import SparkSession

from marketplace.generate import generate_listings, generate_truth
from marketplace.world_plan import WorldPlan, ids_to_draw, world_properties
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import WriteResult, read_table, write_table

TABLES = ("listings", "listing_truth")


def write_world(spark: SparkSession, conf: AppConfig, plan: WorldPlan, replace: bool,
                metadata: dict) -> dict[str, WriteResult]:
    """Draw the plan's listings and MERGE them in (replace: overwrite another world's rows).

    An extension redraws the still-active listings (their status may have moved on) and
    draws the ids created since; only changed and new rows are written, and a listing's
    truth never changes once drawn."""
    gen, storage = conf.generator, conf.storage
    known = read_table(spark, storage.table_path("listings")) if plan.extends else None
    ids, new_ids = ids_to_draw(spark, plan, known, gen.partitions or 4 * spark.sparkContext.defaultParallelism)
    listings = generate_listings(ids, gen, plan.clock, plan.sellers)
    if known is not None:  # only new listings and those whose status moved on
        listings = listings.join(known.select("listing_id", "status"), ["listing_id", "status"], "left_anti")
    truth = generate_truth(new_ids, gen, plan.clock, plan.sellers)
    written = {}
    for table, rows, update in (("listings", listings, "t.status <> s.status"), ("listing_truth", truth, "false")):
        contract = storage.table(table)
        if replace:
            contract = dataclasses.replace(contract, write_mode="overwrite")
        written[table] = write_table(spark, rows, storage.table_path(table), contract, metadata,
                                     world_properties(gen, plan), update_condition=update)
    return written
