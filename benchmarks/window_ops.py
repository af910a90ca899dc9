"""CPU cost of max pooling in eager PyTorch, in cycles per window element per core.

Why: ATen's max_pool2d on NCHW CPU tensors loops over the window of every output element
with scalar compares (plus a NaN check and the index bookkeeping), so it runs far below
the vector units' rate that the roofline would give it: ResNet's stem pool took ~5 ms at
batch 1 on the validation CPU. The predictor prices it with the figure this script prints
(hardware_db/frameworks/pytorch.yaml, overhead.window_op_cycles).

    python benchmarks/window_ops.py            # ResNet stem pool, batch 1 and 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cycles_per_window_element(batch: int, threads: int, clock_ghz: float, repeats: int = 15) -> tuple[float, float]:
    """(best ms, cycles per window element per core) of a 3x3/2 max pool on 64x112x112."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    x = torch.randn(batch, 64, 112, 112)
    with torch.inference_mode():
        for _ in range(3):
            F.max_pool2d(x, 3, 2, 1)
        best = min(_timed(lambda: F.max_pool2d(x, 3, 2, 1)) for _ in range(repeats))
    window_elems = batch * 64 * 56 * 56 * 9
    return best * 1e3, best * clock_ghz * 1e9 * threads / window_elems


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    from advisor.measure.sysinfo import detect_cpu  # the clock `advisor calibrate` puts in the platform

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    import torch

    info = detect_cpu()
    threads = args.threads or torch.get_num_threads()
    for batch in (1, 8):
        ms, cycles = cycles_per_window_element(batch, threads, (info.clock_ghz or 1.0))
        print(f"max_pool2d 3x3/2 on {batch}x64x112x112, {threads} threads at {(info.clock_ghz or 1.0):.2f} GHz: "
              f"{ms:.2f} ms, {cycles:.1f} cycles per window element per core")


if __name__ == "__main__":
    main()
