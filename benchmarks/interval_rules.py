"""How wide must prediction intervals be? Other interval rules on the same held-out residuals.

    python benchmarks/interval_rules.py      # ~4 min: the residuals of benchmarks/accuracy.py

docs/accuracy.md reports the configured rule (configs/intervals.yaml, benchmarks.accuracy:
p10-p90 of each class's leave-one-source-out ratios, each side widened by
w x (p90 - p10) / (2 sqrt(sources)), the most specific class with >= 3 rows from >= m sources,
(m, w) the rule of benchmarks.accuracy.INTERVAL_RULES with the best held-out interval score,
chosen on the sources other than the one scored). This script scores, on the same residuals and
the same nesting (a row's interval never uses its own source), every rule of that grid held
fixed, rules one might try instead, and the narrowest any pooled interval could be:

- ``plain argmin``: the rule with the best held-out score without the one-standard-error step
  (its choice flips between near-equal rules from one held-out source to the next);
- ``fixed m, w``: one rule of the grid for every held-out source (``>= 2 sources, widen 1`` was
  the rule reasoned before any coverage was seen; ``widen 0`` is the class's p10-p90 alone);
- ``shrunk, k``: each class's bounds (configured rule) pulled towards its parent's (all ->
  device class -> framework -> precision family), weight sources / (sources + k), as
  benchmarks/fit.py shrinks corrections;
- ``oracle window``: the narrowest ratio window holding 80% (70%) of ALL held-out residuals,
  chosen after seeing them: no rule that places one window per class without looking at the
  held-out rows can be narrower on the pooled rows unless its classes separate the biases;
- ``oracle window per class``: the same within each device class x framework x precision family,
  each row taking its own class's window (median over rows): a lower bound for any rule that places
  one window per class, since these windows are chosen on the rows they are scored on;
- ``oracle window, each source's bias known``: the same over the residuals divided by the median
  of their source x framework: what is left if a fit on the device removed each source's bias
  (the floor of any interval that does not know a new source's bias).

It is a diagnostic, not a report: nothing it prints is used by the predictor.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import (  # noqa: E402
    INTERVAL_RULES,
    ClassBuilder,
    IntervalRule,
    Residual,
    classes_by,
    classes_by_chosen_rule,
    cross_validate,
    held_out_bands,
    held_out_scores,
    interval_classes,
    interval_score,
    narrowest_window,
    nested_constants,
)
from benchmarks.fit import predict_rows  # noqa: E402

Classes = list[dict[str, Any]]
#: the levels of a class key; a class's parent sets the last one that is not "*" to "*"
LEVELS = ("device_class", "framework", "precision_family")


def _parent(cls: dict[str, Any]) -> tuple[str, str, str] | None:
    """all -> device class -> framework -> precision family: drop the most specific level set."""
    key = [cls[level] for level in LEVELS]
    for i in reversed(range(3)):
        if key[i] != "*":
            key[i] = "*"
            return tuple(key)
    return None


def shrunk(classes: Classes, k: float) -> Classes:
    """Each class's log bounds pulled towards its parent's (already shrunk), weight
    sources / (sources + k). A written class's parent holds a superset of its rows, so it is
    written too."""
    index = {tuple(c[level] for level in LEVELS): c for c in classes}
    done: dict[tuple[str, str, str], dict[str, Any]] = {}

    def bounds(key: tuple[str, str, str]) -> dict[str, Any]:
        if key not in done:
            c = dict(index[key])
            parent = _parent(c)
            if parent is not None:
                p, w = bounds(parent), c["sources"] / (c["sources"] + k)
                for side in ("low_ratio", "high_ratio"):
                    c[side] = math.exp(w * math.log(c[side]) + (1 - w) * math.log(p[side]))
            done[key] = c
        return done[key]

    return [bounds(key) for key in index]


#: the classes docs/accuracy.md scores with: the rule chosen on the training sources alone
configured = classes_by_chosen_rule()


def plain_argmin(train: Sequence[Residual]) -> Classes:
    """The rule with the lowest mean held-out interval score on ``train``, without the
    one-standard-error step towards the reasoned rule."""
    scores = held_out_scores(train)

    def mean_score(rule: IntervalRule) -> float:
        return statistics.fmean(x for by_cluster in scores[rule].values() for x in by_cluster)
    return interval_classes(train, rule=min(INTERVAL_RULES, key=mean_score))


RULES: list[tuple[str, ClassBuilder]] = [
    ("configured (chosen, nested)", configured),
    ("plain argmin (chosen, nested)", plain_argmin),
    *((f"fixed {rule}", classes_by(rule)) for rule in INTERVAL_RULES),
    *((f"shrunk, k = {k:g}", lambda train, k=k: shrunk(configured(train), k)) for k in (0.5, 1, 2, 4, 8)),
]


def score(residuals: Sequence[Residual], build: ClassBuilder) -> tuple[float, float, float]:
    """(median width high/low, coverage, mean interval score) with every source held out in
    turn (benchmarks.accuracy.held_out_bands, the report's nesting and lookup)."""
    bands = held_out_bands(residuals, build)
    widths = [band["high_ratio"] / band["low_ratio"] for _, band in bands]
    inside = sum(band["low_ratio"] <= r.ratio <= band["high_ratio"] for r, band in bands)
    return statistics.median(widths), inside / len(bands), statistics.fmean(interval_score(band, r.ratio) for r, band in bands)


def oracle_window(residuals: Sequence[Residual], share: float) -> float:
    return narrowest_window([r.ratio for r in residuals], max(1, int(share * len(residuals))))


def oracle_per_class(residuals: Sequence[Residual], share: float) -> float:
    """Median over rows of the narrowest window holding ``share`` of the rows of the row's own
    class (device class x framework x precision family), chosen after seeing them: a lower bound
    on what any rule with one window per class could reach (classes of 1-2 rows count as narrow)."""
    groups: dict[tuple[str, str, str], list[Residual]] = collections.defaultdict(list)
    for r in residuals:
        groups[(r.device_class, r.framework, r.family)].append(r)
    widths = [oracle_window(group, share) for group in groups.values() for _ in group]
    return statistics.median(widths)


def bias_removed(residuals: Sequence[Residual]) -> list[Residual]:
    """Each residual divided by the median ratio of its source x framework."""
    groups: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for r in residuals:
        groups[(r.cluster, r.framework)].append(r.ratio)
    centre = {key: statistics.median(ratios) for key, ratios in groups.items()}
    return [dataclasses.replace(r, ratio=r.ratio / centre[(r.cluster, r.framework)]) for r in residuals]


def main() -> int:
    preds, _ = predict_rows()
    nested = nested_constants(preds)
    _, residuals = cross_validate(preds, nested.preds_by_source)
    print(f"{len(residuals)} held-out residuals from {len({r.cluster for r in residuals})} sources\n")
    print(f"| {'rule':30s} | median width | coverage | interval score |")
    print(f"|{'-' * 32}|-------------:|---------:|---------------:|")
    for name, rule in RULES:
        width, coverage, mean_score = score(residuals, rule)
        print(f"| {name:30s} | {width:11.2f}x | {coverage:7.0%} | {mean_score:14.2f} |")
    known = bias_removed(residuals)
    for share in (0.8, 0.7):
        print(f"| {f'oracle window, {share:.0%} of rows':30s} | {oracle_window(residuals, share):11.2f}x | {share:7.0%} | {'':14s} |")
    for share in (0.8, 0.7):
        print(f"| {f'oracle window per class, {share:.0%}':30s} | {oracle_per_class(residuals, share):11.2f}x | {share:7.0%} | {'':14s} |")
    for share in (0.8, 0.7):
        print(f"| {f'oracle, bias known, {share:.0%}':30s} | {oracle_window(known, share):11.2f}x | {share:7.0%} | {'':14s} |")
    by_source = collections.defaultdict(list)
    for r in residuals:
        by_source[r.cluster].append(math.log(r.ratio))
    print("\nmedian measured / predicted per source (the spread the intervals must cover):")
    for src, logs in sorted(by_source.items(), key=lambda kv: statistics.median(kv[1])):
        print(f"  {src:32s} {math.exp(statistics.median(logs)):6.2f}  ({len(logs)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
