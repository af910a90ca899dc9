"""Wall time of `advisor plan` for the issue's question, cold (profiles not cached) and cached.

    python benchmarks/plan_speed.py [--repeat 5] [--out docs/plan-speed.md]

Goal (issue 11): `advisor plan --model llama-70b --target h100-sxm --target h200 --ttft-ms 500
--tpot-ms 50` answers in under 5 s. Each run is a fresh process on a throw-away SQLite database
that `advisor hardware list` migrated and seeded first, so the cold run pays counting the three
profiles (torch import + meta tensors) and the cached run only the planning. Run on an
otherwise idle machine: the figures mean nothing on a busy one (the load average is printed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import ADVISOR, Spread, cold_and_cached, generated_by, load_average, markdown_table, speed_parser, write_page  # noqa: E402

QUESTION = ["plan", "--model", "llama-70b", "--target", "h100-sxm", "--target", "h200",
            "--input-len", "1024", "--output-len", "256", "--ttft-ms", "500", "--tpot-ms", "50"]


def main() -> int:
    args = speed_parser(__doc__, repeat=5, out=None).parse_args()
    cmd = ADVISOR + QUESTION
    runs = cold_and_cached(cmd, args.repeat)
    cold, cached = (Spread.of(r) for r in runs)
    load = load_average()
    shown = "advisor " + " ".join(QUESTION)
    print(shown)
    print(f"cold (3 profiles counted): {cold.best_and_median()}")
    print(f"cached profiles:           {cached.best_and_median()}")
    print(f"load average {load} on {os.cpu_count()} CPUs")
    if args.out:
        write_page(args.out, [
            "# `advisor plan` wall time",
            "",
            generated_by(f"python benchmarks/plan_speed.py --repeat {args.repeat} --out {args.out}",
                         f"{os.cpu_count()} CPUs, load average {load}"),
            f"Command: `{shown}`, each run a fresh process on a fresh SQLite database.",
            "",
            *markdown_table(["run", "goal", "best s", "median s"], [
                ["cold (decode at batch 1 and 2, prefill counted)", "< 5 s", f"{cold.best:.2f}", f"{cold.median:.2f}"],
                ["cached profiles", "< 5 s", f"{cached.best:.2f}", f"{cached.median:.2f}"],
            ], right=[False, False, True, True]),
            "",
        ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
