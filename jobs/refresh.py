"""The scheduled refresh: new listings -> statistics -> Feast -> scores (-> retrain, maintenance).

  python jobs/refresh.py --until 2026-09-02                 # daily: data up to that day, then score
  python jobs/refresh.py --until 2026-09-02 --retrain       # weekly: also rebuild the training set and
                                                            # retrain (promoted only through the gate)
  python jobs/refresh.py --maintain                         # OPTIMIZE + VACUUM (pins respected)
  python jobs/refresh.py --demo                             # the whole pipeline on the embedded defaults
                                                            # (what `make demo` runs)

What a scheduler (cron, Airflow) runs. Each step is its own `spark-submit`, in the order of
`pricesuggest/pipeline.py` (the one step list); the first that fails stops the refresh with
its exit code (a warning, such as scoring's ACCURACY_DRIFT, is reported and the refresh goes on,
ending with that code). Every step is incremental and commits in one Delta transaction, so a rerun
(after success or after a crash midway) redoes only what is missing and never shows
half-written output. In the demo, "new listings" come from the generator (`--until`:
idempotent, unlike --append-days); in production that step is the marketplace's own ingestion.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from pricesuggest.exit_codes import WARNINGS, ExitCode
from pricesuggest.pipeline import STEPS, jobs

ROOT = Path(__file__).resolve().parent.parent


def refresh_jobs(args, through: str | None = None) -> list[str]:
    """The pipeline's jobs this refresh runs: ingestion with --demo/--until, retraining with --demo/--retrain."""
    return jobs(ingest=bool(args.demo or args.until), retrain=args.demo or args.retrain, through=through)


def steps(args) -> list[list[str]]:
    """[job file, its arguments...] per step."""
    arguments = {"train_price_model": ["--skip-if-trained"],
                 "generate_marketplace": [] if args.demo else ["--until", args.until, "--no-summary"]}
    chosen = refresh_jobs(args, through=args.through)
    plan = [[f"{job}.py", *arguments.get(job, [])] for job in chosen]
    if args.maintain:
        plan.append(["maintain_tables.py"])
    return plan


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--until", help="demo only: generate listings up to this day (YYYY-MM-DD) first")
    parser.add_argument("--retrain", action="store_true", help="rebuild the training set and retrain (gated)")
    parser.add_argument("--demo", action="store_true",
                        help="the whole pipeline on the embedded defaults: the generator's default world, retrain included")
    parser.add_argument("--maintain", action="store_true", help="end with OPTIMIZE + VACUUM")
    parser.add_argument("--through", choices=[s.job for s in STEPS],
                        help="stop after this step (e.g. build_training_set: the data an evaluation reads)")
    parser.add_argument("--spark-submit", default=os.environ.get("SPARK_SUBMIT", "spark-submit"),
                        help="spark-submit command (with cluster options, quoted)")
    parser.add_argument("--print-only", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)
    if args.demo and args.until:
        parser.error("--demo runs the generator's default world; --until is for a refresh of it")
    if args.through and args.through not in refresh_jobs(args):
        parser.error(f"--through {args.through}: not a step of this refresh")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    submit = shlex.split(args.spark_submit)
    warning = ExitCode.OK
    for step in steps(args):
        command = [*submit, str(ROOT / "jobs" / step[0]), *step[1:]]
        print(f"refresh: {' '.join(command)}", flush=True)
        if args.print_only:
            continue
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT).returncode
        print(f"refresh: {step[0]} exited {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code in WARNINGS:
            print(f"refresh: WARNING {step[0]}: {ExitCode(code).name} (committed; the run goes on)", flush=True)
            warning = ExitCode(code)
        elif code != 0:
            return code
    return warning


if __name__ == "__main__":
    sys.exit(main())
