"""How much of the scatter within one campaign could a per-kernel cost explain? A diagnostic.

    python benchmarks/kernel_cost_residuals.py      # seconds once benchmarks/fit.py cached the profiles

Within one source, framework and precision (one campaign's board, build and settings) the
roofline model's error still follows the model: on the Jetson AGX Xavier with TensorRT fp16 the
VGGs run faster than predicted and the DenseNets slower (docs/accuracy.md, "Rows"). No
per-device figure removes that, and it keeps the prediction intervals wide (docs/predictor.md,
section 12). This script asks whether a cost per kernel the predictor does not charge would.

For every group of published rows (source x framework x precision) with at least 8 rows of 5
models, from the uncorrected predictions of benchmarks.fit.predict_rows and each row's kernel
count (the predictor's kernels after fusion), it fits IN SAMPLE:
- one multiplier (the median log ratio): measured = m x predicted;
- a multiplier and a cost per kernel, least squares on the relative error:
  measured = a x predicted + c x kernels;
and prints each one's median and p90 |log(measured / fitted)|, the fitted c, and the
correlation of log(measured / predicted) with log(FLOPs per kernel).

It is a diagnostic, not a report: the fits see the rows they score, and nothing it prints is
used by the predictor. A per-kernel cost that a predictor could use would have to come out alike
across groups (it does not: see docs/predictor.md, section 12) and be judged on the fit rows.
"""

from __future__ import annotations

import collections
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fit import RowPrediction, model_name, predict_rows  # noqa: E402

#: smallest group worth a two-parameter fit: rows, and distinct models among them
MIN_ROWS, MIN_MODELS = 8, 5


@dataclass(frozen=True)
class Row:
    model: str
    predicted_ms: float
    measured_ms: float
    kernels: int
    flops: float


def group_rows() -> dict[tuple[str, str, str], list[Row]]:
    """Published whole-call latency rows by (source, framework, precision), each with its
    uncorrected prediction and kernel count (benchmarks.fit.predict_rows); groups too small to
    fit are left out."""
    preds, _ = predict_rows()
    raw: dict[tuple[str, str, str], list[RowPrediction]] = collections.defaultdict(list)
    for p in preds:
        if p.row["metric"] != "kernel_ms":
            raw[(p.source, p.row["framework"], p.row["precision"])].append(p)
    return {key: [Row(model_name(p.row), p.predicted_ms, p.measured_ms, p.kernels, p.flops) for p in rows]
            for key, rows in sorted(raw.items())
            if len(rows) >= MIN_ROWS and len({model_name(p.row) for p in rows}) >= MIN_MODELS}


def describe(rows: list[Row]) -> str:
    """One group's line: both fits' median / p90 |log error|, the cost per kernel, and the
    correlation of the log ratio with log FLOPs per kernel."""
    y = np.array([r.measured_ms for r in rows])
    p = np.array([r.predicted_ms for r in rows])
    n = np.array([float(r.kernels) for r in rows])
    log_ratio = np.log(y / p)
    m = math.exp(statistics.median(log_ratio))
    one = np.abs(np.log(y / (m * p)))
    design = np.stack([p / y, n / y], axis=1)  # relative error: (a p + c n) / y - 1
    (a, c), *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
    two = np.abs(np.log(y / np.maximum(a * p + c * n, 1e-9)))
    per_kernel = np.log(np.array([r.flops for r in rows]) / n)
    corr = float(np.corrcoef(log_ratio, per_kernel)[0, 1])
    return (f"| {m:.2f} | {np.median(one):.3f} | {np.quantile(one, 0.9):.3f} | {a:.2f} | {c * 1e3:+.0f} "
            f"| {np.median(two):.3f} | {np.quantile(two, 0.9):.3f} | {corr:+.2f} |")


def main() -> int:
    groups = group_rows()
    print("In sample, per group of published rows (source / framework / precision), uncorrected predictions.")
    print("one multiplier m | multiplier a + cost per kernel c (us) | corr: log(measured/predicted) vs "
          "log(FLOPs per kernel)\n")
    print("| group | rows | m | median | p90 | a | c us | median | p90 | corr |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (source, framework, precision), rows in groups.items():
        print(f"| {source} / {framework} / {precision} | {len(rows)} " + describe(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
