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

import sys

from jobs.common import iso_date, job_parser, load_job_config, positive_int, setup_logging
from marketplace.stage import TABLES, write_world
from marketplace.summary import format_summary
from marketplace.world_plan import WorldPlanError, row_counts, world_plan
from pricesuggest.delta_io import read_table, table_exists, table_properties
from pricesuggest.exit_codes import ExitCode
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


def main(argv=None) -> int:
    parser, args, conf = parse_args(argv)
    log = setup_logging()
    gen, storage = conf.generator, conf.storage
    spark = build_session(conf, JOB)
    paths = {t: storage.table_path(t) for t in TABLES}
    exists = table_exists(spark, paths["listings"])
    existing = table_properties(spark, paths["listings"]) if exists and not args.overwrite else None
    try:
        plan = world_plan(gen, existing, args.append_days, args.until)
    except WorldPlanError as exc:
        parser.error(str(exc))
    if plan.config_changed:
        log.warning("extending a world made with generator config %s using config %s",
                    existing.get("generator.config_sha256", "?")[:12], gen.fingerprint()[:12])
    if plan.adds:
        log.info("world %s..%s: %d listings, %d sellers (config %s)", plan.clock.start.date(), plan.clock.now.date(),
                 plan.listings, plan.sellers, gen.fingerprint()[:12])
        metadata = {"run_id": new_run_id(JOB), "job": JOB, "git_commit": git_commit(),
                    "generator_config_sha256": gen.fingerprint()}
        for table, written in write_world(spark, conf, plan, args.overwrite and exists, metadata).items():
            log.info("%s: version %d (%s) %s", table, written.version, written.operation, written.metrics)
    else:
        log.info("world exists up to %s; nothing to generate (use --append-days/--until)", plan.clock.now.date())
    final = read_table(spark, paths["listings"])
    counts = row_counts(final, read_table(spark, paths["listing_truth"]))
    if set(counts.values()) != {plan.listings}:
        log.error("row accounting failed: expected %d listings, tables hold %s", plan.listings, counts)
        return ExitCode.ROW_ACCOUNTING
    if not args.no_summary:
        print(format_summary(counts, final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
