"""Wall time of whole `advisor` commands in fresh processes, shared by the speed benchmarks
(plan_speed, recommend_speed, onnx_speed, profile_speed) so that they all time a command the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: `python -m advisor.cli` with the interpreter running the benchmark.
ADVISOR = [sys.executable, "-m", "advisor.cli"]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds one command takes to run to completion (stdout discarded)."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cold_and_cached(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Times of `cmd` on `repeat` fresh SQLite databases: the first run on each (cold, nothing
    cached) and the second (cached). `advisor hardware list` migrates and seeds each database
    first, so neither run pays the migrations."""
    cold, cached = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            env = {**os.environ, "ADVISOR_DB": f"sqlite:///{Path(tmp) / f'cold{i}.db'}"}
            subprocess.run(ADVISOR + ["hardware", "list"], env=env, check=True, stdout=subprocess.DEVNULL)
            cold.append(timed(cmd, env))
            cached.append(timed(cmd, env))
    return cold, cached


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as printed next to the figures."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_advisor(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """One `advisor ...` command in a fresh process (output captured, exit code not checked)
    and its wall seconds; env None inherits this process's environment."""
    cmd = [sys.executable, "-c", "from advisor.cli import main; main()", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    return proc, time.perf_counter() - start
