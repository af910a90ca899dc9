"""Wall time of `advisor recommend` cold (profile not cached) and cached, as a user runs it.

    python benchmarks/recommend_speed.py [--model yolov5s --target jetson-nano --repeat 5] [--out docs/recommend-speed.md]

Uses a throw-away SQLite database (ADVISOR_DB) created by `advisor hardware list` first, so the
cold run pays profiling (torch import + counting on meta tensors) but not the migrations.
Prints the best and median of each, the time of a bare `import torch` and the load average
(the figures are only meaningful on an otherwise idle machine).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import (  # noqa: E402
    ADVISOR, Spread, cold_and_cached, generated_by, load_average, markdown_table, speed_parser, timed, write_page,
)


def main() -> int:
    ap = speed_parser(__doc__, repeat=5, out=None)
    ap.add_argument("--model", default="yolov5s")
    ap.add_argument("--target", default="jetson-nano")
    args = ap.parse_args()
    cmd = ADVISOR + ["recommend", "--model", args.model, "--target", args.target, "--format", "json"]
    runs = cold_and_cached(cmd, args.repeat)
    cold, cached = (Spread.of(r) for r in runs)
    torch_import = timed([sys.executable, "-c", "import torch"], dict(os.environ))
    load = load_average()
    print(f"recommend --model {args.model} --target {args.target}, {args.repeat} runs each")
    print(f"cold (profiling):  {cold.best_and_median()}")
    print(f"cached profile:    {cached.best_and_median()}")
    print(f"bare `import torch`: {torch_import:.2f} s; load average {load} on {os.cpu_count()} CPUs")
    if args.out:
        write_page(args.out, [
            "# `advisor recommend` wall time",
            "",
            generated_by(f"python benchmarks/recommend_speed.py --repeat {args.repeat} --out {args.out}",
                         f"{os.cpu_count()} CPUs, load average {load}"),
            f"Command: `advisor recommend --model {args.model} --target {args.target} --format json`, each run a",
            "fresh process on a fresh SQLite database that `advisor hardware list` migrated and seeded first.",
            "",
            *markdown_table(["run", "goal", "best s", "median s"], [
                ["cold (profile counted and cached)", "< 3 s", f"{cold.best:.2f}", f"{cold.median:.2f}"],
                ["cached profile", "< 0.5 s", f"{cached.best:.2f}", f"{cached.median:.2f}"],
                ["for scale: bare `python -c 'import torch'`", "", f"{torch_import:.2f}", ""],
            ], right=[False, False, True, True]),
            "",
            "The cold run imports torch (most of its time) but not torchvision: YOLO, BERT and Llama",
            "names are recognised without it (torchvision's import pulls in torch._dynamo). The cached",
            "run imports neither torch nor SQLAlchemy (advisor/db/sqlite_store.py).",
            "",
        ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
