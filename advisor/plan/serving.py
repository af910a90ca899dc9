"""Continuous batching at steady state: throughput, TTFT and TPOT at a concurrency, and the
best concurrency under service-level objectives.

The model (closed loop: ``N`` requests always running, each with ``I`` prompt and ``O``
output tokens; a finished request is replaced at once):

* a decode step advances every running sequence by one token and takes ``t_d(N)``; with
  ``p`` pipeline stages and ``m`` micro-batches in flight it takes max(m, p) stage times
  at N/m sequences (m < p leaves stages idle: the pipeline bubble);
* each request's prefill occupies the device group for ``t_p`` (max(m, p)/m stage times);
* output tokens/s:  X = N O / (O t_d + N t_p)   (prefill and decode share the devices);
* the fraction of time spent in prefill  rho = X t_p / O;
* TPOT (mean inter-token time) = t_d / (1 - rho): decode steps wait for interleaved
  prefills (or, with chunked prefill, carry them);
* TTFT = prompt pass through the stages + queueing behind other prefills
  (M/D/1: rho / (2 (1 - rho)) t_p) + half a decode step (a request waits for the running
  step) + with chunked prefill one decode step per chunk (each chunk rides a step).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from advisor.display import sig3
from advisor.plan.steps import StepTime


@dataclass(frozen=True)
class Slo:
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    min_output_tokens_per_s: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.min_output_tokens_per_s))

    def latency_misses(self, point: LoadPoint) -> list[str]:
        """What the latency objectives say about ``point`` (empty when both hold)."""
        misses = []
        if self.ttft_ms is not None and point.ttft_ms > self.ttft_ms:
            misses.append(f"TTFT {sig3(point.ttft_ms)} ms > {self.ttft_ms:g} ms (+{_excess(point.ttft_ms, self.ttft_ms)})")
        if self.tpot_ms is not None and point.tpot_ms > self.tpot_ms:
            misses.append(f"TPOT {sig3(point.tpot_ms)} ms > {self.tpot_ms:g} ms (+{_excess(point.tpot_ms, self.tpot_ms)})")
        return misses


def _excess(value: float, limit: float) -> str:
    return f"{(value / limit - 1) * 100:.0f}%"


@dataclass(frozen=True)
class LoadPoint:
    """The steady state at one concurrency."""

    concurrency: int
    output_tokens_per_s: float
    ttft_ms: float
    tpot_ms: float
    decode_step_ms: float
    prefill_ms: float


@dataclass(frozen=True)
class Pipeline:
    stages: int = 1
    microbatches: int = 1

    @property
    def rounds(self) -> int:
        """Stage times per decode step: max(m, p)."""
        return max(self.stages, self.microbatches)


def steady_state(
    concurrency: int,
    output_len: int,
    prompt_len: int,
    decode_stage: Callable[[int], StepTime],
    prefill_stage: StepTime,
    pipeline: Pipeline = Pipeline(),
    chunk_tokens: int | None = None,
) -> LoadPoint:
    """``decode_stage(b)``: one stage's decode step at ``b`` sequences; ``chunk_tokens``: the
    per-step token budget of a chunked-prefill scheduler (None: prefill runs as its own step)."""
    n, o = concurrency, output_len
    m = min(pipeline.microbatches, n)
    p = pipeline.stages
    decode = decode_stage(math.ceil(n / m))
    t_d = max(m, p) * decode.total_s
    t_p = max(m, p) / m * prefill_stage.total_s
    t_pass = p * prefill_stage.total_s
    x = n * o / (o * t_d + n * t_p)
    rho = x * t_p / o
    tpot = t_d / (1 - rho)
    wait = rho / (2 * (1 - rho)) * t_p + t_d / 2
    ttft = t_pass + wait
    if chunk_tokens is not None:
        ttft += math.ceil(prompt_len / max(1, chunk_tokens - n)) * t_d
    return LoadPoint(concurrency=n, output_tokens_per_s=x, ttft_ms=ttft * 1e3, tpot_ms=tpot * 1e3,
                     decode_step_ms=t_d * 1e3, prefill_ms=t_pass * 1e3)


@dataclass(frozen=True)
class Operating:
    """The chosen load point, or why none meets the objectives."""

    point: LoadPoint | None
    misses: list[str]


def best_concurrency(max_concurrency: int, evaluate: Callable[[int], LoadPoint], slo: Slo) -> Operating:
    """The highest-throughput concurrency up to ``max_concurrency`` whose TTFT and TPOT meet
    the objectives (throughput, TTFT and TPOT all grow with concurrency, so this is the
    largest concurrency that meets them: a binary search), then the throughput floor."""
    if max_concurrency < 1:
        return Operating(None, ["does not fit"])
    top = evaluate(max_concurrency)
    if slo.latency_misses(top):
        first = evaluate(1)
        misses = slo.latency_misses(first)
        if misses:
            return Operating(None, [m + " at concurrency 1" for m in misses])
        low, high = 1, max_concurrency  # low meets, high misses
        while high - low > 1:
            mid = (low + high) // 2
            if slo.latency_misses(evaluate(mid)):
                high = mid
            else:
                low = mid
        top = evaluate(low)
    if slo.min_output_tokens_per_s is not None and top.output_tokens_per_s < slo.min_output_tokens_per_s:
        return Operating(None, [
            f"{sig3(top.output_tokens_per_s)} output tokens/s < {slo.min_output_tokens_per_s:g} "
            f"(-{(1 - top.output_tokens_per_s / slo.min_output_tokens_per_s) * 100:.0f}%) at concurrency {top.concurrency}"
        ])
    return Operating(top, [])
