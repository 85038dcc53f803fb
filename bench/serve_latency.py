"""Latency and throughput of the suggestion service (jobs/serve.py) over loopback, after make demo.

  .venv/bin/python bench/serve_latency.py                      # SQLite and Redis online stores
  .venv/bin/python bench/serve_latency.py --stores sqlite --requests 300 --seconds 30

For each online store, starts the real service as a subprocess (`jobs/serve.py`, the embedded
defaults: `serving.workers` worker processes, one torch thread each; for Redis a scratch redis-server on loopback, materialised into by
`jobs/materialize_features.py` with a scratch registry), then drives POST /v1/suggestions at
each concurrency level, bounded in requests and in seconds. Every request is a different
active demo listing (its own photo bytes, text and seller), so no cache flatters the figures.
The load generator (threads over http.client, multipart bodies encoded before the clock
starts) runs on the same cores as the service, and its CPU is counted with the service's
(all of the service's processes: the workers, and the master with its Spark JVM). The mean
batch is requests per forward pass, summed over the workers (each one's /healthz counts).

Then a breakdown in this process, with the service's own objects: the photo decode and text
checks (cleaning's content_problem), the online-store read, and the model call
(scoring.inference.score_frame: encoding, forward passes, reasons), for one listing and for
a batch of 8; "framework" is the concurrency-1 median less those three (HTTP, multipart
parsing, FastAPI, the batcher's hand-off, the served log).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
if TYPE_CHECKING:
    from serving.suggester import UploadedListing


@dataclass
class Level:
    store: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_batch: float  # requests priced per forward pass (serving/batching.py)
    cpu_service_s: float
    cpu_loadgen_s: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def active_listings(limit: int) -> list[UploadedListing]:
    """`limit` listings the demo's batch run scored (state active), in a random order, as the
    seller's form would send them."""
    from pyspark.sql import functions as F

    from pricesuggest.config import load_config
    from pricesuggest.delta_io import read_table
    from pricesuggest.spark import build_session
    from serving.suggester import UploadedListing

    conf = load_config()
    spark = build_session(conf, "serve_latency")
    scored = read_table(spark, conf.storage.table_path("price_suggestions")).where("state = 'active'")
    rows = read_table(spark, conf.storage.table_path("listings")).join(scored.select("listing_id"), "listing_id") \
        .orderBy(F.rand(seed=7)).limit(limit) \
        .select("listing_id", "image", "title", "description", "category", "seller_id", "brand", "condition") \
        .collect()
    spark.stop()
    return [UploadedListing.from_listing(r) for r in rows]


