"""Generate (or extend) the synthetic marketplace: Delta tables `listings` and `listing_truth`.

  spark-submit jobs/generate_marketplace.py                     # history from conf
  spark-submit jobs/generate_marketplace.py --listings 1000000  # bigger world, same rules
  spark-submit jobs/generate_marketplace.py --append-days 7     # a week more of the same world

A first run creates `--days` of history with `--listings` listings. Later runs extend the
same world's clock (`--append-days N` or `--until DATE`): new listings are created and
listings that were active close as sold or expired. Rerunning with nothing new to add
changes nothing (MERGE on listing_id, only changed rows are rewritten).
"""
from __future__ import annotations

import dataclasses
import sys
from datetime import datetime, timedelta

from pyspark.sql import functions as F

from pricesuggest.delta_io import read_table, table_exists, table_properties, write_table
from marketplace.generate import generate_listings, generate_truth
from marketplace.summary import format_summary
from marketplace.world import WorldClock
from jobs.common import iso_date, job_parser, load_job_config, midnight, positive_int, setup_logging
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session

JOB = "generate_marketplace"


def parse_args(argv):
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--seed", type=int, help="world seed (default: generator.seed)")
    parser.add_argument("--start", type=iso_date, help="first day of history (default: generator.start)")
    parser.add_argument("--days", type=positive_int, help="days of history (default: generator.days)")
    parser.add_argument("--listings", type=positive_int, help="listings over the history (default: generator.listings)")
    parser.add_argument("--sellers", type=positive_int, help="seller population (default: generator.sellers)")
    parser.add_argument("--partitions", type=positive_int, help="Spark partitions (default: generator.partitions)")
    grow = parser.add_mutually_exclusive_group()
    grow.add_argument("--append-days", type=positive_int, help="extend the existing world by N days")
    grow.add_argument("--until", type=iso_date, help="extend the existing world up to this day (idempotent)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing tables made from another world configuration")
    parser.add_argument("--no-summary", action="store_true", help="skip the printed summary")
    args = parser.parse_args(argv)
    overrides = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in
                 {"seed": args.seed, "start": args.start, "days": args.days, "listings": args.listings,
                  "sellers": args.sellers, "partitions": args.partitions}.items() if v is not None}
    conf = load_job_config(parser, args, {"generator": overrides} if overrides else None)
    return parser, args, conf


