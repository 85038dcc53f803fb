"""The evaluation at 100,000 listings (issue 12's scale item): its own world, then `--grid scale`.

  .venv/bin/python bench/scale_evaluation.py                  # build the world, evaluate, write the report
  .venv/bin/python bench/scale_evaluation.py --resume RUN_ID  # finish an interrupted evaluation run
  .venv/bin/python bench/scale_evaluation.py --report-only --resume RUN_ID

The demo's tables are not touched. Everything lives under `--root` (default data/scale-100k):
the warehouse, the model store, the Feast repo, registry and online store. The world is the
demo's generator configuration with `--listings` listings and proportionally more sellers.
The pipeline steps run as the refresh runs them (`jobs/refresh.py --demo --through
build_training_set`, each its own spark-submit, each incremental: a rerun skips what exists).
Then `jobs/evaluate.py --grid scale` trains the grid's models (conf/base/evaluation.yaml) and
writes docs/EVALUATION_SCALE.md and its plots under docs/evaluation/scale/.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import env_for  # noqa: E402  (the one conf -> PRICESUGGEST__ variables helper)


def scale_overrides(root: Path, listings: int, sellers: int) -> dict:
    """Conf overrides that put the whole scale world under `root`."""
    return {"generator": {"listings": listings, "sellers": sellers},
            "storage": {"warehouse_root": str(root / "warehouse"), "model_store": str(root / "models"),
                        "reports_dir": str(root / "reports")},
            "feast": {"repo_dir": str(root / "feast"), "registry": str(root / "feast" / "registry.db"),
                      "online_store": {"path": str(root / "feast" / "online.db")}}}


def run(command: list[str], env: dict[str, str]) -> None:
    print("scale:", " ".join(command), flush=True)
    started = time.perf_counter()
    code = subprocess.run(command, env=env, cwd=ROOT).returncode
    print(f"scale: exited {code} after {time.perf_counter() - started:.0f} s", flush=True)
    if code != 0:
        sys.exit(code)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT / "data" / "scale-100k", help="where the scale world lives")
    parser.add_argument("--listings", type=int, default=100_000, help="listings in the world")
    parser.add_argument("--resume", metavar="EVAL_RUN_ID", help="continue this evaluation run (the world exists)")
    parser.add_argument("--report-only", action="store_true", help="with --resume: write the report, train nothing")
    parser.add_argument("--driver-memory", default="12g", help="spark-submit --driver-memory (photos held in memory)")
    args = parser.parse_args(argv)
    from pricesuggest.config import load_config

    base = load_config()
    sellers = round(base.generator.sellers * args.listings / base.generator.listings)  # the demo's listings per seller
    env = {**os.environ, **env_for(scale_overrides(args.root.resolve(), args.listings, sellers)),
           "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    submit = [str(ROOT / ".venv" / "bin" / "spark-submit"), "--master", base.spark.master,
              "--driver-memory", args.driver_memory,
              "--driver-java-options", f"-Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties"]
    if not args.resume:
        run([sys.executable, str(ROOT / "jobs" / "refresh.py"), "--demo", "--through", "build_training_set",
             "--spark-submit", shlex.join(submit)], env)
    evaluate = [*submit, str(ROOT / "jobs" / "evaluate.py"), "--grid", "scale",
                "--report", str(ROOT / "docs" / "EVALUATION_SCALE.md"),
                "--plots-dir", str(ROOT / "docs" / "evaluation" / "scale")]
    run(evaluate + (["--resume", args.resume] if args.resume else []) + (["--report-only"] if args.report_only else []),
        env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
