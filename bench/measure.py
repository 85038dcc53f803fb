"""Run a command and measure its wall time and the peak memory of its whole process tree.

Spark work happens in a JVM and in Python worker processes, so the peak is the largest sum
of resident memory over the command and all its descendants, sampled every 0.2 s.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    returncode: int
    seconds: float
    peak_rss_bytes: int
    output_tail: str


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> Measurement:
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    lines: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
    reader.start()
    while child.poll() is None:
        try:
            peak = max(peak, tree_rss(proc))
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join(timeout=5)
    return Measurement(child.returncode, time.perf_counter() - start, peak, "".join(lines[-40:]))
