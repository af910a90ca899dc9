"""Is a calibration quiet enough to store? Its own noise, judged from what it measured.

Why: `advisor calibrate` run while another process used one of a 2-core machine's cores
stored figures that made every later prediction about 2x too slow (median error 105%
against 6% from a quiet run, issue 14), and said nothing. A calibration now measures two
things about itself and refuses to store figures when either is too high (``--force``
stores them anyway, and the record's method says how noisy they were):

- the spread of each headline figure across the rounds it was measured in
  ((max - min) / median): a machine whose speed changed between rounds gives figures that
  describe neither state;
- the share of all CPUs that other processes used while it ran (ContentionMeter in
  advisor.measure.timing): a steady competing load slows every round alike, so the spread
  alone cannot see it.

The limits: 10% contention is where `advisor calibrate` already warned (one busy core of
a 2-core machine is 50%); a 15% spread is 2.5x the 6% median prediction error of a quiet
calibration (the error a noisy figure would add to is smaller than the noise itself).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Largest share of all CPUs other processes may use during a calibration that is stored.
MAX_CONTENTION = 0.10
#: Largest (max - min) / median of any headline figure across the rounds.
MAX_SPREAD = 0.15


@dataclass(frozen=True)
class NoiseVerdict:
    """What a calibration found about its own noise, and whether to store it."""

    contention: float
    spreads: dict[str, float] = field(default_factory=dict)  # figure -> (max - min) / median
    reasons: list[str] = field(default_factory=list)  # empty: quiet enough

    @property
    def quiet(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        """One line for the method string and the refusal: the worst spread and the load."""
        worst = max(self.spreads.items(), key=lambda kv: kv[1]) if self.spreads else None
        spread = f"largest spread across rounds {worst[1]:.0%} ({worst[0]})" if worst else "one round (spread not measured)"
        return f"{spread}, other processes used {self.contention:.0%} of the CPUs"


def round_figures(measurements: Any) -> dict[str, float]:  # noqa: ANN401 - calibrate.Measurements
    """The headline figures of one calibration round (calibrate.Measurements), by name:
    the ones every record is built from."""
    figures: dict[str, float] = {}
    for precision, peak in measurements.matmul.items():
        figures[f"matmul {precision} TFLOPS"] = peak.tflops
    if measurements.bandwidth is not None:
        figures["copy bandwidth GB/s"] = measurements.bandwidth.copy_gbs
        figures["read bandwidth GB/s"] = measurements.bandwidth.read_gbs
    if measurements.overheads is not None:
        figures["eager per-op us"] = measurements.overheads.module_op_us
    if measurements.elementwise_tflops:
        figures["elementwise TFLOPS"] = measurements.elementwise_tflops
    ort = getattr(measurements, "ort", None)
    if ort is not None:
        for name, value in (("onnxruntime fp32 GEMM TFLOPS", ort.fp32_gemm_tflops),
                            ("onnxruntime int8 GEMM TOPS", ort.int8_gemm_tops),
                            ("onnxruntime per-node us", ort.node_us)):
            if value:
                figures[name] = value
    return figures


def spread(values: Sequence[float]) -> float:
    """(max - min) / median of positive values; 0 for fewer than two."""
    if len(values) < 2:
        return 0.0
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle > 0 else float("inf")


def judge_noise(
    rounds: Sequence[Mapping[str, float]],
    contention: float,
    *,
    max_spread: float = MAX_SPREAD,
    max_contention: float = MAX_CONTENTION,
) -> NoiseVerdict:
    """The verdict on a calibration from its rounds' figures and the competing load."""
    spreads: dict[str, float] = {}
    if len(rounds) >= 2:
        for name in rounds[0]:
            values = [r[name] for r in rounds if name in r]
            spreads[name] = spread(values)
    reasons: list[str] = []
    if contention > max_contention:
        reasons.append(f"other processes used {contention:.0%} of the CPUs while it measured "
                       f"(limit {max_contention:.0%})")
    noisy = sorted(((s, n) for n, s in spreads.items() if s > max_spread), reverse=True)
    if noisy:
        s, name = noisy[0]
        more = f" and {len(noisy) - 1} more figure{'s' if len(noisy) > 2 else ''}" if len(noisy) > 1 else ""
        reasons.append(f"{name} varied by {s:.0%} between rounds{more} (limit {max_spread:.0%})")
    return NoiseVerdict(contention=contention, spreads=spreads, reasons=reasons)
