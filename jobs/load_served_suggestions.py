"""Load the service's log of served suggestions into the Delta table `served_suggestions`.

  spark-submit jobs/load_served_suggestions.py

Claims the log file (`serving.log_path`: renamed, so the running service starts a new one),
MERGEs its lines on request_id (loading a line twice changes nothing) and deletes the claimed
files after the commit. Lines that do not parse are written beside it (`*.rejected`) and counted:
lines in = rows loaded + lines rejected (serving/served_table.py).
"""
from __future__ import annotations

import sys

from jobs.common import job_parser, load_job_config, setup_logging
from pricesuggest.exit_codes import ExitCode
from pricesuggest.runinfo import git_commit, new_run_id
from pricesuggest.spark import build_session
from serving.served_table import load_served

JOB = "load_served_suggestions"


def main(argv=None) -> int:
    parser = job_parser(__doc__.strip().splitlines()[0])
    args = parser.parse_args(argv)
    conf = load_job_config(parser, args)
    log = setup_logging()
    run_id = new_run_id(JOB)
    load = load_served(build_session(conf, JOB), conf, {"run_id": run_id, "job": JOB, "git_commit": git_commit()})
    if not load.lines:
        print("no served suggestions to load")
        return ExitCode.OK
    if load.rejected:
        log.warning("%d line(s) did not parse: kept in %s", load.rejected, load.rejected_file)
    repeated = load.lines - load.rows - load.rejected  # the same request id twice: one row
    print(f"served_suggestions version {load.written.version}: {load.lines} lines = {load.rows} rows "
          f"+ {load.rejected} rejected" + (f" + {repeated} repeated request ids" if repeated else ""))
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
