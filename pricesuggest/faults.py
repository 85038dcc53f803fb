"""Crash injection for the recovery tests: kill the driver while a Delta write has files out.

`PRICESUGGEST_FAULT=crash-while-writing` (set only by tests) arms `crash_while_writing`:
a watcher thread polls the table's directory and, as soon as the write has put its first
new Parquet file there (before Delta commits the transaction), SIGKILLs the driver JVM and
exits, as a machine loss would. Local tables only. Unarmed, it does nothing.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

FAULT_ENV = "PRICESUGGEST_FAULT"
CRASH_WHILE_WRITING = "crash-while-writing"
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
