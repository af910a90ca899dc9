"""benchmarks/kernel_cost_residuals.py: the two in-sample fits of a group, checked by hand.

A group whose measurements are exactly 1.5x the prediction plus 20 us per kernel must give back
a = 1.5 and c = +20 us with no error left, while one multiplier leaves the kernel-count trend.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.kernel_cost_residuals import Row, describe  # noqa: E402


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("| ").split("|")]


def test_a_per_kernel_cost_is_recovered_exactly() -> None:
    rows = [Row(f"m{i}", predicted_ms=p, measured_ms=1.5 * p + 0.020 * k, kernels=k, flops=1e9 * p)
            for i, (p, k) in enumerate([(1.0, 10), (2.0, 200), (5.0, 50), (0.5, 300), (8.0, 20)])]
    m, one_median, _, a, c, two_median, two_p90, corr = cells(describe(rows))
    assert float(a) == 1.5 and c == "+20" and float(two_median) == 0.0 and float(two_p90) == 0.0
    # one multiplier: the median of the measured / predicted ratios; its error follows the kernels
    ratios = sorted(r.measured_ms / r.predicted_ms for r in rows)
    assert float(m) == round(ratios[2], 2)
    assert float(one_median) > 0.05
    # many small kernels per FLOP run slower than predicted: the ratio falls with FLOPs per kernel
    assert float(corr) < -0.5
