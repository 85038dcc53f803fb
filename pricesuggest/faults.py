"""Crash injection for the recovery tests. `PRICESUGGEST_FAULT` (set only by tests) arms one fault;
unarmed, every hook here does nothing.

- `crash-while-writing` arms `crash_while_writing`: a watcher thread polls the table's directory
  and, as soon as the write has put its first new Parquet file there (before Delta commits the
  transaction), SIGKILLs the driver JVM and exits, as a machine loss would. Local tables only.
- `kill-python-worker` arms `WorkerKill`: the first task attempt that reaches it SIGKILLs its own
  executor Python worker, once per marker file (`PRICESUGGEST_FAULT_MARKER`, created as it
  fires), as an out-of-memory kill would. Spark must retry the task (`local[*,N]`: plain
  `local[*]` tries a task once) and the run must end as an uninterrupted one.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FAULT_ENV = "PRICESUGGEST_FAULT"
FAULT_MARKER_ENV = "PRICESUGGEST_FAULT_MARKER"
CRASH_WHILE_WRITING = "crash-while-writing"
KILL_PYTHON_WORKER = "kill-python-worker"
EXIT_CRASHED = 137


def _parquet_files(root: Path) -> set[Path]:
    return set(root.rglob("*.parquet")) if root.exists() else set()


@contextmanager
def crash_while_writing(table_location: str):
    if os.environ.get(FAULT_ENV) != CRASH_WHILE_WRITING:
        yield
        return
    if Path(f"/proc/{os.getppid()}/comm").read_text().strip() != "java":
        raise RuntimeError(f"{FAULT_ENV}={CRASH_WHILE_WRITING} kills the parent JVM: run the job with spark-submit")
    root = Path(table_location.removeprefix("file:"))
    before = _parquet_files(root)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if _parquet_files(root) - before:
                # spark-submit's JVM is this Python driver's parent: kill it before it can commit
                os.kill(os.getppid(), signal.SIGKILL)
                os._exit(EXIT_CRASHED)
            done.wait(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@dataclass(frozen=True)
class WorkerKill:
    """Built on the driver (`armed()` reads its environment) and shipped to the executors in a UDF's
    closure, since executor workers do not see the driver's environment."""
    marker: str | None = None

    @classmethod
    def armed(cls) -> WorkerKill:
        if os.environ.get(FAULT_ENV) != KILL_PYTHON_WORKER:
            return cls()
        marker = os.environ.get(FAULT_MARKER_ENV)
        if not marker:
            raise RuntimeError(f"{FAULT_ENV}={KILL_PYTHON_WORKER} needs {FAULT_MARKER_ENV}: the file that makes it fire once")
        return cls(marker)

    def maybe_kill(self) -> None:
        """In an executor's Python worker: SIGKILL it on a task's first attempt, once per marker."""
        if self.marker is None:
            return
        from pyspark import TaskContext

        task = TaskContext.get()
        if task is None or task.attemptNumber() > 0:
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))  # atomic: one kill in all
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
