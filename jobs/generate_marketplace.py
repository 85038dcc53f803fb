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
from marketplace.stage import generate
from marketplace.summary import format_summary
from marketplace.world_plan import WorldPlanError
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
    metadata = {"run_id": new_run_id(JOB), "job": JOB, "git_commit": git_commit(),
                "generator_config_sha256": conf.generator.fingerprint()}
    try:
        run = generate(build_session(conf, JOB), conf, args.overwrite, args.append_days, args.until, metadata, log)
    except WorldPlanError as exc:
        parser.error(str(exc))
    if set(run.counts.values()) != {run.plan.listings}:
        log.error("row accounting failed: expected %d listings, tables hold %s", run.plan.listings, run.counts)
        return ExitCode.ROW_ACCOUNTING
    if not args.no_summary:
        print(format_summary(run.counts, run.listings))
    return 0

if __name__ == "__main__":
    sys.exit(main())
