"""How fast and how small profiling is: the speed and memory goals of the profiler issue.

- `advisor profile llama-70b --phase decode --context 4096` as a whole command: wall and
  CPU seconds and peak RSS (goal: under 10 s and 2 GB).
- Counting yolov5s at batch 64 against batch 1, in process (goal: no more than twice).

Writes docs/profile-speed.md. Run: python benchmarks/profile_speed.py [--repeat 3]
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import ADVISOR, Spread, generated_by, markdown_table, run_timed, speed_parser, write_page  # noqa: E402


def count_seconds(batch: int, repeat: int) -> float:
    """Best-of-N CPU seconds to count yolov5s at a batch (the model built once)."""
    from advisor.models import load_model
    from advisor.workload import Workload
    from advisor.profiling.counter import count

    spec = load_model(Workload(model="yolov5s", batch=batch))
    count(spec)  # warm: first-use imports are not the cost being compared
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        count(spec)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    opts = speed_parser(__doc__, repeat=3, out=ROOT / "docs" / "profile-speed.md").parse_args()

    # peak RSS is the largest child so far: the llama command is the only child, so it is its own
    llama = [run_timed(ADVISOR + ["profile", "llama-70b", "--phase", "decode", "--context", "4096", "-f", "json"])
             for _ in range(opts.repeat)]
    wall, cpu = Spread.of(r.wall_s for r in llama).best, Spread.of(r.cpu_s for r in llama).best
    rss = max(r.peak_rss_mib for r in llama)
    t1, t64 = count_seconds(1, opts.repeat), count_seconds(64, opts.repeat)

    load = os.getloadavg()[0]
    lines = [
        "# Profiling speed and memory",
        "",
        generated_by(f"python benchmarks/profile_speed.py --repeat {opts.repeat}",
                     f"{platform.platform()}, {os.cpu_count()} CPUs, load average {load:.1f} at the end")
        + f" Minimum of {opts.repeat} runs.",
        "",
        *markdown_table(["what", "goal", "measured"], [
            ["`advisor profile llama-70b --phase decode --context 4096`, whole command", "< 10 s",
             f"{wall:.2f} s wall, {cpu:.2f} s CPU"],
            ["same, peak RSS", "< 2 GB", f"{rss} MiB"],
            ["counting yolov5s at 640, batch 1 (CPU s, in process)", "", f"{t1:.3f} s"],
            ["counting yolov5s at 640, batch 64", "<= 2x batch 1", f"{t64:.3f} s ({t64 / t1:.2f}x)"],
        ]),
        "",
        "Counting runs on meta tensors, so its cost does not grow with batch or resolution and",
        "no weights are allocated (69 B fp32 parameters would be 276 GB).",
        "",
    ]
    write_page(opts.out, lines, echo=True)


if __name__ == "__main__":
    main()
