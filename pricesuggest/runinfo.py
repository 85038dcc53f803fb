"""Run ids and code versions stamped on every output (Delta commits, tables, checkpoints)."""
from __future__ import annotations

import os
import subprocess
import uuid
from datetime import datetime, timezone

from pricesuggest.config import PROJECT_ROOT


def new_run_id(job: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{job}-{stamp}-{uuid.uuid4().hex[:8]}"


def git_commit() -> str:
    """The code version: PRICESUGGEST_GIT_COMMIT when deployed without .git, else HEAD."""
    if os.environ.get("PRICESUGGEST_GIT_COMMIT"):
        return os.environ["PRICESUGGEST_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
