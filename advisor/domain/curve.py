"""Reading a calibration's utilisation curve: the one interpolation both the predictor and
the calibration use (pure Python, no torch).

A curve is a list of (work, fraction) points as ``CalibrationSpec.utilisation_curve`` stores
them: work is a kernel's parallel work in output elements, fraction the share of the
achievable matmul peak that kernels of that size reached (``advisor calibrate``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence


def interpolate_curve(curve: Sequence[tuple[float, float]], work: float) -> float:
    """The curve's fraction at ``work``: piecewise-linear in log(work) between the points,
    flat beyond the first and the last point.

    Why log(work): the calibration sweeps kernel sizes over decades, and utilisation grows
    with the number of tiles in flight, roughly linearly in log size between measured points.
    Edge cases, kept exactly as the predictor has always read the curve (they drive its
    outputs): work and the points' work are clamped to at least 1 before the log; points are
    sorted by (work, fraction); at a measured point the value comes from the segment that
    ends there; of points with the same work, the segment to their right starts at the
    larger fraction.
    An empty curve is a caller's error (``ValueError``): "no curve" means "use the model",
    and that choice belongs to the caller.
    """
    if not curve:
        raise ValueError("interpolate_curve: the utilisation curve has no points")
    pts = sorted((max(1.0, float(a)), float(b)) for a, b in curve)
    xs = [math.log(a) for a, _ in pts]
    lx = math.log(max(1.0, float(work)))
    i = bisect.bisect_left(xs, lx)
    if i <= 0:
        return pts[0][1]
    if i >= len(pts):
        return pts[-1][1]
    (x0, y0), (x1, y1) = (xs[i - 1], pts[i - 1][1]), (xs[i], pts[i][1])
    t = (lx - x0) / (x1 - x0) if x1 > x0 else 1.0
    return y0 + t * (y1 - y0)
