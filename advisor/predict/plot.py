"""Roofline chart of one prediction (matplotlib, Agg backend; PNG or SVG by file suffix).

The device's achievable compute roofs at the scheme's precisions (matrix engine and vector
units) and its bandwidth slope, with every kernel as one point at its arithmetic intensity
and achieved throughput, its area proportional to its share of the latency. Kernels that do
no arithmetic (copies, concatenations) sit on the chart's left/bottom edge. In SVG
output the points are the children of the group with id ``layers``, one per kernel.
"""

from __future__ import annotations

from pathlib import Path

from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.errors import InputError
from advisor.predict.engine import kernel_precisions
from advisor.predict.peaks import achievable
from advisor.predict.types import Prediction

SUFFIXES = (".png", ".svg")


def plot_roofline(
    prediction: Prediction,
    platform: PlatformSpec,
    framework: FrameworkSpec,
    path: Path,
    calibration: CalibrationSpec | None = None,
) -> Path:
    """Write the chart to ``path`` and return it."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"--plot {path}: use a .png or .svg file name")
    if not path.parent.exists():
        raise InputError(f"--plot {path}: folder {path.parent} does not exist")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peaks = achievable(platform, framework, calibration)
    matmul_prec, vector_prec = kernel_precisions(prediction.precision)
    roofs = []
    m_tflops, m_used = peaks.peak(matmul_prec, matrix=True)
    roofs.append((f"matrix {m_used}", m_tflops))
    v_tflops, v_used = peaks.peak(vector_prec, matrix=False)
    if abs(v_tflops - m_tflops) > 1e-12:
        roofs.append((f"vector {v_used}", v_tflops))
    bw_tbs = peaks.bandwidth_gbs / 1e3  # TB/s: TFLOPS = TB/s x FLOP/byte

    layers = prediction.layers
    xs = [k.intensity for k in layers]
    ys = [k.achieved_tflops for k in layers]
    positive_x = [x for x in xs if x > 0] or [1.0]
    positive_y = [y for y in ys if y > 0] or [max(r for _, r in roofs) * 1e-3]
    x_lo = min(min(positive_x) / 3, 0.1)
    x_hi = max(max(positive_x) * 3, max(r for _, r in roofs) / bw_tbs * 10)
    y_lo = min(positive_y) / 3
    y_hi = max(r for _, r in roofs) * 3
    total = sum(k.time_ms for k in layers) or 1.0

    fig, ax = plt.subplots(figsize=(9, 6))
    ax.set_xscale("log")
    ax.set_yscale("log")
    for label, tflops in roofs:
        ridge = tflops / bw_tbs
        ax.plot([ridge, x_hi], [tflops, tflops], lw=2, label=f"{label}: {tflops:.3g} TFLOPS")
    top = max(r for _, r in roofs)
    ax.plot([x_lo, top / bw_tbs], [bw_tbs * x_lo, top], lw=2, color="black",
            label=f"bandwidth: {peaks.bandwidth_gbs:.4g} GB/s")

    px = [x if x > 0 else x_lo for x in xs]
    py = [y if y > 0 else y_lo for y in ys]
    sizes = [8 + 600 * k.time_ms / total for k in layers]
    colours = [{"compute": "tab:red", "memory": "tab:blue", "overhead": "tab:gray"}[k.bound] for k in layers]
    points = ax.scatter(px, py, s=sizes, c=colours, alpha=0.6, edgecolors="black", linewidths=0.3)
    points.set_gid("layers")
    ax.set_xlim(x_lo / 1.5, x_hi)
    ax.set_ylim(y_lo / 1.5, y_hi)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("achieved TFLOPS")
    ax.set_title(
        f"{prediction.model} on {prediction.target}, {prediction.framework} {prediction.precision}, "
        f"batch {prediction.batch}: {prediction.latency_ms:.3g} ms ({len(layers)} kernels; "
        "red compute-, blue memory-, grey overhead-bound)",
        fontsize=9,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
