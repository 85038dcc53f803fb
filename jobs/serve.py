"""The suggestion service: POST /v1/suggestions over the registry's `latest` and Feast's online store.

  PRICESUGGEST_API_TOKEN=... python jobs/serve.py [--host 0.0.0.0] [--port 8080]     # make serve

Loads `latest` (swapped without a restart when it moves), reads statistics from the online
store (SQLite by default, Redis from conf: `feast.online_store`), and resolves the data clock
as every job does (a local Spark session reads the ingestion's declared clock), re-reading all
three every `serving.refresh_seconds`. See serving/app.py for the API.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from pricesuggest.config import resolve_root

JOB = "serve"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--host", help="interface to listen on (default: serving.host)")
    parser.add_argument("--port", type=positive_int, help="port (default: serving.port)")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    token = os.environ.get(conf.serving.token_env)
    if not token:
        parser.error(f"set {conf.serving.token_env}: the bearer token API calls must send")
    log = setup_logging()

    import uvicorn

    from pricesuggest.clock import run_clock
    from pricesuggest.spark import build_session
    from serving.app import ServedLog, create_app
    from serving.suggester import refresh_forever, suggester_from_conf

    spark = build_session(conf, JOB)  # only for the data clock (the listings table's declared clock)
    clock = {"as_of": run_clock(spark, conf, None).as_of}
    suggester = suggester_from_conf(conf)
    models = suggester.models
    if models.current is None:
        log.warning("no model registered yet: /readyz stays 503 until one is promoted")
    stop = threading.Event()

    def reread_clock() -> None:
        clock["as_of"] = run_clock(spark, conf, None).as_of

    threading.Thread(target=refresh_forever, args=(suggester, conf.serving.refresh_seconds, stop, reread_clock),
                     daemon=True).start()
    app = create_app(suggester, token, conf.serving,
                     ServedLog(Path(resolve_root(conf.serving.log_path))), lambda: clock["as_of"],
                     conf.scoring.max_feature_age_days)
    log.info("serving model %s on http://%s:%d", models.current.version if models.current else None,
             args.host or conf.serving.host, args.port or conf.serving.port)
    try:
        uvicorn.run(app, host=args.host or conf.serving.host, port=args.port or conf.serving.port,
                    log_level="warning")
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