def multipart(listing: UploadedListing) -> tuple[bytes, str]:
    """(body, content type) of the form upload, encoded once, before any clock starts."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in listing.form_fields().items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + listing.photo + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def drive(port: int, bodies: list[tuple[bytes, str]], concurrency: int,
          seconds: float) -> tuple[list[float], int, float]:
    """POST every body once (or until `seconds`), `concurrency` connections at a time:
    (latencies in ms, errors, wall seconds)."""
    latencies: list[float] = []
    errors = [0]
    next_body = iter(range(len(bodies)))
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < deadline:
            with lock:
                i = next(next_body, None)
            if i is None:
                break
            body, content_type = bodies[i]
            started = time.perf_counter()
            connection.request("POST", "/v1/suggestions", body=body, headers={
                "Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"})
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def start_service(port: int, env: dict, log: Path, workers: int) -> subprocess.Popen:
    """jobs/serve.py, once /readyz says ready and every worker answers."""
    service = subprocess.Popen([str(ROOT / ".venv/bin/python"), str(ROOT / "jobs/serve.py"), "--port", str(port)],
                               env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited ({service.returncode}); see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            body = json.loads(response.read())
            if response.status == 200 and len(batcher_counts(port, workers)) == workers:
                return service
            if body.get("model_version") and body.get("problems"):
                raise SystemExit(f"the service is not ready: {body['problems']}")
        except (ConnectionError, OSError):
            pass
        time.sleep(1)
    raise SystemExit(f"the service did not get ready; see {log}")


def redis_store(scratch: Path) -> tuple[dict, subprocess.Popen]:
    """A scratch redis-server, materialised into from the demo's price_stats: (environment, server)."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    env = {"PRICESUGGEST__feast__online_store__type": "redis",
           "PRICESUGGEST__feast__online_store__connection_string": f"127.0.0.1:{port}",
           "PRICESUGGEST__feast__registry": str(scratch / "redis-registry.db"),
           "PRICESUGGEST__feast__repo_dir": str(scratch / "feast-redis")}
    done = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "jobs/materialize_features.py")],
                          env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        server.terminate()
        raise SystemExit(f"materialising into Redis failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return env, server


def cpu_seconds(process: psutil.Process, with_children: bool) -> float:
    """CPU seconds of a process, and of everything under it (the service: its workers and Spark's JVM)."""
    total = 0.0
    for p in [process, *(process.children(recursive=True) if with_children else [])]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def bench_store(store: str, listings: list[UploadedListing], levels: list[int], requests: int, seconds: float,
                scratch: Path) -> list[Level]:
    extra, redis = ({}, None) if store == "sqlite" else redis_store(scratch)
    port = free_port()
    env = {**os.environ, **extra, "PRICESUGGEST_API_TOKEN": TOKEN,
           "PRICESUGGEST__serving__log_path": str(scratch / f"served-{store}.jsonl"),
           "PRICESUGGEST__serving__clock_path": str(scratch / f"clock-{store}.json")}
    from pricesuggest.config import load_config

    workers = load_config().serving.workers
    service = start_service(port, env, scratch / f"serve-{store}.log", workers)
    results = []
    try:
        process, me = psutil.Process(service.pid), psutil.Process()
        bodies = [multipart(x) for x in listings]
        drive(port, bodies[:20], 1, 60)  # warm-up: first-call costs (torch, Feast, sockets)
        offset = 20
        for concurrency in levels:
            chunk = [bodies[(offset + i) % len(bodies)] for i in range(requests)]  # distinct listings per level
            offset += requests
            counts_before = batcher_counts(port, workers)
            cpu_service, cpu_me = cpu_seconds(process, True), cpu_seconds(me, False)
            latencies, errors, wall = drive(port, chunk, concurrency, seconds)
            cpu_service, cpu_me = cpu_seconds(process, True) - cpu_service, cpu_seconds(me, False) - cpu_me
            batch = mean_batch(counts_before, batcher_counts(port, workers))
            results.append(Level(store, concurrency, len(latencies), errors, round(wall, 2),
                                 round(len(latencies) / wall, 1), round(percentile(latencies, 50), 1),
                                 round(percentile(latencies, 95), 1), round(percentile(latencies, 99), 1),
                                 round(batch, 2), round(cpu_service, 1), round(cpu_me, 1)))
            print(json.dumps(asdict(results[-1])), flush=True)
    finally:
        service.terminate()
        service.wait(timeout=60)
        if redis:
            redis.terminate()
            redis.wait(timeout=10)
    return results


def batcher_counts(port: int, workers: int) -> dict[int, tuple[int, int]]:
    """Per worker process: (requests priced, forward batches) so far, from /healthz (each new
    connection reaches one worker: asked until every worker has answered, or 50 times)."""
    counts: dict[int, tuple[int, int]] = {}
    for _ in range(50):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        body = json.loads(connection.getresponse().read())
        connection.close()
        counts[body["worker_pid"]] = (body["priced_requests"], body["forward_batches"])
        if len(counts) == workers:
            break
    return counts


def mean_batch(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> float:
    """Requests per forward pass over a level, across the workers seen both times."""
    pids = before.keys() & after.keys()
    requests = sum(after[p][0] - before[p][0] for p in pids)
    return requests / max(sum(after[p][1] - before[p][1] for p in pids), 1)


def breakdown(listings: list[UploadedListing], repeats: int) -> dict[str, dict[str, float]]:
    """Median ms of each stage, with the service's own objects, for 1 listing and for 8."""
    import torch

    from ingest.cleaning import content_problem
    from pricesuggest.config import load_config
    from scoring.inference import score_frame
    from scoring.transforms import CATEGORY_KNOWN
    from serving.suggester import suggester_from_conf

    conf = load_config()
    torch.set_num_threads(conf.serving.torch_threads)  # as in each service worker
    suggester = suggester_from_conf(conf)
    models = suggester.models
    out = {}
    for size in (1, 8):
        stages: dict[str, list[float]] = {"decode_and_checks": [], "online_features": [], "model_call": []}
        for r in range(repeats):
            batch = listings[r * size % len(listings):][:size]
            t0 = time.perf_counter()
            for x in batch:
                content_problem(x.photo, x.title, x.description, suggester.limits)
            t1 = time.perf_counter()
            frame = suggester.frame(batch, models.current)
            t2 = time.perf_counter()
            score_frame(frame, models.current, suggester.checks, len(batch), CATEGORY_KNOWN)
            t3 = time.perf_counter()
            for stage, ms in zip(stages, ((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)):
                stages[stage].append(ms)
        out[f"batch_{size}"] = {k: round(statistics.median(v[3:]), 2) for k, v in stages.items()}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "redis"], choices=["sqlite", "redis"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=600, help="requests per level, at most")
    parser.add_argument("--seconds", type=float, default=60, help="seconds per level, at most")
    parser.add_argument("--out", type=Path, default=ROOT / "data/bench/serve_latency.json")
    args = parser.parse_args(argv)
    if "redis" in args.stores and not shutil.which("redis-server"):
        parser.error("redis-server is missing: make setup installs it")
    needed = 20 + args.requests * len(args.concurrency)
    listings = active_listings(needed)
    if len(listings) < needed:
        print(f"note: {len(listings)} active listings for {needed} requests: some levels reuse listings")
    scratch = Path(tempfile.mkdtemp(prefix="serve-latency-"))
    try:
        levels = [level for store in args.stores
                  for level in bench_store(store, listings, args.concurrency, args.requests, args.seconds, scratch)]
        stages = breakdown(listings, repeats=60)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    c1 = next((x for x in levels if x.store == "sqlite" and x.concurrency == 1), None)
    if c1:
        stages["batch_1"]["framework"] = round(c1.p50_ms - sum(stages["batch_1"].values()), 2)
    report = {"cores": os.cpu_count(), "levels": [asdict(x) for x in levels], "breakdown_ms": stages}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print("| store | concurrency | requests | errors | req/s | p50 ms | p95 ms | p99 ms | CPU s service | CPU s load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for x in levels:
        print(f"| {x.store} | {x.concurrency} | {x.requests} | {x.errors} | {x.throughput} | {x.p50_ms} | "
              f"{x.p95_ms} | {x.p99_ms} | {x.cpu_service_s} | {x.cpu_loadgen_s} |")
    print("breakdown (median ms):", json.dumps(stages))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
