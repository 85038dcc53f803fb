"""Statistics job (Spark) vs a vectorised single-process pandas peer, same input, same run.

  python bench/bench_price_stats.py --rows 1000000 5000000 --spark-only 50000000 --snapshot-days 7

Workload: N closed transactions over 91 days (prices only), statistics for the last
`--snapshot-days` snapshot days at platform, category and seller level over a 90-day
window. Each contender is a fresh process (Spark: spark-submit, JVM start counted) and
the peak is the memory of its whole process tree. The pandas peer runs under a memory cap
(--pandas-cap-gib) and a time limit (--pandas-timeout); exceeding either is reported.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure  # noqa: E402
from stats_workload import HISTORY_DAYS, HISTORY_START  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000],
                        help="sizes run by both contenders")
    parser.add_argument("--spark-only", type=int, nargs="*", default=[], help="sizes run by Spark alone")
    parser.add_argument("--snapshot-days", type=int, default=7)
    parser.add_argument("--scratch", default="/tmp/bench-price-stats")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--pandas-cap-gib", type=float, default=18.0)
    parser.add_argument("--pandas-timeout", type=int, default=3600)
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{ROOT}/.venv/bin:{os.environ['PATH']}", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    submit = [str(ROOT / ".venv/bin/spark-submit"), "--driver-memory", args.driver_memory,
              "--driver-java-options", f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties"]
    last = HISTORY_START + timedelta(days=HISTORY_DAYS)
    first = last - timedelta(days=args.snapshot_days - 1)
    results = []
    for n in sorted(set(args.rows) | set(args.spark_only)):
        source = Path(args.scratch) / f"tx_{n}"
        if not (source / "_SUCCESS").exists():
            made = measure(submit + [str(ROOT / "bench/stats_workload.py"), str(source), str(n)], env=env)
            if made.returncode != 0:
                print(made.output_tail, file=sys.stderr)
                return 1
        spark = measure(submit + [str(ROOT / "bench/stats_spark_run.py"), str(source),
                                  str(Path(args.scratch) / f"out_{n}"), str(first), str(last)], env=env)
        if spark.returncode != 0:
            print(spark.output_tail, file=sys.stderr)
            return 1
        row = {"rows": n, "spark_s": spark.seconds, "spark_gib": spark.peak_rss_bytes / 2**30}
        print(f"{n:>11,} spark  {spark.seconds:8.1f} s  {row['spark_gib']:6.2f} GiB", flush=True)
        if n in args.rows:
            cmd = ["timeout", str(args.pandas_timeout), sys.executable, str(ROOT / "bench/stats_pandas_run.py"),
                   str(source), str(first), str(last), "90", str(args.pandas_cap_gib)]
            peer = measure(cmd, env=env)
            failed = ("out of memory" if "MemoryError" in peer.output_tail else "timeout" if peer.returncode == 124
                      else f"exit {peer.returncode}" if peer.returncode != 0 else "")
            row.update(pandas_s=peer.seconds, pandas_gib=peer.peak_rss_bytes / 2**30, pandas_failed=failed or "")
            print(f"{n:>11,} pandas {peer.seconds:8.1f} s  {row['pandas_gib']:6.2f} GiB {failed or ''}", flush=True)
        results.append(row)
    print(f"\nsnapshots {first}..{last} ({args.snapshot_days} days), 90-day window, 3 levels\n")
    print("| transactions | Spark job (s) | Spark peak RSS (GiB) | s per million rows | pandas peer (s) | pandas peak RSS (GiB) | Spark / pandas |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_m = r["spark_s"] / (r["rows"] / 1e6)
        if "pandas_s" in r:
            peer = (f"{r['pandas_s']:.0f}" + (f" ({r['pandas_failed']})" if r["pandas_failed"] else ""),
                    f"{r['pandas_gib']:.2f}", "—" if r["pandas_failed"] else f"{r['spark_s'] / r['pandas_s']:.2f}")
        else:
            peer = ("not run", "—", "—")
        print(f"| {r['rows']:,} | {r['spark_s']:.0f} | {r['spark_gib']:.2f} | {per_m:.1f} | {' | '.join(peer)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
