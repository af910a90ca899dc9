"""Wall time of `advisor recommend` cold (profile not cached) and cached, as a user runs it.

    python benchmarks/recommend_speed.py [--model yolov5s --target jetson-nano --repeat 5]

Uses a throw-away SQLite database (ADVISOR_DB) created by `advisor hardware list` first, so the
cold run pays profiling (torch import + counting on meta tensors) but not the migrations.
Prints the best and median of each, the time of a bare `import torch` and the load average
(the figures are only meaningful on an otherwise idle machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="yolov5s")
    ap.add_argument("--target", default="jetson-nano")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    advisor = [sys.executable, "-m", "advisor.cli"]
    cmd = advisor + ["recommend", "--model", args.model, "--target", args.target, "--format", "json"]
    cold, cached = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            env = {**os.environ, "ADVISOR_DB": f"sqlite:///{Path(tmp) / f'cold{i}.db'}"}
            subprocess.run(advisor + ["hardware", "list"], env=env, check=True, stdout=subprocess.DEVNULL)
            cold.append(timed(cmd, env))
            cached.append(timed(cmd, env))
    torch_import = timed([sys.executable, "-c", "import torch"], dict(os.environ))
    print(f"recommend --model {args.model} --target {args.target}, {args.repeat} runs each")
    print(f"cold (profiling):  best {min(cold):.2f} s, median {statistics.median(cold):.2f} s")
    print(f"cached profile:    best {min(cached):.2f} s, median {statistics.median(cached):.2f} s")
    print(f"bare `import torch`: {torch_import:.2f} s; load average {os.getloadavg()} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
