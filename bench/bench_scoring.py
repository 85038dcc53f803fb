"""Batch scoring throughput: the whole job (Delta -> Delta) vs the bare model on in-memory tensors.

  .venv/bin/python bench/bench_scoring.py --listings 27000 270000

Needs a registered model (make demo). For each size, a scratch warehouse gets a world of
that many listings generated over `--days` days (short enough that nearly all are still
active), its price statistics, and then one timed `spark-submit jobs/score_listings.py`
(JVM start-up, Feast, cleaning, model loading and both Delta writes counted). The bare
model is the same registered model's forward pass (regressor + classifier) on in-memory
tensors, batch size scoring.batch_size, in this process on the same machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bare_model(batch_size: int, batches: int) -> float:
    """Forward passes/s of the `latest` model on random in-memory tensors (after one warm-up batch)."""
    import torch

    from pricesuggest.config import load_config
    from scoring.inference import cached_model

    conf = load_config()
    loaded = cached_model(str(Path(conf.storage.model_store).resolve()), "latest")
    torch.set_num_threads(os.cpu_count() or 1)
    inputs = loaded.inputs
    width = 2 * inputs.text_length if inputs.bigram_buckets else inputs.text_length
    batch = (torch.rand(batch_size, 3, inputs.image_size, inputs.image_size),
             torch.randint(0, inputs.vocabulary.size, (batch_size, width)),
             torch.randn(batch_size, 2 * len(inputs.stats_columns)),
             torch.zeros(batch_size, len(inputs.fields), dtype=torch.long))
    with torch.no_grad():
        loaded.model(*batch)
        started = time.perf_counter()
        for _ in range(batches):
            loaded.model(*batch)
    return batches * batch_size / (time.perf_counter() - started)


def submit(job: str, *argv: str, env: dict) -> object:
    command = [str(ROOT / ".venv/bin/spark-submit"), "--driver-memory", "6g", "--driver-java-options",
               f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties", str(ROOT / "jobs" / job), *argv]
    m = measure(command, env=env)
    if m.returncode != 0:
        print(m.output_tail, file=sys.stderr)
        raise SystemExit(f"{job} failed")
    return m


def end_to_end(listings: int, days: int, scratch: Path) -> dict:
    from pricesuggest.config import load_config

    conf = load_config()
    env = {**os.environ, "PATH": f"{ROOT}/.venv/bin:{os.environ['PATH']}", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable,
           "PRICESUGGEST__storage__warehouse_root": str(scratch / "warehouse"),
           "PRICESUGGEST__storage__model_store": str(Path(conf.storage.model_store).resolve()),
           "PRICESUGGEST__feast__repo_dir": str(scratch / "feast"),
           "PRICESUGGEST__feast__registry": str(scratch / "feast" / "registry.db"),
           "PRICESUGGEST__feast__online_store__path": str(scratch / "feast" / "online.db"),
           "PRICESUGGEST__generator__days": str(days)}
    submit("generate_marketplace.py", "--listings", str(listings), "--no-summary", env=env)
    submit("compute_price_stats.py", env=env)
    m = submit("score_listings.py", "--examples", "0", "--allow-stale", env=env)
    line = next(l for l in m.output_tail.splitlines() if l.strip().startswith("rows in"))
    rows_in = int(line.split("rows in")[1].split("=")[0].replace(",", ""))
    return {"listings": listings, "active": rows_in, "wall_s": m.seconds, "listings_per_s": rows_in / m.seconds,
            "peak_gib": m.peak_rss_bytes / 2**30}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, nargs="+", default=[27000, 270000],
                        help="listings to generate (about 3/4 still active after --days 3)")
    parser.add_argument("--days", type=int, default=3, help="days the listings are spread over")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    from pricesuggest.config import load_config

    batch_size = load_config().scoring.batch_size
    results = []
    for n in args.listings:
        with tempfile.TemporaryDirectory(prefix="bench-scoring-", dir=ROOT / "data") as scratch:
            result = end_to_end(n, args.days, Path(scratch))
        result["bare_model_per_s"] = bare_model(batch_size, args.batches)  # same run, right after
        result["ratio"] = result["listings_per_s"] / result["bare_model_per_s"]
        results.append(result)
        print(f"{result['active']:,} active: job {result['wall_s']:.0f} s = {result['listings_per_s']:.0f} listings/s, "
              f"peak {result['peak_gib']:.2f} GiB; bare model {result['bare_model_per_s']:.0f}/s; "
              f"ratio {result['ratio']:.2f}", flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