def world_clock(parser, args, gen, existing: dict[str, str] | None) -> tuple[WorldClock, int]:
    """The clock (and seller population) for this run: new world, or the existing one extended."""
    if existing is None:
        if args.append_days or args.until:
            parser.error("--append-days/--until extend an existing world, but there are no tables yet")
        start = midnight(datetime.fromisoformat(gen.start).date())
        return WorldClock(start, gen.listings / gen.days, start + timedelta(days=gen.days)), gen.sellers
    start = datetime.fromisoformat(existing["generator.start"])
    now = datetime.fromisoformat(existing["generator.now"])
    if args.append_days:
        now = now + timedelta(days=args.append_days)
    elif args.until:
        target = midnight(args.until)
        if target < now:
            parser.error(f"--until {args.until} is before the world's clock ({now.date()})")
        now = target
    return WorldClock(start, float(existing["generator.listings_per_day"]), now), int(existing["generator.sellers"])


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    gen = conf.generator
    fingerprint = gen.fingerprint()
    spark = build_session(conf, JOB)
    listings_path = conf.storage.table_path("listings")
    truth_path = conf.storage.table_path("listing_truth")

    existing = None
    if table_exists(spark, listings_path) and not args.overwrite:
        existing = table_properties(spark, listings_path)
        if "generator.now" not in existing:
            parser.error(f"{listings_path} exists but was not written by this generator; use --overwrite")
        if existing.get("generator.config_sha256") != fingerprint:
            if not (args.append_days or args.until):
                parser.error("listings exist from another generator configuration "
                             f"({existing.get('generator.config_sha256', '?')[:12]} != {fingerprint[:12]}); "
                             "use --overwrite to replace them, or --append-days/--until to extend them")
            log.warning("extending a world made with generator config %s using config %s",
                        existing.get("generator.config_sha256", "?")[:12], fingerprint[:12])
    if args.overwrite and table_exists(spark, listings_path):
        conf = dataclasses.replace(conf, storage=dataclasses.replace(conf.storage, tables={
            **conf.storage.tables,
            "listings": dataclasses.replace(conf.storage.table("listings"), write_mode="overwrite"),
            "listing_truth": dataclasses.replace(conf.storage.table("listing_truth"), write_mode="overwrite")}))
    clock, n_sellers = world_clock(parser, args, gen, existing)
    total = clock.listing_count()
    partitions = gen.partitions or 4 * spark.sparkContext.defaultParallelism

    if existing is not None and not (args.append_days or args.until):
        log.info("world exists up to %s; nothing to generate (use --append-days/--until to extend it)",
                 clock.now.date())
        return report(spark, listings_path, truth_path, clock.listing_count(), args.no_summary, log)
    if existing is None:
        ids = spark.range(1, total + 1, numPartitions=partitions).withColumnRenamed("id", "listing_id")
        new_ids = ids
    else:  # still-active listings may have closed; new ids were created since
        known = read_table(spark, listings_path)
        max_id = known.agg(F.max("listing_id")).first()[0] or 0
        new_ids = spark.range(max_id + 1, max(max_id + 1, total + 1), numPartitions=partitions) \
            .withColumnRenamed("id", "listing_id")
        active = known.where(F.col("status") == "active").select("listing_id")
        ids = active.unionByName(new_ids).repartition(partitions, "listing_id")

    run_id = new_run_id(JOB)
    metadata = {"run_id": run_id, "job": JOB, "git_commit": git_commit(), "generator_config_sha256": fingerprint}
    properties = {"generator.config_sha256": fingerprint, "generator.seed": gen.seed,
                  "generator.start": clock.start.isoformat(), "generator.now": clock.now.isoformat(),
                  "generator.listings_per_day": repr(clock.listings_per_day),
                  "generator.sellers": n_sellers, "generator.image_size": gen.image_size}
    log.info("world %s..%s: %d listings, %d sellers, %d partitions (config %s)",
             clock.start.date(), clock.now.date(), total, n_sellers, partitions, fingerprint[:12])

    listings = generate_listings(ids, gen, clock, n_sellers)
    if existing is not None:  # only new listings and those whose status moved on
        listings = listings.join(known.select("listing_id", "status"), ["listing_id", "status"], "left_anti")
    written = write_table(spark, listings, listings_path, conf.storage.table("listings"), metadata,
                          properties, update_condition="t.status <> s.status")
    log.info("listings: version %d (%s) %s", written.version, written.operation, written.metrics)
    truth = generate_truth(new_ids, gen, clock, n_sellers)  # truth never changes once drawn
    written = write_table(spark, truth, truth_path, conf.storage.table("listing_truth"), metadata,
                          properties, update_condition="false")
    log.info("listing_truth: version %d (%s) %s", written.version, written.operation, written.metrics)

    return report(spark, listings_path, truth_path, total, args.no_summary, log)


def report(spark, listings_path, truth_path, expected: int, quiet: bool, log) -> int:
    """Check the row accounting (one row per listing id in both tables) and print the summary."""
    final = read_table(spark, listings_path)
    counts = {"listings": final.count(), "listing_truth": read_table(spark, truth_path).count()}
    distinct = final.select("listing_id").distinct().count()
    if counts["listings"] != expected or counts["listing_truth"] != expected or distinct != expected:
        log.error("row accounting failed: expected %d listings, tables hold %s (%d distinct ids)",
                  expected, counts, distinct)
        return 1
    if not quiet:
        print(format_summary(counts, final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
