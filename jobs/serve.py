"""The suggestion service: POST /v1/suggestions over the registry's `latest` and Feast's online store.

  PRICESUGGEST_API_TOKEN=... python jobs/serve.py [--host 0.0.0.0] [--port 8080] [--workers 2]   # make serve

Runs `serving.workers` worker processes behind one port (serving/worker.py: each loads `latest`,
swapped without a restart when it moves, and reads statistics from the online store: SQLite by
default, Redis from conf `feast.online_store`). This process resolves the data clock as every job
does (a local Spark session reads the ingestion's declared clock) and publishes it to the workers
in `serving.clock_path`, every `serving.refresh_seconds`. See serving/app.py for the API.
"""
from __future__ import annotations

import os
import sys
import threading

from jobs.common import job_parser, load_job_config, positive_int, setup_logging
from pricesuggest.config import resolve_root

JOB = "serve"
WORKER_FACTORY = "serving.worker:create_worker_app"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--host", help="interface to listen on (default: serving.host)")
    parser.add_argument("--port", type=positive_int, help="port (default: serving.port)")
    parser.add_argument("--workers", type=positive_int, help="worker processes (default: serving.workers)")
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    if not os.environ.get(conf.serving.token_env):
        parser.error(f"set {conf.serving.token_env}: the bearer token API calls must send")
    if args.conf_dir:  # the workers load conf as any job does, from the environment
        os.environ["PRICESUGGEST_CONF_DIR"] = str(args.conf_dir.resolve())
    log = setup_logging()

    import uvicorn

    from pricesuggest.clock import run_clock
    from pricesuggest.spark import build_session
    from serving.worker import DataClockFile

    spark = build_session(conf, JOB)  # only for the data clock (the listings table's declared clock)
    clock_file = DataClockFile(resolve_root(conf.serving.clock_path))
    clock_file.publish(run_clock(spark, conf, None).as_of)  # before any worker starts: they read it first
    stop = threading.Event()

    def publish_clock() -> None:
        while not stop.wait(conf.serving.refresh_seconds):
            try:
                clock_file.publish(run_clock(spark, conf, None).as_of)
            except Exception:  # noqa: BLE001 - the workers keep the last clock; /readyz judges staleness by it
                log.exception("re-reading the data clock failed")

    threading.Thread(target=publish_clock, name="data-clock", daemon=True).start()
    host, port = args.host or conf.serving.host, args.port or conf.serving.port
    workers = args.workers or conf.serving.workers
    log.info("serving on http://%s:%d with %d worker(s)", host, port, workers)
    try:
        uvicorn.run(WORKER_FACTORY, factory=True, host=host, port=port, workers=workers, log_level="warning")
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
