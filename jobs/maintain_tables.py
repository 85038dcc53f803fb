"""OPTIMIZE and VACUUM the project's Delta tables, never deleting a version a registered model pins.

  spark-submit jobs/maintain_tables.py [--tables price_suggestions scoring_runs] [--dry-run]

For each table in maintenance.tables that exists: compact small files (OPTIMIZE), then
VACUUM with maintenance.retention_hours, stretched for the training_set versions that
registered models record (pricesuggest/maintenance.py), and stretch delta.logRetentionDuration
likewise so time travel to a pinned version keeps working.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from jobs.common import job_parser, load_job_config, setup_logging
from pricesuggest.config import ConfigError
from pricesuggest.delta_io import table_exists
from pricesuggest.maintenance import compact_and_vacuum, model_pins, normalise, retention_hours
from pricesuggest.spark import build_session
from registry.store import ModelStore

JOB = "maintain_tables"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--tables", nargs="+", help="tables to maintain (default: maintenance.tables)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    log = setup_logging()
    names = args.tables or conf.maintenance.tables
    for name in names:  # unknown names fail before anything runs
        try:
            conf.storage.table(name)
        except ConfigError as exc:
            parser.error(str(exc))
    spark = build_session(conf, JOB)
    pins = model_pins(spark, ModelStore(conf.storage.model_store))
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # VACUUM is about file age: the wall clock is right here
    for name in names:
        location = conf.storage.table_path(name)
        if not table_exists(spark, location):
            print(f"{name}: no table yet, skipped")
            continue
        hours = retention_hours(location, pins, now, conf.maintenance.retention_hours,
                                conf.maintenance.pinned_margin_hours)
        pinned = sorted({p.version for p in pins if normalise(p.table) == normalise(location)})
        print(f"{name}: OPTIMIZE, VACUUM RETAIN {hours:.1f} HOURS" + (f" (pinned versions {pinned})" if pinned else ""))
        if args.dry_run:
            continue
        compact_and_vacuum(spark, location, hours)
        log.info("%s: maintained", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
