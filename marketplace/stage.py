"""The generator stage (jobs/generate_marketplace.py): draw what a world plan adds and write
`listings` and `listing_truth`, each with the properties the next run plans from."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession

from marketplace.generate import generate_listings, generate_truth
from marketplace.world_plan import WorldPlan, ids_to_draw, row_counts, world_plan, world_properties
from pricesuggest.config import AppConfig
from pricesuggest.delta_io import WriteResult, read_table, table_exists, table_properties, write_table

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


@dataclass(frozen=True)
class Generated:
    plan: WorldPlan
    counts: dict[str, int]  # rows per table after the run: each must equal plan.listings
    listings: DataFrame     # the `listings` table as it now is


def generate(spark: SparkSession, conf: AppConfig, overwrite: bool, append_days: int | None, until: date | None,
             metadata: dict, log: logging.Logger) -> Generated:
    """Plan the run from the tables' recorded world (or a new one), write what it adds and
    count both tables. Raises WorldPlanError when the request does not fit the existing world."""
    gen, storage = conf.generator, conf.storage
    paths = {t: storage.table_path(t) for t in TABLES}
    exists = table_exists(spark, paths["listings"])
    existing = table_properties(spark, paths["listings"]) if exists and not overwrite else None
    plan = world_plan(gen, existing, append_days, until)
    if plan.config_changed:
        log.warning("extending a world made with generator config %s using config %s",
                    existing.get("generator.config_sha256", "?")[:12], gen.fingerprint()[:12])
    if plan.adds:
        log.info("world %s..%s: %d listings, %d sellers (config %s)", plan.clock.start.date(), plan.clock.now.date(),
                 plan.listings, plan.sellers, gen.fingerprint()[:12])
        for table, written in write_world(spark, conf, plan, overwrite and exists, metadata).items():
            log.info("%s: version %d (%s) %s", table, written.version, written.operation, written.metrics)
    else:
        log.info("world exists up to %s; nothing to generate (use --append-days/--until)", plan.clock.now.date())
    listings = read_table(spark, paths["listings"])
    return Generated(plan, row_counts(listings, read_table(spark, paths["listing_truth"])), listings)
