"""What one generator run adds (jobs/generate_marketplace.py): a new world, the existing
world's clock moved on, or nothing.

The existing world is read back from the `listings` table's properties, which each run
writes (`world_properties`): the clock, the rate, the seller population and the
configuration's fingerprint. Extending with another configuration is allowed (it warns);
regenerating over it without `--overwrite` is not.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from marketplace.world import WorldClock
from pricesuggest.clock import midnight
from pricesuggest.config import GeneratorConf


class WorldPlanError(ValueError):
    """The run asked for something the tables do not allow (the job reports it as a usage error)."""


@dataclass(frozen=True)
class WorldPlan:
    clock: WorldClock
    sellers: int
    extends: bool                 # the existing world (False: a new world)
    adds: bool = True             # False: the world exists and the run asked for no extension
    config_changed: bool = False  # extended with another generator configuration than it was made with

    @property
    def listings(self) -> int:
        return self.clock.listing_count()


def world_plan(gen: GeneratorConf, existing: dict[str, str] | None, append_days: int | None = None,
               until: date | None = None) -> WorldPlan:
    """The run's plan from the existing tables' properties (`existing` None: no tables, or --overwrite)."""
    fingerprint = gen.fingerprint()
    if existing is None:
        if append_days or until:
            raise WorldPlanError("--append-days/--until extend an existing world, but there are no tables yet")
        start = midnight(datetime.fromisoformat(gen.start).date())
        return WorldPlan(WorldClock(start, gen.listings / gen.days, start + timedelta(days=gen.days)),
                         gen.sellers, extends=False)
    if "generator.now" not in existing:
        raise WorldPlanError("listings exist but were not written by this generator; use --overwrite")
    made_with = existing.get("generator.config_sha256", "?")
    if made_with != fingerprint and not (append_days or until):
        raise WorldPlanError(f"listings exist from another generator configuration ({made_with[:12]} != "
                             f"{fingerprint[:12]}); use --overwrite to replace them, or --append-days/--until "
                             "to extend them")
    now = datetime.fromisoformat(existing["generator.now"])
    if append_days:
        now += timedelta(days=append_days)
    elif until:
        if midnight(until) < now:
            raise WorldPlanError(f"--until {until} is before the world's clock ({now.date()})")
        now = midnight(until)
    clock = WorldClock(datetime.fromisoformat(existing["generator.start"]),
                       float(existing["generator.listings_per_day"]), now)
    return WorldPlan(clock, int(existing["generator.sellers"]), extends=True, adds=bool(append_days or until),
                     config_changed=made_with != fingerprint)


def world_properties(gen: GeneratorConf, plan: WorldPlan) -> dict[str, object]:
    """The table properties a later run reads back as `existing`."""
    return {"generator.config_sha256": gen.fingerprint(), "generator.seed": gen.seed,
            "generator.start": plan.clock.start.isoformat(), "generator.now": plan.clock.now.isoformat(),
            "generator.listings_per_day": repr(plan.clock.listings_per_day),
            "generator.sellers": plan.sellers, "generator.image_size": gen.image_size}


def ids_to_draw(spark: SparkSession, plan: WorldPlan, known: DataFrame | None,
                partitions: int) -> tuple[DataFrame, DataFrame]:
    """(ids whose listing row is drawn, ids that are new): every id of a new world; for an
    extension, the still-active listings (they may have closed since) and the ids created since."""
    if not plan.extends:
        ids = spark.range(1, plan.listings + 1, numPartitions=partitions).withColumnRenamed("id", "listing_id")
        return ids, ids
    max_id = known.agg(F.max("listing_id")).first()[0] or 0
    new_ids = spark.range(max_id + 1, max(max_id + 1, plan.listings + 1), numPartitions=partitions) \
        .withColumnRenamed("id", "listing_id")
    active = known.where(F.col("status") == "active").select("listing_id")
    return active.unionByName(new_ids).repartition(partitions, "listing_id"), new_ids


def row_counts(listings: DataFrame, truth: DataFrame) -> dict[str, int]:
    """What the tables hold; a sound world has one row per listing id in each."""
    return {"listings": listings.count(), "listing_truth": truth.count(),
            "distinct ids": listings.select("listing_id").distinct().count()}
