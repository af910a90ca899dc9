"""Timing a callable until its median is known well enough.

One helper for every measurement (micro-benchmarks and whole models) so that all of
advisor's numbers share the same warm-up rule, stopping rule and statistics:

- warm-up: at least ``min_warmup`` calls and ``warmup_s`` seconds, and then on until the
  latest call is within 15% of the fastest seen (first calls of oneDNN, ONNX Runtime and
  CUDA pay for JIT, allocation and autotuning; we never report those);
- measurement: repeat until the 95% confidence interval of the median (order-statistic
  interval) is within ``rel_ci`` of the median, or until ``budget_s`` is spent or
  ``max_runs`` reached (then ``stable`` is False and says so).
No torch import: the caller passes ``sync`` (e.g. torch.cuda.synchronize) when it must.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TimingStats:
    """Wall-clock statistics of one callable, in milliseconds."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    q1_ms: float
    q3_ms: float
    min_ms: float
    mean_ms: float
    runs: int
    warmup_runs: int
    ci_rel: float  # half-width of the median's 95% CI relative to the median
    stable: bool

    @property
    def iqr_ms(self) -> float:
        return self.q3_ms - self.q1_ms

    def to_dict(self) -> dict[str, float | int | bool]:
        out = asdict(self)
        out["iqr_ms"] = self.iqr_ms
        return out


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated quantile of an already sorted list (numpy's default method)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def median_ci_rel(sorted_values: list[float]) -> float:
    """Half-width of the distribution-free 95% CI of the median, relative to the median.

    The ranks n/2 -/+ 1.96 sqrt(n)/2 bound the median with ~95% confidence for any
    continuous distribution (normal approximation to the binomial)."""
    n = len(sorted_values)
    if n < 3:
        return math.inf
    half = 1.96 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half))
    hi = min(n - 1, math.ceil(n / 2 + half) - 1)
    med = statistics.median(sorted_values)
    return (sorted_values[hi] - sorted_values[lo]) / 2 / med if med > 0 else math.inf


def summarize(samples_ms: list[float], warmup_runs: int, rel_ci: float) -> TimingStats:
    """Statistics of measured samples (milliseconds)."""
    s = sorted(samples_ms)
    ci = median_ci_rel(s)
    return TimingStats(
        median_ms=statistics.median(s),
        p10_ms=quantile(s, 0.10),
        p90_ms=quantile(s, 0.90),
        q1_ms=quantile(s, 0.25),
        q3_ms=quantile(s, 0.75),
        min_ms=s[0],
        mean_ms=statistics.fmean(s),
        runs=len(s),
        warmup_runs=warmup_runs,
        ci_rel=ci,
        stable=ci <= rel_ci,
    )


def time_callable(
    fn: Callable[[], object],
    *,
    sync: Callable[[], None] | None = None,
    min_runs: int = 10,
    max_runs: int = 1000,
    budget_s: float = 10.0,
    rel_ci: float = 0.02,
    min_warmup: int = 3,
    warmup_s: float = 0.5,
    max_warmup_s: float | None = None,
    inner: int = 1,
) -> TimingStats:
    """Time ``fn`` (called ``inner`` times per sample; the sample is the time per call).

    ``budget_s`` bounds the measurement phase, ``max_warmup_s`` (default: budget_s) the
    warm-up. At least ``min(min_runs, 3)`` samples are always taken.
    """
    sync = sync or (lambda: None)
    max_warmup_s = budget_s if max_warmup_s is None else max_warmup_s

    def one() -> float:
        sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        return (time.perf_counter() - t0) * 1e3 / inner

    # Warm-up: fixed minimum, then until the latest call is close to the best one.
    start = time.perf_counter()
    warm: list[float] = []
    while True:
        warm.append(one())
        elapsed = time.perf_counter() - start
        if len(warm) < min_warmup or elapsed < warmup_s:
            if elapsed < max_warmup_s:
                continue
        if warm[-1] <= 1.15 * min(warm) or elapsed >= max_warmup_s:
            break

    samples: list[float] = []
    start = time.perf_counter()
    floor_runs = min(min_runs, 3)
    while True:
        samples.append(one())
        n = len(samples)
        elapsed = time.perf_counter() - start
        if n >= max_runs:
            break
        if n >= floor_runs and elapsed >= budget_s:
            break
        if n >= min_runs and median_ci_rel(sorted(samples)) <= rel_ci:
            break
    return summarize(samples, len(warm), rel_ci)


class ContentionMeter:
    """How much of the machine other processes used while we measured.

    On a shared machine a benchmark's threads lose their cores to other processes and the
    timings stretch (with OpenMP, one descheduled thread stalls the others at every
    barrier). This reads system-wide busy CPU time and this process's own CPU time
    (psutil) before and after, and reports the others' share of all CPUs over the wall
    time: 0.0 means the machine was ours, 0.5 means half of it was busy elsewhere.
    """

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process()
        self._ncpu = psutil.cpu_count() or 1

    def _busy_s(self) -> float:
        t = self._psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def _own_s(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system

    def __enter__(self) -> "ContentionMeter":
        self._wall0 = time.perf_counter()
        self._busy0 = self._busy_s()
        self._own0 = self._own_s()
        self.others = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall0
        others = (self._busy_s() - self._busy0) - (self._own_s() - self._own0)
        self.others = max(0.0, min(1.0, others / (wall * self._ncpu))) if wall > 0 else 0.0
