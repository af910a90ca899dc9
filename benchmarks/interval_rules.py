"""How wide must prediction intervals be? Other interval rules on the same held-out residuals.

    python benchmarks/interval_rules.py      # ~4 min: the residuals of benchmarks/accuracy.py

docs/accuracy.md reports the configured rule (configs/intervals.yaml, benchmarks.accuracy:
p10-p90 of each class's leave-one-source-out ratios, widened by (p90 - p10) / (2 sqrt(sources))
on each side, the most specific class with >= 3 rows from >= 2 sources). This script scores,
on the same residuals and the same nesting (a row's interval never uses its own source), rules
one might try instead, and the narrowest any pooled interval could be:

- ``no widening``: the class's p10-p90 alone;
- ``shrunk, k``: each class's widened bounds pulled towards its parent's (all -> device class ->
  framework -> precision family), weight sources / (sources + k), as benchmarks/fit.py shrinks
  corrections;
- ``oracle window``: the narrowest ratio window holding 80% (70%) of ALL held-out residuals,
  chosen after seeing them: no rule that places one window per class without looking at the
  held-out rows can be narrower on the pooled rows unless its classes separate the biases.

It is a diagnostic, not a report: nothing it prints is used by the predictor.
"""

from __future__ import annotations

import collections
import itertools
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import (  # noqa: E402
    MIN_CLASS_ROWS,
    MIN_CLASS_SOURCES,
    Residual,
    cross_validate,
    nested_constants,
)
from benchmarks.fit import predict_rows  # noqa: E402

Key = tuple[str, str, str]
Bounds = tuple[float, float]  # log ratio


def _keys(r: Residual) -> list[Key]:
    return list(itertools.product((r.device_class, "*"), (r.framework, "*"), (r.family, "*")))


def _parent(key: Key) -> Key | None:
    dc, fw, fam = key
    if fam != "*":
        return (dc, fw, "*")
    if fw != "*":
        return (dc, "*", "*")
    return ("*", "*", "*") if dc != "*" else None


def _p10_p90(logs: Sequence[float]) -> Bounds:
    if len(logs) == 1:
        return logs[0], logs[0]
    cuts = statistics.quantiles(sorted(logs), n=10, method="inclusive")
    return cuts[0], cuts[-1]


def _rule(widen: bool, shrink: float | None) -> Callable[[Sequence[Residual]], Callable[[Residual], Bounds]]:
    """A rule: from training residuals to a function giving a held-out row its log bounds."""

    def build(train: Sequence[Residual]) -> Callable[[Residual], Bounds]:
        groups: dict[Key, list[Residual]] = collections.defaultdict(list)
        for r in train:
            for key in _keys(r):
                groups[key].append(r)
        own: dict[Key, tuple[float, float, int, int]] = {}
        for key, g in groups.items():
            sources = len({r.cluster for r in g})
            lo, hi = _p10_p90([math.log(r.ratio) for r in g])
            pad = (hi - lo) / (2 * math.sqrt(sources)) if widen else 0.0
            own[key] = (lo - pad, hi + pad, sources, len(g))
        memo: dict[Key, Bounds] = {}

        def bounds(key: Key) -> Bounds:
            if key not in memo:
                lo, hi, sources, _ = own[key]
                parent = _parent(key)
                if shrink is not None and parent is not None:
                    plo, phi = bounds(parent)
                    w = sources / (sources + shrink)
                    lo, hi = w * lo + (1 - w) * plo, w * hi + (1 - w) * phi
                memo[key] = (lo, hi)
            return memo[key]

        usable = {k for k, (_, _, s, n) in own.items() if n >= MIN_CLASS_ROWS and s >= MIN_CLASS_SOURCES}

        def lookup(r: Residual) -> Bounds:
            for dc in (r.device_class, "*"):
                for fw, fam in ((r.framework, r.family), ("*", r.family), (r.framework, "*"), ("*", "*")):
                    if (dc, fw, fam) in usable:
                        return bounds((dc, fw, fam))
            return math.log(0.5), math.log(2.0)  # the configured default

        return lookup

    return build


def score(residuals: Sequence[Residual], build) -> tuple[float, float]:
    """(median width high/low, coverage) with every source held out in turn."""
    widths, inside = [], 0
    for src in sorted({r.cluster for r in residuals}):
        lookup = build([r for r in residuals if r.cluster != src])
        for r in residuals:
            if r.cluster == src:
                lo, hi = lookup(r)
                widths.append(math.exp(hi - lo))
                inside += lo <= math.log(r.ratio) <= hi
    return statistics.median(widths), inside / len(residuals)


def oracle_window(residuals: Sequence[Residual], share: float) -> float:
    logs = sorted(math.log(r.ratio) for r in residuals)
    m = max(1, int(share * len(logs)))
    return math.exp(min(logs[i + m - 1] - logs[i] for i in range(len(logs) - m + 1)))


def main() -> int:
    preds, _ = predict_rows()
    nested = nested_constants(preds)
    _, residuals = cross_validate(preds, nested.preds_by_source)
    rules = [("configured (widened p10-p90)", _rule(True, None)), ("no widening", _rule(False, None))]
    rules += [(f"shrunk, k = {k:g}", _rule(True, k)) for k in (0.5, 1, 2, 4, 8)]
    print(f"{len(residuals)} held-out residuals from {len({r.cluster for r in residuals})} sources\n")
    print(f"| {'rule':30s} | median width | coverage |")
    print(f"|{'-' * 32}|-------------:|---------:|")
    for name, build in rules:
        width, coverage = score(residuals, build)
        print(f"| {name:30s} | {width:11.2f}x | {coverage:7.0%} |")
    for share in (0.8, 0.7):
        print(f"| {f'oracle window, {share:.0%} of rows':30s} | {oracle_window(residuals, share):11.2f}x | {share:7.0%} |")
    by_source = collections.defaultdict(list)
    for r in residuals:
        by_source[r.cluster].append(math.log(r.ratio))
    print("\nmedian measured / predicted per source (the spread the intervals must cover):")
    for src, logs in sorted(by_source.items(), key=lambda kv: statistics.median(kv[1])):
        print(f"  {src:32s} {math.exp(statistics.median(logs)):6.2f}  ({len(logs)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
