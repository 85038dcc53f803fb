"""Training throughput: Petastorm loader vs in-memory tensors (same model, same run), 1 vs 2 processes.

  python bench/bench_training.py --steps 30 --batch-size 256

Needs the demo's training_set (make demo). Part 1 runs in this process: the default demo
model trains `--steps` steps on batches from in-memory tensors (PNGs decoded beforehand,
not timed), then the same number of steps from Petastorm over the training table's Parquet
files (reader start-up and PNG decoding counted). Part 2 runs the training job itself with
1 and with 2 Horovod processes for one epoch, JVM and Horovod start-up counted.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def loader_vs_memory(steps: int, batch_size: int) -> dict:
    import torch

    from model.price_net import PriceSuggester
    from pricesuggest.config import load_config
    from pricesuggest.delta_io import current_version, read_table
    from pricesuggest.spark import build_session
    from training.distributed import Single, device_for
    from training.input_fitting import fit_configured_inputs, statistics_columns
    from training.petastorm_data import in_memory_batches, petastorm_batches
    from training.train import run_epoch

    conf = load_config()
    spark = build_session(conf, "bench-training")
    path = conf.storage.table_path("training_set")
    table = read_table(spark, path, version=current_version(spark, path)).where("split = 'train'")
    stats_columns = statistics_columns(table)
    inputs = fit_configured_inputs(table, conf)
    model_cfg = dataclasses.replace(conf.training.model, vocab_size=inputs.vocabulary.size, image_size=conf.generator.image_size,
                                    n_stats=len(stats_columns), field_sizes=inputs.field_sizes)
    train_cfg = dataclasses.replace(conf.training.train, batch_size=batch_size)
    ctx = Single()
    device = device_for(ctx)
    arrays = inputs.encode_frame(table.select(*inputs.source_columns()).toPandas())
    urls = table.inputFiles()
    results = {}
    for name in ("in-memory", "petastorm"):
        torch.manual_seed(0)
        model = PriceSuggester(model_cfg).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr)
        started = time.perf_counter()
        # epoch index past the warm-up: the gated stage, as most of a run
        epoch = train_cfg.warm_up_epochs
        if name == "in-memory":
            run_epoch(train_cfg, model, optimizer, None, in_memory_batches(arrays, batch_size), epoch, steps, ctx,
                      device, name)
        else:
            with petastorm_batches(urls, inputs, batch_size, workers=conf.training.reader_workers) as batches:
                run_epoch(train_cfg, model, optimizer, None, batches, epoch, steps, ctx, device, name)
        seconds = time.perf_counter() - started
        results[name] = {"seconds": seconds, "samples_per_s": steps * batch_size / seconds}
        print(f"{name:>10}: {steps} steps x {batch_size} in {seconds:.1f} s = {steps * batch_size / seconds:.0f} samples/s",
              flush=True)
    spark.stop()
    return results


def processes(num_procs: list[int]) -> dict:
    env = {**os.environ, "PATH": f"{ROOT}/.venv/bin:{os.environ['PATH']}", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "PRICESUGGEST__training__train__warm_up": "false"}
    results = {}
    for n in num_procs:
        m = measure([str(ROOT / ".venv/bin/spark-submit"), "--driver-memory", "4g", "--driver-java-options",
                     f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties",
                     str(ROOT / "jobs/train_price_model.py"), "--num-proc", str(n), "--epochs", "1", "--no-promote"],
                    env=env)
        if m.returncode != 0:
            print(m.output_tail, file=sys.stderr)
            raise SystemExit(1)
        line = next(l for l in m.output_tail.splitlines()[::-1] if "registered model" in l)
        version = line.split("registered model ")[1].strip()
        from pricesuggest.config import load_config
        from registry.store import ModelStore

        meta = ModelStore(load_config().storage.model_store).metadata(version)
        epoch = meta["history"][-1]
        results[n] = {"wall_s": m.seconds, "epoch_s": epoch["seconds"], "samples_per_s": epoch["samples_per_s"],
                      "peak_gib": m.peak_rss_bytes / 2**30}
        print(f"{n} process(es): job {m.seconds:.0f} s, epoch {epoch['seconds']:.1f} s = "
              f"{epoch['samples_per_s']:.0f} samples/s, peak {m.peak_rss_bytes / 2**30:.2f} GiB", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-proc", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    part1 = loader_vs_memory(args.steps, args.batch_size)
    part2 = processes(args.num_proc)
    print(json.dumps({"loader": part1, "processes": part2}, indent=2))
    ratio = part1["petastorm"]["samples_per_s"] / part1["in-memory"]["samples_per_s"]
    print(f"\nPetastorm / in-memory throughput: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
