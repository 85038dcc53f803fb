"""Register the Feast repository (`feast apply`) and materialize price statistics to the online store.

  spark-submit jobs/materialize_features.py [--as-of YYYY-MM-DD]

The first run of a view materializes the snapshots within its ttl before --as-of; later
runs continue incrementally from where the last one ended, up to --as-of. Rerunning for
the same --as-of writes nothing new.
"""
from __future__ import annotations

import sys

from feature_repo.store import apply_repo, feast_on, open_store
from jobs.common import iso_date, job_parser, load_job_config, setup_logging
from pricesuggest.clock import midnight, run_clock
from pricesuggest.spark import build_session

JOB = "materialize_features"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--as-of", type=iso_date, help="materialize up to this day 00:00 UTC (default: pipeline.as_of)")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    log = setup_logging()
    spark = build_session(conf, JOB)
    as_of = run_clock(spark, conf, args.as_of).as_of
    end = midnight(as_of)

    store = open_store(conf)
    with feast_on(spark):
        applied = apply_repo(store, conf)
        log.info("feast apply: %d objects in project %s (registry %s)", applied, conf.feast.project,
                 store.config.registry.path)
        for view in store.list_feature_views():
            if view.most_recent_end_time is None:  # first run: Feast would otherwise start at wall-clock now - ttl
                store.materialize(start_date=end - view.ttl, end_date=end, feature_views=[view.name])
            elif view.most_recent_end_time.replace(tzinfo=None) < end:
                store.materialize_incremental(end_date=end, feature_views=[view.name])
            else:
                log.info("%s already materialized up to %s", view.name, view.most_recent_end_time)
    service = store.get_feature_service(conf.feast.feature_service)
    log.info("feature service %s: %d views online as of %s", service.name, len(service.feature_view_projections), end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
