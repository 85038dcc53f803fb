"""One service worker: the app (serving/app.py) around its own Suggester, built in its own process.

jobs/serve.py runs `serving.workers` of these behind one port (uvicorn's workers: one process
per core, since one Python process prices on one core however many it has). Each worker loads
`latest` and opens the online store itself, and swaps the model on its own refresh. The data
clock is the one thing a worker does not resolve: that takes a Spark session (the listings
table's declared clock), one per service rather than one per worker, so jobs/serve.py resolves
it and publishes it in `serving.clock_path` (`DataClockFile`), which every worker re-reads.

Workers are started by import string (`create_worker_app`, a uvicorn factory) in fresh
processes: they read conf from the environment jobs/serve.py leaves them (PRICESUGGEST_CONF_DIR
and any PRICESUGGEST__ overrides), like any job.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from datetime import date, datetime, timezone
from pathlib import Path

from fastapi import FastAPI

from pricesuggest.config import AppConfig, load_config, resolve_root

log = logging.getLogger("pricesuggest.serving")


class DataClockFile:
    """The pipeline's as-of, as jobs/serve.py resolved it, handed to its workers through a file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def publish(self, as_of: date) -> None:
        """Write atomically: a worker reads the old clock or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        scratch.write_text(json.dumps({"as_of": as_of.isoformat(), "pid": os.getpid(),
                                       "resolved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        os.replace(scratch, self.path)

    def read(self) -> date:
        return date.fromisoformat(json.loads(self.path.read_text())["as_of"])


def worker_app(conf: AppConfig) -> FastAPI:
    """The app one worker serves: conf's Suggester, refreshed in the background with the clock."""
    import torch

    from serving.app import ServedLog, create_app
    from serving.suggester import refresh_forever, suggester_from_conf

    torch.set_num_threads(conf.serving.torch_threads)
    token = os.environ.get(conf.serving.token_env)
    if not token:
        raise RuntimeError(f"set {conf.serving.token_env}: the bearer token API calls must send")
    clock_file = DataClockFile(resolve_root(conf.serving.clock_path))
    clock = {"as_of": clock_file.read()}

    def reread_clock() -> None:
        clock["as_of"] = clock_file.read()

    suggester = suggester_from_conf(conf)
    loaded = suggester.models.current
    log.info("worker %d serving model %s", os.getpid(), loaded.version if loaded else None)
    if loaded is None:
        log.warning("no model registered yet: /readyz stays 503 until one is promoted")
    # a daemon: it dies with the worker; a refresh never blocks a request (serving/suggester.py)
    threading.Thread(target=refresh_forever, args=(suggester, conf.serving.refresh_seconds, threading.Event(),
                                                   reread_clock), name="refresh", daemon=True).start()
    return create_app(suggester, token, conf.serving, ServedLog(Path(resolve_root(conf.serving.log_path))),
                      lambda: clock["as_of"], conf.scoring.max_feature_age_days)


def create_worker_app() -> FastAPI:
    """uvicorn's factory (`serving.worker:create_worker_app`): conf from this process's environment."""
    from jobs.common import setup_logging

    setup_logging()
    return worker_app(load_config())
