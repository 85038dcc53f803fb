"""Generation time and peak memory of `jobs/generate_marketplace.py` at several sizes.

  python bench/bench_generator.py --listings 20000 1000000

Each size runs through spark-submit (the way production runs it) into a fresh scratch
warehouse, and the peak is the memory of the whole process tree (driver JVM + Python
workers). Prints a Markdown table for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, nargs="+", default=[20000, 1000000])
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--scratch", default=None, help="where to write the tables (default: a temp dir)")
    args = parser.parse_args()
    rows = []
    for n in args.listings:
        scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-gen-")) / f"n{n}"
        shutil.rmtree(scratch, ignore_errors=True)
        env = {**os.environ, "PRICESUGGEST__storage__warehouse_root": str(scratch),
               "PATH": f"{ROOT}/.venv/bin:{os.environ['PATH']}", "PYSPARK_PYTHON": sys.executable,
               "PYSPARK_DRIVER_PYTHON": sys.executable}
        cmd = [str(ROOT / ".venv/bin/spark-submit"), "--driver-memory", args.driver_memory,
               "--driver-java-options", f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties",
               str(ROOT / "jobs/generate_marketplace.py"), "--listings", str(n), "--no-summary"]
        m = measure(cmd, env=env)
        if m.returncode != 0:
            print(m.output_tail, file=sys.stderr)
            return 1
        size = sum(f.stat().st_size for f in scratch.rglob("*") if f.is_file())
        rows.append((n, m.seconds, m.peak_rss_bytes / 2**30, size / 2**30))
        print(f"{n:>9,} listings: {m.seconds:7.1f} s, peak RSS {m.peak_rss_bytes / 2**30:5.2f} GiB, "
              f"tables {size / 2**30:5.2f} GiB", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n| listings | wall time (s) | listings/s | peak RSS, process tree (GiB) | Delta size on disk (GiB) |")
    print("|---:|---:|---:|---:|---:|")
    for n, seconds, peak, size in rows:
        print(f"| {n:,} | {seconds:.0f} | {n / seconds:,.0f} | {peak:.2f} | {size:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
