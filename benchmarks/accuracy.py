"""Score the predictor on published measurements by leave-one-source-out cross-validation.

    python benchmarks/accuracy.py      # writes docs/accuracy.md and configs/intervals.yaml

Rows: benchmarks/data/published.yaml (every row cites its source; `source_id` names the
publication). Each row is predicted by the roofline model (hardware_db seed, no calibration)
times the corrections of benchmarks/fit.py fitted on the OTHER sources only, the prior
strength chosen on those other sources too: a row is never predicted by figures fitted on its
own source. The global constants of configs/predictor.yaml marked "fit" (benchmarks.fit.SEARCHED_CONSTANTS)
are chosen per held-out source on the other sources too, and the held-out rows predicted with that
choice; the error with the configured constants is reported beside it. Every row is scored; rows
with a known mismatch keep their note.

Also reported:
- prediction intervals: the p10-p90 ratio measured / predicted of each class (device class x
  framework x precision family, backing off to wider classes with fewer than 3 rows) from
  leave-one-source-out residuals, by the interval rule (fewest sources, widening) with the best
  held-out interval score. Coverage is the share of rows inside the interval computed WITHOUT
  their own source, by the rule chosen without it (nested: the residuals themselves come from
  fits without it too); configs/intervals.yaml (read by advisor.predict.intervals) is computed
  from all sources.
- speed-up ratios: for every two rows of one source that differ only in precision, the
  predicted vs measured speed-up of the narrower precision over the wider one.
- the CPU validation (benchmarks/data/validation-cpu.json) with `advisor fit` corrections fitted
  leave-one-model-out, and its int8/fp32 speed-ups; the published rows of every source that
  measured two or more models on a platform, after `advisor fit` on that platform scored the same
  way: together the "calibrated" interval classes.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import math
import statistics
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.display import sig3  # noqa: E402
from advisor.errors import InputError  # noqa: E402
from advisor.measure.fitting import fit_measurements, validation_samples  # noqa: E402
from advisor.predict.corrections import WILDCARD, Sample, correction_key, precision_family  # noqa: E402
from advisor.predict.constants import predictor_constants  # noqa: E402
from advisor.predict.intervals import OTHER_FRAMEWORK, pair_kind  # noqa: E402
from benchmarks.fit import (  # noqa: E402
    BOOTSTRAP_DRAWS,
    REASONED_CONSTANTS,
    SEARCHED_CONSTANTS,
    RowPrediction,
    Structure,
    choose_structure,
    constant_value,
    load_published_rows,
    loso_predictions,
    model_name,
    one_standard_error_choice,
    predict_rows,
    with_constants,
)

REPORT = ROOT / "docs" / "accuracy.md"
INTERVALS = ROOT / "configs" / "intervals.yaml"
VALIDATION = ROOT / "benchmarks" / "data" / "validation-cpu.json"
#: fewest rows a class needs for its own interval (the contract with advisor.predict.intervals)
MIN_CLASS_ROWS = 3
DEFAULT_INTERVAL = {"n": 0, "low_ratio": 0.5, "high_ratio": 2.0}
#: width order of precisions: a speed-up is the narrower one's over the wider one's latency
WIDTH_RANK = {"fp32": 0, "f32": 0, "tf32": 1, "fp16": 2, "bf16": 2, "f16": 2, "w8a16": 3, "q8_0": 3,
              "fp8": 4, "int8": 4, "q6_k": 4, "q5_k_m": 5, "q4_k_m": 6, "q4_0": 6, "w4a16": 6}


# --------------------------------------------------------------------------- intervals
@dataclass(frozen=True)
class Residual:
    device_class: str
    framework: str
    family: str
    ratio: float  # measured / predicted
    cluster: str  # the unit of independent evidence: the row's source (the model, for calibrated rows)


@dataclass(frozen=True)
class IntervalRule:
    """How a class's interval is built from its residuals.

    ``min_clusters``: fewest sources (models, for the calibrated classes) a class needs; rows of
    one source share its bias, so a class of few sources says little of how far a new source's
    bias lies and lookups back off to a wider class. ``widen``: each side of p10-p90 is widened
    by widen x (p90 - p10) / (2 sqrt(sources)), the sources (not the rows) being the independent
    evidence (docs/predictor.md, "Prediction intervals")."""

    min_clusters: int
    widen: float

    def __str__(self) -> str:
        return f">= {self.min_clusters} sources, widen {self.widen:g}"


#: the rule reasoned before any coverage was seen (2 sources, full widening): the choice moves
#: away from it only as far as the held-out score tells the rules apart (:func:`choose_interval_rule`)
REASONED_INTERVAL_RULE = IntervalRule(2, 1.0)
#: the rules :func:`choose_interval_rule` scores on held-out sources
INTERVAL_RULES = tuple(IntervalRule(m, w) for m in (2, 3, 4) for w in (1.0, 0.5, 0.0))
#: p10-p90: the share of measurements an interval leaves out, half on each side
INTERVAL_ALPHA = 0.2


def _quantile_bounds(ratios: Sequence[float], clusters: int, widen: float = 1.0) -> tuple[float, float]:
    """p10 and p90 of the ratios in log space, each side widened by
    widen x (p90 - p10) / (2 sqrt(clusters))."""
    logs = sorted(math.log(r) for r in ratios)
    if len(logs) == 1:
        lo = hi = logs[0]
    else:
        cuts = statistics.quantiles(logs, n=10, method="inclusive")
        lo, hi = cuts[0], cuts[-1]
    pad = widen * (hi - lo) / (2 * math.sqrt(max(1, clusters)))
    return math.exp(lo - pad), math.exp(hi + pad)


def interval_classes(residuals: Sequence[Residual], device_class_label: str | None = None,
                     rule: IntervalRule = REASONED_INTERVAL_RULE, *,
                     with_between_share: bool = False) -> list[dict[str, Any]]:
    """Every (device class, framework, precision family) class and its wildcards with >= 3 rows
    from >= ``rule.min_clusters`` sources (models for calibrated rows), with its ``sources``; with
    ``with_between_share``, also :func:`between_share` (what --explain says dominates the range),
    for the classes written to configs/intervals.yaml only: the held-out rule scoring builds
    classes hundreds of times and reads their bounds alone."""
    groups: dict[tuple[str, str, str], list[Residual]] = {}
    for r in residuals:
        dc = device_class_label or r.device_class
        for key in itertools.product((dc, "*"), (r.framework, "*"), (r.family, "*")):
            groups.setdefault(key, []).append(r)
    out = []
    for (dc, fw, fam), group in sorted(groups.items()):
        clusters = len({r.cluster for r in group})
        if len(group) < MIN_CLASS_ROWS or clusters < rule.min_clusters:
            continue
        low, high = _quantile_bounds([r.ratio for r in group], clusters, rule.widen)
        out.append({"device_class": dc, "framework": fw, "precision_family": fam, "n": len(group),
                    "low_ratio": round(low, 4), "high_ratio": round(high, 4), "sources": clusters}
                   | (_between_field(group, clusters) if with_between_share else {}))
    return out


def _between_field(group: Sequence[Residual], clusters: int) -> dict[str, float]:
    """``between_share`` when the rows say something of the scatter within a source (at least
    two rows more than sources); with one row per source every class would read 100%."""
    return {"between_share": round(between_share(group), 2)} if len(group) - clusters >= 2 else {}


def between_share(group: Sequence[Residual]) -> float:
    """Share of the log-ratio variance of ``group`` that lies between its sources (models, for
    calibrated rows): sum of n_s (mean_s - mean)^2 over sum of (x - mean)^2, the one-way
    analysis-of-variance split. A large share is a per-source bias (device, power mode, build),
    which a fit on the device removes; the rest varies from model to model within a source."""
    logs = [math.log(r.ratio) for r in group]
    mean = statistics.fmean(logs)
    total = sum((x - mean) ** 2 for x in logs)
    if total == 0:
        return 0.0
    by_cluster: dict[str, list[float]] = {}
    for r, x in zip(group, logs):
        by_cluster.setdefault(r.cluster, []).append(x)
    between = sum(len(xs) * (statistics.fmean(xs) - mean) ** 2 for xs in by_cluster.values())
    return min(1.0, between / total)


def lookup(classes: Sequence[dict[str, Any]], device_class: str, framework: str, family: str) -> dict[str, Any]:
    """The most specific class with >= 3 rows: framework wildcard first, then precision family,
    then device class "*" (configs/intervals.yaml contract); else the default."""
    index = {(c["device_class"], c["framework"], c["precision_family"]): c for c in classes if c["n"] >= MIN_CLASS_ROWS}
    for dc in (device_class, "*"):
        for fw, fam in ((framework, family), ("*", family), (framework, "*"), ("*", "*")):
            if (dc, fw, fam) in index:
                return index[(dc, fw, fam)]
    return DEFAULT_INTERVAL


def interval_score(band: dict[str, Any], ratio: float) -> float:
    """The interval score of a p10-p90 band for one measured / predicted ratio, in log space:
    its width plus 2 / alpha times how far the ratio falls outside. A proper score (Gneiting and
    Raftery 2007, section 6.2): its expectation is lowest for the true p10 and p90, so a rule
    chosen by it is neither rewarded for narrow bands that miss nor for wide ones that cover."""
    lo, hi, y = math.log(band["low_ratio"]), math.log(band["high_ratio"]), math.log(ratio)
    return (hi - lo) + 2 / INTERVAL_ALPHA * (max(0.0, lo - y) + max(0.0, y - hi))


#: builds the interval classes from a set of residuals (an interval rule, or another way to try)
ClassBuilder = Callable[[Sequence[Residual]], list[dict[str, Any]]]


def classes_by(rule: IntervalRule, device_class_label: str | None = None) -> ClassBuilder:
    """The class builder of one interval rule."""
    return lambda residuals: interval_classes(residuals, device_class_label, rule)


def classes_by_chosen_rule(device_class_label: str | None = None) -> ClassBuilder:
    """The class builder that first chooses its rule on the residuals it is given
    (:func:`choose_interval_rule`): held out by :func:`held_out_bands`, a source's band never
    comes from a rule its own rows chose."""
    return lambda residuals: interval_classes(residuals, device_class_label,
                                              choose_interval_rule(residuals, device_class_label))


def held_out_bands(residuals: Sequence[Residual], build: ClassBuilder, device_class_label: str | None = None,
                   evidence: Sequence[Residual] | None = None) -> list[tuple[Residual, dict[str, Any]]]:
    """Each residual with the band of its class among those ``build`` makes WITHOUT its own
    source (model), from the residuals themselves or from other ``evidence``."""
    out = []
    pool = residuals if evidence is None else evidence
    for cluster in sorted({r.cluster for r in residuals}):
        classes = build([r for r in pool if r.cluster != cluster])
        out += [(r, lookup(classes, device_class_label or r.device_class, r.framework, r.family))
                for r in residuals if r.cluster == cluster]
    return out


def _departure(rule: IntervalRule) -> tuple[int, float, int]:
    """How far a rule lies from the reasoned one, in grid steps (sources 2, 3, 4; widening 1,
    0.5, 0); among rules as far, the wider one first."""
    steps = abs(rule.min_clusters - REASONED_INTERVAL_RULE.min_clusters) + round(abs(rule.widen - REASONED_INTERVAL_RULE.widen) / 0.5)
    return steps, -rule.widen, rule.min_clusters


def held_out_scores(residuals: Sequence[Residual], device_class_label: str | None = None
                    ) -> dict[IntervalRule, dict[str, list[float]]]:
    """Per rule of the grid, per source (model): the interval scores of its rows against their
    classes built without it."""
    scores: dict[IntervalRule, dict[str, list[float]]] = {}
    for rule in INTERVAL_RULES:
        by_cluster: dict[str, list[float]] = {}
        for r, band in held_out_bands(residuals, classes_by(rule, device_class_label), device_class_label):
            by_cluster.setdefault(r.cluster, []).append(interval_score(band, r.ratio))
        scores[rule] = by_cluster
    return scores


def choose_interval_rule(residuals: Sequence[Residual], device_class_label: str | None = None,
                         draws: int = BOOTSTRAP_DRAWS) -> IntervalRule:
    """The interval rule for these residuals, chosen as benchmarks.accuracy chooses the global
    constants (:func:`choose_constants`): the criterion is the mean interval score of every row
    against its class built without its own source (:func:`held_out_bands`); its standard error
    at the best rule comes from resampling whole sources; of the rules within one standard error
    of the best, the one nearest the reasoned rule (:func:`_departure`). The scores of the
    near-best rules differ by less than their noise (a plain argmin flips between widening 0 and
    0.5 from one held-out source to the next), so the rule moves from the reasoned one only as
    far as the evidence says. Called on the sources other than the one being scored, so a source
    never chooses the rule that judges it."""
    if len({r.cluster for r in residuals}) < 2:
        return REASONED_INTERVAL_RULE
    scores = held_out_scores(residuals, device_class_label)
    clusters = sorted(scores[REASONED_INTERVAL_RULE])

    def mean_score(rule: IntervalRule, drawn: Sequence[str]) -> float:
        return statistics.fmean(x for c in drawn for x in scores[rule][c])

    return one_standard_error_choice(INTERVAL_RULES, mean_score, clusters, _departure, draws)


# --------------------------------------------------------------------------- cross-validation
@dataclass
class Scored:
    pred: RowPrediction
    loso_ms: float  # corrected prediction from the other sources
    low_ms: float  # interval computed without the row's own source
    high_ms: float
    structure: Structure
    interval_rule: IntervalRule  # chosen on the other sources
    platform_fit: bool = False  # the other sources' rows on its platform gave a per-platform fit

    @property
    def error(self) -> float:
        return self.loso_ms / self.pred.measured_ms - 1

    @property
    def raw_error(self) -> float:
        return self.pred.predicted_ms / self.pred.measured_ms - 1

    @property
    def inside(self) -> bool:
        return self.low_ms <= self.pred.measured_ms <= self.high_ms


def _residuals(preds: Sequence[RowPrediction], corrected: dict[str, float]) -> list[Residual]:
    return [Residual(p.device_class, p.row["framework"], p.family, p.measured_ms / corrected[p.id], p.source)
            for p in preds]


def cross_validate(
    preds: list[RowPrediction], preds_by_source: dict[str, list[RowPrediction]] | None = None
) -> tuple[list[Scored], list[Residual]]:
    """(every row scored from the other sources, the outer residuals for configs/intervals.yaml).

    ``preds_by_source`` gives, per held-out source, every row predicted with the global constants
    chosen without that source (:func:`nested_constants`); default: ``preds`` for every source."""
    source_of = {p.id: p.source for p in preds}
    scored: list[Scored] = []
    outer: dict[str, float] = {}
    final: list[RowPrediction] = []
    for src in sorted({p.source for p in preds}):
        pool = preds_by_source[src] if preds_by_source else preds
        train = [p for p in pool if p.source != src]
        held = [p for p in pool if p.source == src]
        final += held
        samples = [p.sample() for p in train]
        structure = choose_structure(samples, source_of)
        fitted = structure.fit(samples)
        train_residuals = _residuals(train, loso_predictions(samples, source_of, structure))
        rule = choose_interval_rule(train_residuals)
        classes = interval_classes(train_residuals, rule=rule)
        for p in held:
            sample = p.sample()
            corrected = p.predicted_ms * fitted.multiplier(sample)
            outer[p.id] = corrected
            band = lookup(classes, p.device_class, p.row["framework"], p.family)
            reached = bool(sample.platform_model) and fitted.platforms.find(*sample.platform_model[:2]) is not None
            scored.append(Scored(p, corrected, corrected * band["low_ratio"], corrected * band["high_ratio"], structure, rule,
                                 reached))
    order = {p.id: i for i, p in enumerate(preds)}
    scored.sort(key=lambda s: order[s.pred.id])
    return scored, _residuals(final, outer)


# --------------------------------------------------------------------------- global constants, nested


#: one combination of the searched constants: ((dotted name, value), ...) sorted by name
Combination = tuple[tuple[str, float], ...]


def combination(values: dict[str, float]) -> Combination:
    return tuple(sorted(values.items()))


def constant_combinations() -> list[Combination]:
    """Every combination of the grids of benchmarks.fit.SEARCHED_CONSTANTS (searched jointly: the
    edge host slowdown and the enqueue cost multiply one another on a Jetson, so neither can be
    chosen with the other held at a value chosen on all sources)."""
    names = sorted(SEARCHED_CONSTANTS)
    return [tuple(zip(names, values)) for values in itertools.product(*(SEARCHED_CONSTANTS[n] for n in names))]


def _distance(combo: Combination, reasoned: dict[str, float]) -> float:
    """How far a combination lies from the reasoned values: the sum of |log(value / reasoned)|."""
    return sum(abs(math.log(v / reasoned[name])) for name, v in combo)


def choose_constants(
    grid: dict[Combination, dict[str, float]], reasoned: dict[str, float], source_of: dict[str, str],
    exclude: str | None, draws: int = BOOTSTRAP_DRAWS,
) -> dict[str, float]:
    """The searched constants chosen together on the rows NOT of source ``exclude`` (None: all
    rows), by the one-standard-error rule (benchmarks.fit.one_standard_error_choice): the criterion
    is the report's headline error, the median |predicted / measured - 1|; of the combinations
    within one standard error of the best, the one nearest the reasoned values (``reasoned``,
    summed log distance) is chosen. A flat criterion (constants that only the held-out source's rows pin
    down) so leaves them where reasoning put them instead of wherever the noise favours. No
    constant is held at a configured value while another is searched: those were chosen on every
    source, the held-out one included. ``grid[combination]`` maps row id to predicted / measured
    latency with the constants at that combination."""
    errors = {combo: _errors_by_source(rows, source_of, exclude) for combo, rows in grid.items()}
    sources = sorted(next(iter(errors.values())))
    return dict(one_standard_error_choice(list(grid), lambda combo, drawn: _median_error(errors[combo], drawn), sources,
                                          lambda combo: (_distance(combo, reasoned), combo), draws))


def _errors_by_source(rows: dict[str, float], source_of: dict[str, str], exclude: str | None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for rid, ratio in rows.items():
        if source_of[rid] != exclude:
            out.setdefault(source_of[rid], []).append(abs(ratio - 1))
    return out


def _median_error(errors: dict[str, list[float]], sources: Sequence[str]) -> float:
    """Median over the rows of ``sources`` (a source drawn twice counts twice)."""
    return statistics.median(e for src in sources for e in errors[src])


@dataclass
class NestedConstants:
    """The searched global constants chosen per held-out source on the other sources."""

    configured: dict[str, float]
    on_all: dict[str, float]  # chosen on every source: what configs/predictor.yaml should hold
    configured_error: float  # leave-one-source-out median abs error with the configured constants
    per_source: dict[str, dict[str, float]]
    preds_by_source: dict[str, list[RowPrediction]]


def nested_constants(preds: list[RowPrediction]) -> NestedConstants:
    """Every row predicted with the constants of configs/predictor.yaml marked "fit" chosen
    without its own source: every combination of their grids (benchmarks.fit.SEARCHED_CONSTANTS)
    predicted once, the combination chosen on the other sources (:func:`choose_constants`), and
    the held-out source predicted with it."""
    base = predictor_constants()
    configured = {name: constant_value(base, name) for name in SEARCHED_CONSTANTS}
    reasoned = dict(REASONED_CONSTANTS)
    source_of = {p.id: p.source for p in preds}
    published = load_published_rows()
    predicted = {combo: preds if dict(combo) == configured else predict_rows(with_constants(base, dict(combo)), published)[0]
                 for combo in constant_combinations()}
    grid = {combo: {p.id: p.predicted_ms / p.measured_ms for p in ps} for combo, ps in predicted.items()}
    per_source = {src: choose_constants(grid, reasoned, source_of, exclude=src) for src in sorted(set(source_of.values()))}
    by_source = {src: predicted[combination(chosen)] for src, chosen in per_source.items()}
    plain, _ = cross_validate(preds)
    return NestedConstants(configured, choose_constants(grid, reasoned, source_of, None),
                           statistics.median(abs(s.error) for s in plain), per_source, by_source)


# --------------------------------------------------------------------------- speed-up ratios
@dataclass(frozen=True)
class Speedup:
    label: str  # "int8/fp16": the int8 row's speed-up over the fp16 row
    ids: tuple[str, str]
    measured: float
    predicted: float
    raw: float

    @property
    def error(self) -> float:
        return self.predicted / self.measured - 1


def speedups(rows: Sequence[tuple[dict[str, Any], float, float, float]], same: Sequence[str]) -> list[Speedup]:
    """Pairs of rows equal on ``same`` fields but in precision. Each item: (row, measured ms,
    corrected predicted ms, uncorrected predicted ms)."""
    groups: dict[tuple, list] = {}
    for item in rows:
        row = item[0]
        groups.setdefault(tuple(str(row.get(k)) for k in same), []).append(item)
    out = []
    for group in groups.values():
        for a, b in itertools.combinations(group, 2):
            if a[0]["precision"] == b[0]["precision"]:
                continue
            wide, narrow = sorted((a, b), key=lambda it: WIDTH_RANK.get(it[0]["precision"], 9))
            out.append(Speedup(f"{narrow[0]['precision']}/{wide[0]['precision']}", (narrow[0]["id"], wide[0]["id"]),
                               wide[1] / narrow[1], wide[2] / narrow[2], wide[3] / narrow[3]))
    return out


PUBLISHED_PAIR_KEYS = ("source_id", "model", "platform", "framework", "batch", "phase", "seq_len", "context", "metric")


@dataclass
class SpeedupRanges:
    """The ranges `recommend` gives a precision pair's speed-up: measured / predicted speed-up of
    the same-source pairs (their predictions held out by source), classed by device class x
    framework x pair kind ("int8/float") as the latency classes are, with the rule chosen the
    same way; ``bands``: each pair against its class built without its source."""

    residuals: list[Residual]
    classes: list[dict[str, Any]]
    rule: IntervalRule
    bands: list[tuple[Residual, dict[str, Any]]]

    @property
    def scored(self) -> tuple[int, int, float]:
        """(pairs inside their held-out band, pairs, median width high/low)."""
        return coverage_and_width(self.bands)


def speedup_ranges(residuals: list[Residual], device_class_label: str | None = None) -> SpeedupRanges:
    """The speed-up classes of these pair residuals (all under ``device_class_label`` when
    given, as the calibrated latency classes are), the rule chosen on them, and each pair's
    band built without its source (model)."""
    rule = choose_interval_rule(residuals, device_class_label)
    # no between_share: it is advice about a fit on the device, which pairs do not give
    classes = interval_classes(residuals, device_class_label, rule)
    if device_class_label is not None:
        classes = [c for c in classes if c["device_class"] == device_class_label]
    bands = held_out_bands(residuals, classes_by_chosen_rule(device_class_label), device_class_label)
    return SpeedupRanges(residuals, classes, rule, bands)


def published_pair_residuals(pairs: Sequence[Speedup], preds: Sequence[RowPrediction]) -> list[Residual]:
    """measured / predicted speed-up of each published pair (predictions held out by source),
    keyed by the narrow row's device class and framework and the pair's kind."""
    by_id = {p.id: p for p in preds}
    out = []
    for pair in pairs:
        narrow, wide = by_id[pair.ids[0]], by_id[pair.ids[1]]
        out.append(Residual(narrow.device_class, narrow.row["framework"], pair_kind(narrow.family, wide.family),
                            pair.measured / pair.predicted, narrow.source))
    return out


def calibrated_pair_residuals(fits: FitReplays) -> list[Residual]:
    """The same on a calibrated device, with what the user ends up with there: the CPU
    validation (its calibration, `advisor fit` corrections where accepted; the unit is the
    model) and the published rows of accepted `advisor fit` replays (the unit is the source)."""
    cpu_rows = {row["id"]: row for row, *_ in fits.vfit.rows}
    out = []
    for pair in speedups(fits.vfit.kept_rows, ("model", "batch", "framework")):
        narrow, wide = cpu_rows[pair.ids[0]], cpu_rows[pair.ids[1]]
        kind = pair_kind(precision_family(narrow["precision"]), precision_family(wide["precision"]))
        out.append(Residual("calibrated", narrow["framework"], kind, pair.measured / pair.predicted, narrow["model"]))
    fitted = fits.dfit.fitted
    pairs = speedups([(r.pred.row, r.pred.measured_ms, r.fitted_ms, r.pred.predicted_ms) for r in fitted],
                     PUBLISHED_PAIR_KEYS)
    return out + [replace(r, device_class="calibrated") for r in published_pair_residuals(pairs, [r.pred for r in fitted])]


# --------------------------------------------------------------------------- CPU validation + advisor fit
@dataclass
class ValidationFit:
    rows: list[tuple[dict[str, Any], float, float, float]]  # (row, measured, LOMO-corrected, uncorrected)
    before: float
    after: float

    @property
    def accepted(self) -> bool:
        """Would `advisor fit` keep the corrections (held-out error better than none)?"""
        return self.after < self.before

    @property
    def kept_rows(self) -> list[tuple[dict[str, Any], float, float, float]]:
        """(row, measured, what the user ends up with, uncorrected): the LOMO-corrected prediction
        where `advisor fit` accepts the fit, the calibrated prediction alone where it refuses it
        (the device keeps its `advisor calibrate` record either way)."""
        return [(row, measured, corrected if self.accepted else alone, alone)
                for row, measured, corrected, alone in self.rows]

    @property
    def residuals(self) -> list[Residual]:
        """measured / what the user ends up with; the unit is the model."""
        return [Residual("calibrated", row["framework"], precision_family(row["precision"]), measured / kept, row["model"])
                for row, measured, kept, _ in self.kept_rows]


def validation_fit(path: Path = VALIDATION) -> ValidationFit:
    """The CPU validation predicted with its calibration, corrected leave-one-model-out by the code
    `advisor fit` runs (advisor.measure.fitting.fit_measurements); its residuals are what the user
    ends up with (:attr:`ValidationFit.kept_rows`)."""
    samples, measured = validation_samples(path)
    rows = [dict(m, id=f"{m['model']} b{m['batch']} {m['framework']} {m['precision']}") for m in measured]
    fit = fit_measurements(samples, str(path))
    items = [(row, s.measured_ms, fit.held_out_ms[s.id], s.predicted_ms) for row, s in zip(rows, samples)]
    return ValidationFit(items, fit.before, fit.after)


@dataclass(frozen=True)
class DeviceFitRow:
    pred: RowPrediction
    fitted_ms: float  # what the user ends up with: corrected, or the model alone where the fit is refused
    residual: Residual | None  # device class "calibrated", cluster = the source; None where the fit is refused


@dataclass
class DeviceFit:
    """Published rows after an `advisor fit` on their own platform: each row predicted with the
    corrections fitted on the OTHER models its source measured on that platform, or with the
    model alone where `advisor fit` would refuse the fit (worse than no fit)."""

    rows: list[DeviceFitRow]

    @property
    def residuals(self) -> list[Residual]:
        return [r.residual for r in self.fitted if r.residual is not None]

    @property
    def fitted(self) -> list[DeviceFitRow]:
        """The rows a stored fit reaches."""
        return [r for r in self.rows if r.residual is not None]

    @property
    def before(self) -> float:
        return _error_before(self.rows)

    @property
    def after(self) -> float:
        return _error_after(self.rows)


def _error_before(rows: Sequence[DeviceFitRow]) -> float:
    """Median abs error of the model alone."""
    return _med([abs(r.pred.predicted_ms / r.pred.measured_ms - 1) for r in rows])


def _error_after(rows: Sequence[DeviceFitRow]) -> float:
    """Median abs error of what the user ends up with after `advisor fit`."""
    return _med([abs(r.fitted_ms / r.pred.measured_ms - 1) for r in rows])


def published_device_fit(preds_by_source: dict[str, list[RowPrediction]]) -> DeviceFit:
    """`advisor fit` replayed on the published rows: every (source, platform) that measured at
    least two models is fitted and scored leave-one-model-out by the code `advisor fit` runs
    (advisor.measure.fitting.fit_measurements: framework x precision-family corrections), starting
    from the predictions with the global constants chosen without that source. Where `advisor fit`
    would refuse the fit (held-out error worse than none) the user keeps the model alone and an
    uncalibrated interval, so those rows keep their prediction and give no calibrated residual.
    Sources that measured one model on a platform (a whole BERT table, one ResNet) give no held-out
    model and are not here. The residuals are the published evidence for the "calibrated" interval
    classes: what is left of the error once a user has fitted the device with their other models."""
    rows: list[DeviceFitRow] = []
    for src, platform, group in _source_platforms(preds_by_source):
        if len({model_name(p.row) for p in group}) < 2:
            continue
        samples = _fit_samples(group)
        fit = fit_measurements(samples, f"{src} on {platform}")
        for p, s in zip(group, samples):
            if fit.improves and p.workload not in fit.unscored_kinds:  # else no figure of its kind is stored
                ms = fit.held_out_ms[s.id]
                rows.append(DeviceFitRow(p, ms, Residual("calibrated", p.row["framework"], p.family, p.measured_ms / ms, src)))
            else:
                rows.append(DeviceFitRow(p, p.predicted_ms, None))
    return DeviceFit(rows)


def _source_platforms(preds_by_source: dict[str, list[RowPrediction]]) -> list[tuple[str, str, list[RowPrediction]]]:
    """(source, platform, that source's rows on it), each source's rows taken from its own
    predictions (the global constants chosen without it)."""
    out = []
    for src, pool in sorted(preds_by_source.items()):
        by_platform: dict[str, list[RowPrediction]] = {}
        for p in pool:
            if p.source == src:
                by_platform.setdefault(p.row["platform"], []).append(p)
        out += [(src, platform, group) for platform, group in sorted(by_platform.items())]
    return out


def _fit_samples(rows: Sequence[RowPrediction]) -> list[Sample]:
    """The rows as `advisor fit` sees a user's file: ids "model|...", paths (framework, family)."""
    return [Sample(f"{model_name(p.row)}|{p.id}", p.measured_ms, p.predicted_ms, (p.row["framework"], p.family),
                   workload=p.workload) for p in rows]


def other_framework_fit(preds_by_source: dict[str, list[RowPrediction]]) -> DeviceFit:
    """`advisor fit` reaching a framework it did not measure: for every (source, platform) that
    measured two or more frameworks, each framework's rows are predicted with the corrections an
    `advisor fit` of the OTHER frameworks' rows stores; only its ``*/*`` figure reaches a framework
    the fit did not see, as in the predictor's lookup (advisor.predict.corrections). Where that fit
    is refused, or cannot be scored (fewer than two models), the platform has no calibration and
    the rows give no residual. The residuals give the "calibrated-other-framework" classes: the
    common case of fitting one framework and ranking all of them."""
    rows: list[DeviceFitRow] = []
    for src, platform, group in _source_platforms(preds_by_source):
        frameworks = sorted({p.row["framework"] for p in group})
        if len(frameworks) < 2:
            continue
        for framework in frameworks:
            samples = _fit_samples([p for p in group if p.row["framework"] != framework])
            try:
                fit = fit_measurements(samples, f"{src} on {platform} without {framework}")
            except InputError:  # one model: `advisor fit` cannot score it and stores nothing
                fit = None
            for p in group:
                if p.row["framework"] != framework:
                    continue
                reaching = fit.corrections.get(correction_key(WILDCARD, WILDCARD, p.workload)) if fit is not None else None
                if fit is None or not fit.improves or reaching is None:  # no figure of the row's kind: not calibrated
                    rows.append(DeviceFitRow(p, p.predicted_ms, None))
                    continue
                ms = p.predicted_ms * reaching
                rows.append(DeviceFitRow(p, ms, Residual(OTHER_FRAMEWORK, framework, p.family, p.measured_ms / ms, src)))
    return DeviceFit(rows)


def calibrated_bands(residuals: Sequence[Residual]) -> list[tuple[Residual, dict[str, Any]]]:
    """Each calibrated residual with the "calibrated" interval of its class built WITHOUT its own
    model (CPU validation) or source (published rows), by the rule chosen without it (the
    residuals are leave-one-model-out already): what a prediction on a fitted device is promised."""
    return held_out_bands(residuals, classes_by_chosen_rule("calibrated"), "calibrated")


@dataclass
class FitReplays:
    """`advisor fit` on the CPU validation and replayed on the published rows, with each row's
    held-out band (computed once: the summary and the per-source tables both read them)."""

    vfit: ValidationFit
    dfit: DeviceFit
    ofit: DeviceFit
    calibrated: list[tuple[Residual, dict[str, Any]]]  # CPU validation + accepted published fits
    other: list[tuple[Residual, dict[str, Any]]]  # a framework the fit did not measure, own classes
    other_in_calibrated: list[tuple[Residual, dict[str, Any]]]  # the same rows in the calibrated classes

    @property
    def calibrated_residuals(self) -> list[Residual]:
        return self.vfit.residuals + self.dfit.residuals


def fit_replays(preds_by_source: dict[str, list[RowPrediction]], vfit: ValidationFit) -> FitReplays:
    """The replays of `advisor fit` and every band held out from its row's source (model)."""
    dfit, ofit = published_device_fit(preds_by_source), other_framework_fit(preds_by_source)
    calibrated = vfit.residuals + dfit.residuals
    return FitReplays(vfit, dfit, ofit, calibrated_bands(calibrated),
                      held_out_bands(ofit.residuals, classes_by_chosen_rule(OTHER_FRAMEWORK), OTHER_FRAMEWORK),
                      held_out_bands(ofit.residuals, classes_by_chosen_rule("calibrated"), "calibrated", calibrated))


def coverage_and_width(bands: Sequence[tuple[Residual, dict[str, Any]]]) -> tuple[int, int, float]:
    """(rows inside their band, rows, median width high/low)."""
    inside = sum(band["low_ratio"] <= r.ratio <= band["high_ratio"] for r, band in bands)
    return inside, len(bands), _med([band["high_ratio"] / band["low_ratio"] for _, band in bands])


# --------------------------------------------------------------------------- report
def pairwise_order(scored: Sequence[Scored]) -> tuple[int, int]:
    good = total = 0
    by_platform: dict[str, list[Scored]] = {}
    for s in scored:
        by_platform.setdefault(s.pred.row["platform"], []).append(s)
    for group in by_platform.values():
        for a, b in itertools.combinations(group, 2):
            if a.pred.measured_ms == b.pred.measured_ms:
                continue
            total += 1
            good += (a.loso_ms < b.loso_ms) == (a.pred.measured_ms < b.pred.measured_ms)
    return good, total


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _shape(row: dict[str, Any]) -> str:
    shape = str(row.get("batch", 1))
    if row.get("phase"):
        shape += f" {row['phase']} " + (f"seq {row['seq_len']}" if row.get("seq_len") else f"ctx {row['context']}")
    return shape


def render(scored: list[Scored], pairs: list[Speedup], fits: FitReplays, vpairs: list[Speedup],
           data: dict[str, Any], classes: list[dict[str, Any]], rules: dict[str, IntervalRule],
           nested: NestedConstants | None = None,
           ranges: tuple[SpeedupRanges, SpeedupRanges] | None = None) -> str:
    n = len(scored)
    sources = sorted({s.pred.source for s in scored})
    errs = [abs(s.error) for s in scored]
    raw = [abs(s.raw_error) for s in scored]
    inside = sum(s.inside for s in scored)
    widths = [s.high_ms / s.low_ms for s in scored]
    ratio_errs = [abs(p.error) for p in pairs]
    good, total = pairwise_order(scored)
    structures = sorted({str(s.structure) for s in scored})
    goal = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    everything = next(c for c in classes if (c["device_class"], c["framework"], c["precision_family"]) == ("*", "*", "*"))
    per_source: dict[str, list[float]] = {}
    for sc in scored:
        per_source.setdefault(sc.pred.source, []).append(abs(sc.error))
    lines = [
        "# Predictor accuracy on published measurements (leave-one-source-out)",
        "",
        "Generated by `python benchmarks/accuracy.py` from `benchmarks/data/published.yaml`; do not edit by hand.",
        "Each row is predicted by the roofline model (seed data in `hardware_db/`, constants in",
        "`configs/predictor.yaml`, no calibration) times the corrections of `benchmarks/fit.py` fitted on the",
        "rows of the OTHER sources only: the class corrections (their prior strength is chosen on those",
        "sources too; so are the constants marked \"fit\", see below) and, where other sources measured the",
        "row's platform and workload kind, `advisor fit` run on their rows of it (the per-platform corrections",
        "the predictor applies from configs/platform_corrections.yaml). A row is never predicted by figures fitted on its",
        "own source, and no row is left out of any figure.",
        "",
        "Error = predicted latency / measured latency - 1 (throughput rows converted to latency per call).",
        "",
        "## Summary",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| rows / sources | {n} / {len(sources)} | |",
        f"| median abs error, leave-one-source-out | {_med(errs):.1%} | <= 20%: {goal(_med(errs) <= 0.20)} |",
        f"| median abs error, roofline model alone (no fitted correction) | {_med(raw):.1%} | |",
        *_platform_fit_line(scored),
        *([f"| median abs error with the configured constants (not held out: they were searched on rows of this file) "
           f"| {nested.configured_error:.1%} | |"] if nested is not None else []),
        f"| median over sources of each source's median abs error (every source weighs the same) "
        f"| {_med([_med(v) for v in per_source.values()]):.1%} | |",
        f"| rows within +/-25% (leave-one-source-out) | {sum(e <= 0.25 for e in errs)} of {n} | |",
        f"| interval coverage (measured inside p10-p90, interval without the row's source) | {inside / n:.0%} ({inside} of {n}) "
        f"| 70-90%: {goal(0.70 <= inside / n <= 0.90)} |",
        f"| median interval width high/low | {_med(widths):.2f}x | < 2x: {goal(_med(widths) < 2)} |",
        *_calibrated_lines(fits),
        f"| share of the held-out log-ratio variance that lies between sources, not within one (a per-device "
        f"bias: what `advisor fit` removes) | {everything['between_share']:.0%} | |",
        f"| median speed-up ratio error ({len(pairs)} same-source precision pairs) | {_med(ratio_errs):.1%} "
        f"| <= 15%: {goal(_med(ratio_errs) <= 0.15)} |",
        *(_speedup_summary(*ranges) if ranges is not None else []),
        f"| pairwise order on the same device (leave-one-source-out) | {good}/{total} | |",
        "",
        "Fit structure chosen per held-out source on the other sources (group centre, prior strength k):",
        ", ".join(f"{st} ({sum(str(s.structure) == st for s in scored)} rows)" for st in structures) + ".",
        *constants_section(nested),
        *platform_corrections_section(),
        "## Error per source",
        "",
        "A few sources hold most rows (complete published tables are taken whole), so the row median above",
        "weighs them most; this table shows each source on its own. Its interval columns: rows inside their",
        "p10-p90 range and the median width of those ranges (built without the source), and the source's own",
        "spread: the narrowest high/low window that holds 80% of its rows' measured / LOSO-predicted ratios",
        "(5+ rows), chosen after seeing them. One range for all of a source's rows cannot hold 80% of them",
        "with less; only ranges that know the row's model could.",
        "",
        "| source | rows | median abs error (LOSO) | median signed (LOSO) | inside p10-p90 | median width | own spread |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_source_row(src, [sc for sc in scored if sc.pred.source == src])
          for src, v in sorted(per_source.items(), key=lambda kv: (-len(kv[1]), kv[0]))),
        "",
        "## Error per class (device class x framework x precision family)",
        "",
        "| class | rows | sources | median abs error (LOSO) | median abs error (model alone) | median signed (LOSO) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_class: dict[str, list[Scored]] = {}
    for s in scored:
        by_class.setdefault(f"{s.pred.device_class} / {s.pred.row['framework']} / {s.pred.family}", []).append(s)
    for name, group in sorted(by_class.items()):
        lines.append(f"| {name} | {len(group)} | {len({g.pred.source for g in group})} | {_med([abs(g.error) for g in group]):.0%} "
                     f"| {_med([abs(g.raw_error) for g in group]):.0%} | {_med([g.error for g in group]):+.0%} |")
    lines += ["", "## Speed-up ratios (same source, same model and shape, different precision)", "",
              "Speed-up = latency of the wider precision / latency of the narrower one; error = predicted / measured - 1.",
              "", "| pair | rows | measured | predicted (LOSO) | error | model alone |", "|---|---|---:|---:|---:|---:|"]
    for p in pairs:
        lines.append(f"| {p.label} | {p.ids[0]} vs {p.ids[1]} | {p.measured:.2f}x | {p.predicted:.2f}x | {p.error:+.0%} | {p.raw:.2f}x |")
    by_label: dict[str, list[float]] = {}
    for p in pairs:
        by_label.setdefault(p.label, []).append(abs(p.error))
    lines += ["", "Median ratio error per pair kind: " + ", ".join(f"{k} {_med(v):.0%} (n={len(v)})" for k, v in sorted(by_label.items())) + ".",
              "Pairs the published data does not hold yet: fp8/fp16, q4_k_m/f16 (no cited same-source measurement in the file).", ""]
    lines += speedup_section(*ranges) if ranges is not None else []
    vfit = fits.vfit
    vr = [abs(p.error) for p in vpairs]
    kept = ("These residuals, with the published rows after `advisor fit` (below), give the \"calibrated\" "
            "interval classes." if vfit.accepted else
            "`advisor fit` refuses such a fit, so the device keeps its calibrated predictions without "
            "corrections; their residuals, with the published rows after `advisor fit` (below), give the "
            "\"calibrated\" interval classes.")
    lines += ["## CPU validation with `advisor fit` (leave-one-model-out)", "",
              *textwrap.wrap(
                  f"The {len(vfit.rows)} measurements of `benchmarks/data/validation-cpu.json` (this repo's CPU, "
                  "calibrated by `advisor calibrate`), each predicted with framework x precision-family corrections "
                  "fitted on the OTHER models (advisor.measure.fitting, as `advisor fit` does): median abs error "
                  f"{vfit.before:.1%} without corrections, {vfit.after:.1%} with them. {kept} int8/fp32 speed-ups "
                  f"(onnxruntime-cpu, {len(vpairs)} pairs): median ratio error {_med(vr):.1%}.", 100), "",
              "| pair | model, batch | measured | predicted (LOMO-corrected) | error | model alone |", "|---|---|---:|---:|---:|---:|"]
    for p in vpairs:
        lines.append(f"| {p.label} | {p.ids[0]} | {p.measured:.2f}x | {p.predicted:.2f}x | {p.error:+.0%} | {p.raw:.2f}x |")
    lines.append("")
    lines += device_fit_section(fits)
    rule_text = (
        "p10-p90 of measured / predicted over leave-one-source-out residuals, each side widened by "
        "w x (p90 - p10) / (2 sqrt(s)), s = sources (for `calibrated`: CPU validation models and published sources); classes with fewer than 3 rows or "
        "fewer than m sources are not written (lookups back off to wider classes). The rule (m, w) is chosen of "
        f"{len(INTERVAL_RULES)} (m = 2, 3, 4; w = 1, 0.5, 0) as the constants are: the criterion is the mean interval "
        f"score (log width plus {2 / INTERVAL_ALPHA:g} x the log distance of a measurement outside; a proper score for "
        "p10-p90) of every row against its class built without its source; of the rules within one standard error "
        f"of the best ({BOOTSTRAP_DRAWS} resamples of whole sources), the one nearest the rule reasoned first "
        f"({REASONED_INTERVAL_RULE}). Chosen on all sources: "
        + "; ".join(f"{name} rows {rule}" for name, rule in rules.items()) + ". "
        "The coverage and width in the summary are nested: each held-out source's interval uses the rule chosen "
        "on the other sources (" + "; ".join(f"{rule}: {n} sources" for rule, n in _rule_counts(scored)) + ")."
    )
    lines += ["## Interval classes (configs/intervals.yaml)", "", *textwrap.wrap(rule_text, 100), "",
              "Between: the share of the class's log-ratio variance that lies between its sources (models on",
              "the CPU validation) rather than within one; a large share is a per-device bias, which `advisor fit`",
              "removes (`--explain` says so); - where the rows are too few to tell (fewer than two more than", "sources).", "",
              "| device class | framework | precision family | rows | sources | low | high | between |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for c in classes:
        lines.append(f"| {c['device_class']} | {c['framework']} | {c['precision_family']} | {c['n']} | {c['sources']} "
                     f"| {sig3(c['low_ratio'])} | {sig3(c['high_ratio'])} | {_share(c.get('between_share'))} |")
    lines += ["", "## Rows", "",
              "| id | source | model | platform | framework | precision | batch/phase | measured ms | model ms | LOSO ms | error | p10-p90 ms | in | bound |",
              "|---|---|---|---|---|---|---|---:|---:|---:|---:|---|---|---|"]
    for s in scored:
        row = s.pred.row
        lines.append(
            f"| {row['id']} | {row['source_id']} | {model_name(row)} | {row['platform']} | {row['framework']} | {row['precision']} | {_shape(row)} "
            f"| {sig3(s.pred.measured_ms)} | {sig3(s.pred.predicted_ms)} | {sig3(s.loso_ms)} | {s.error:+.0%} | {sig3(s.low_ms)}-{sig3(s.high_ms)} "
            f"| {'yes' if s.inside else 'no'} | {s.pred.bound} |")
    lines += ["", "## Rows not predicted", ""] + [f"- row {s['row']}: {s['reason']}" for s in data.get("skipped", [])]
    lines += ["", "## Row notes", ""] + [f"- {s.pred.id}: {s.pred.row['note']}" for s in scored if s.pred.row.get("note")]
    return "\n".join(lines) + "\n"


def narrowest_window(ratios: Sequence[float], count: int) -> float:
    """The narrowest high/low window (a ratio) that holds ``count`` of these ratios."""
    logs = sorted(math.log(r) for r in ratios)
    return math.exp(min(logs[i + count - 1] - logs[i] for i in range(len(logs) - count + 1)))


def _source_row(source: str, rows: Sequence[Scored]) -> str:
    """One source's line of the per-source table: its errors, its rows' held-out intervals, and
    the spread of its own held-out ratios (the narrowest window holding 80% of them, 5+ rows)."""
    widths = [s.high_ms / s.low_ms for s in rows]
    ratios = [s.pred.measured_ms / s.loso_ms for s in rows]
    spread = "-"
    if len(ratios) >= 5:  # the narrowest window holding 80% of them
        spread = f"{sig3(narrowest_window(ratios, math.ceil(0.8 * len(ratios))))}x"
    return (f"| {source} | {len(rows)} | {_med([abs(s.error) for s in rows]):.0%} | {_med([s.error for s in rows]):+.0%} "
            f"| {sum(s.inside for s in rows)} | {sig3(_med(widths))}x | {spread} |")


def _platform_fit_line(scored: Sequence[Scored]) -> list[str]:
    """What the per-platform corrections do held out: the rows another source's fit reaches."""
    reached = [s for s in scored if s.platform_fit]
    if not reached:
        return []
    sources = len({s.pred.source for s in reached})
    return [f"| rows of a platform and workload kind other sources measured ({len(reached)} rows of {sources} sources): `advisor fit` "
            f"on those sources' rows of it (configs/platform_corrections.yaml), model alone -> with it "
            f"| {_med([abs(s.raw_error) for s in reached]):.1%} -> {_med([abs(s.error) for s in reached]):.1%} | |"]


def platform_corrections_section() -> list[str]:
    """The per-platform figures the predictor ships (configs/platform_corrections.yaml)."""
    from advisor.predict.platform_corrections import platform_correction_table

    lines = ["## Per-platform corrections (configs/platform_corrections.yaml)", "",
             "`advisor fit` (fixed structure: median of log ratios, prior 2) run by `python benchmarks/fit.py`",
             "on the published rows of a platform and workload kind (a whole network; an LLM's prefill; its",
             "decode) as one group, kept where its leave-one-model-out error beats no fit: one multiplier per",
             "platform and kind, for every framework and precision. The predictor multiplies datasheet",
             "predictions of that kind on that platform by it (not on a device with `advisor calibrate`",
             "figures; a user's own `advisor fit` is fitted on top); a kind no published row of the platform",
             "measured gets none. Held out above: each row gets the fit of the OTHER sources' rows of its",
             "platform and kind.",
             "", "| platform | workload | rows | models | sources | multiplier | leave-one-model-out error |",
             "|---|---|---:|---:|---|---:|---|"]
    for fit in platform_correction_table().fits:
        lines.append(f"| {fit.platform} | {fit.workload} | {fit.rows} | {fit.models} | {', '.join(fit.sources)} | x{fit.multiplier:.3g} "
                     f"| {fit.error_before:.1%} -> {fit.error_after:.1%} |")
    return lines + [""]


def _rule_counts(scored: Sequence[Scored]) -> list[tuple[IntervalRule, int]]:
    """How many held-out sources had each interval rule chosen for them."""
    return collections.Counter({s.pred.source: s.interval_rule for s in scored}.values()).most_common()


def _calibrated_lines(fits: FitReplays) -> list[str]:
    """Summary rows for predictions on a device fitted with `advisor fit` (the "calibrated" and
    "calibrated-other-framework" classes)."""
    published = {r.cluster for r in fits.dfit.residuals}
    lines = []
    for label, keep in (("the CPU validation, calibrated by `advisor calibrate`, `advisor fit` corrections where "
                         "accepted; interval without the row's model", lambda r: r.cluster not in published),
                        ("published rows whose `advisor fit` is accepted; interval without the row's source",
                         lambda r: r.cluster in published)):
        part = [(r, band) for r, band in fits.calibrated if keep(r)]
        if part:
            inside, n, width = coverage_and_width(part)
            lines.append(f"| the same on a calibrated device ({label}; not the goal's rows) "
                         f"| coverage {inside / n:.0%} ({inside} of {n}), width {width:.2f}x | |")
    if fits.dfit.rows:
        lines.append(f"| median abs error of the {len(fits.dfit.rows)} rows of those sources, model alone -> after "
                     f"`advisor fit` (leave-one-model-out; the model alone where the fit is refused) "
                     f"| {fits.dfit.before:.1%} -> {fits.dfit.after:.1%} | |")
    if fits.other:
        inside, n, width = coverage_and_width(fits.other)
        lines.append(f"| the same for a framework the fit did not measure (rows of sources with >= 2 frameworks on a "
                     f"platform, with the `*/*` correction of an accepted fit of the other frameworks; "
                     f"`{OTHER_FRAMEWORK}` interval without the row's source) | coverage {inside / n:.0%} "
                     f"({inside} of {n}), width {width:.2f}x | |")
        inside, n, width = coverage_and_width(fits.other_in_calibrated)
        lines.append(f"| those rows in the `calibrated` interval instead (built without the row's source): why a "
                     f"framework the fit did not measure gets classes of its own | coverage {inside / n:.0%} "
                     f"({inside} of {n}), width {width:.2f}x | |")
        lines.append(f"| median abs error of those {n} rows, model alone -> with that `*/*` correction "
                     f"| {_error_before(fits.ofit.fitted):.1%} -> {_error_after(fits.ofit.fitted):.1%} | |")
    return lines


def device_fit_section(fits: FitReplays) -> list[str]:
    """Per source and platform: the published rows after `advisor fit` on that platform; then per
    framework, the rows of a framework that fit did not measure."""
    dfit, ofit = fits.dfit, fits.ofit
    if not dfit.rows:
        return []
    lines = ["## Published rows after `advisor fit` on their own device (leave-one-model-out)", "",
             *textwrap.wrap(
                 f"`advisor fit` replayed on the published rows: for each source that measured at least two models on "
                 f"one platform ({len(dfit.rows)} of the rows), every row is predicted with the framework x "
                 "precision-family corrections fitted on the source's OTHER models on that platform "
                 "(advisor.measure.fitting.fit_measurements, the code `advisor fit` runs on a user's file), starting "
                 "from the model alone with the global constants chosen without the source. Where `advisor fit` "
                 "refuses the fit (its leave-one-model-out error is worse than none) the rows keep the model alone "
                 "and the uncalibrated interval. Accepted fits give the 'calibrated' classes of "
                 "configs/intervals.yaml with the CPU validation; each row's interval here is the 'calibrated' class "
                 "built without the row's source.", 100), "",
             *_fit_table(dfit, fits.calibrated, by_framework=False)]
    if ofit.rows:
        lines += ["### A framework the fit did not measure", "",
                  *textwrap.wrap(
                      f"For each source that measured at least two frameworks on one platform ({len(ofit.rows)} rows), "
                      "each framework's rows are predicted with the `*/*` correction that an `advisor fit` of the "
                      "source's OTHER frameworks stores (the only figure that reaches a framework the fit did not "
                      "see). A fit of one model cannot be scored and stores nothing, and a refused fit stores nothing, "
                      f"so those rows give no residual. The accepted ones give the '{OTHER_FRAMEWORK}' classes; each "
                      "row's interval here is that class built without the row's source.", 100), "",
                  *_fit_table(ofit, fits.other, by_framework=True)]
    return lines


def _fit_table(fit: DeviceFit, bands: Sequence[tuple[Residual, dict[str, Any]]], by_framework: bool) -> list[str]:
    """One line per (source, platform[, framework left out]): rows, fit accepted or not, error
    before and after, rows inside their held-out band."""
    inside = {id(r): band["low_ratio"] <= r.ratio <= band["high_ratio"] for r, band in bands}
    head = "| source | platform | framework left out | rows |" if by_framework else "| source | platform | models | rows |"
    lines = [head + " fit | median abs error, model alone | after `advisor fit` | in interval |",
             "|---|---|---|---:|---|---:|---:|---:|" if by_framework else "|---|---|---:|---:|---|---:|---:|---:|"]
    groups: dict[tuple[str, ...], list[DeviceFitRow]] = {}
    for row in fit.rows:
        key = (row.pred.source, row.pred.row["platform"]) + ((row.pred.row["framework"],) if by_framework else ())
        groups.setdefault(key, []).append(row)
    for key, group in groups.items():
        held = [inside[id(r.residual)] for r in group if r.residual is not None]
        third = key[2] if by_framework else str(len({model_name(r.pred.row) for r in group}))
        lines.append(f"| {key[0]} | {key[1]} | {third} | {len(group)} | {'accepted' if held else 'none stored'} "
                     f"| {_error_before(group):.0%} | {_error_after(group):.0%} "
                     f"| {f'{sum(held)} of {len(held)}' if held else '-'} |")
    return lines + [""]


def _speedup_summary(ranges: SpeedupRanges, calibrated: SpeedupRanges) -> list[str]:
    (inside, n, width), (c_inside, c_n, c_width) = ranges.scored, calibrated.scored
    return [f"| speed-up ranges `recommend` gives a precision pair (measured speed-up inside p10-p90 of its class "
            f"built without the pair's source) | coverage {inside / n:.0%} ({inside} of {n}), width {width:.2f}x | |",
            f"| the same on a calibrated device (pairs of the CPU validation, held out by model, and of accepted "
            f"`advisor fit` replays, held out by source) | coverage {c_inside / c_n:.0%} ({c_inside} of {c_n}), "
            f"width {c_width:.2f}x | |"]


def _widest_source(bands: Sequence[tuple[Residual, dict[str, Any]]]) -> str:
    """Which source's pairs weigh on the median width most, and the median over sources."""
    by_source: dict[str, list[float]] = {}
    for r, band in bands:
        by_source.setdefault(r.cluster, []).append(band["high_ratio"] / band["low_ratio"])
    most = max(by_source, key=lambda src: len(by_source[src]))
    return (f"{most} holds {len(by_source[most])} of the {len(bands)} pairs; held out, its ranges are "
            f"{_med(by_source[most]):.2f}x wide (the sources left in its class disagree). The median over "
            f"sources of each source's median width is {_med([_med(w) for w in by_source.values()]):.2f}x.")


def speedup_section(ranges: SpeedupRanges, calibrated: SpeedupRanges) -> list[str]:
    """The speed-up classes of configs/intervals.yaml and how their held-out ranges score."""
    (inside, n, width), (c_inside, c_n, c_width) = ranges.scored, calibrated.scored
    text = ("`recommend` answers \"how much faster is the narrower precision\" with a range: the predicted "
            "speed-up times the p10-p90 of measured / predicted speed-up of the same-source pairs above, "
            "classed by device class x framework x pair kind (narrow/wide precision family) with the rule "
            f"chosen as for the latency classes ({ranges.rule} on all sources). Each pair against its class "
            f"built without its source: {inside} of {n} inside ({inside / n:.0%}), median width {width:.2f}x. "
            f"{_widest_source(ranges.bands)} On a calibrated device the \"calibrated\" classes apply, from the "
            f"{c_n} pairs of the CPU validation (its calibration; the unit is the model) and of the accepted "
            f"`advisor fit` replays (the unit is the source), with what the user ends up with there "
            f"({calibrated.rule}): {c_inside} of {c_n} inside ({c_inside / c_n:.0%}), median width {c_width:.2f}x.")
    lines = ["### Speed-up ranges (configs/intervals.yaml, `speedups`)", "", *textwrap.wrap(text, 100), "",
             "| device class | framework | pair kind | pairs | sources | low | high |", "|---|---|---|---:|---:|---:|---:|"]
    for c in ranges.classes + calibrated.classes:
        lines.append(f"| {c['device_class']} | {c['framework']} | {c['precision_family']} | {c['n']} | {c['sources']} "
                     f"| {sig3(c['low_ratio'])} | {sig3(c['high_ratio'])} |")
    return [*lines, ""]


def constants_section(nested: NestedConstants | None) -> list[str]:
    """How the global constants marked "fit" were chosen without each held-out source."""
    if nested is None:
        return [""]
    combos = len(constant_combinations())
    lines = ["", "The global constants of configs/predictor.yaml marked \"fit\" are chosen the same way: for each",
             f"held-out source, all of them together over the {combos} combinations of their grids, on the OTHER",
             "sources (median abs error of their uncorrected predictions) by the one-standard-error rule: of the",
             f"combinations within one standard error of the best ({BOOTSTRAP_DRAWS} resamples of whole sources), the one",
             "nearest the values reasoned before any row was scored. No constant is held at its configured value",
             "(chosen on every source) while another is searched. The held-out rows are predicted with that choice",
             "(the \"model alone\" figure above included). docs/predictor.md, section 10, says why.", "",
             "| constant | grid | reasoned | configured | chosen on all sources | chosen per held-out source (sources) |",
             "|---|---|---:|---:|---:|---|"]
    for name, values in SEARCHED_CONSTANTS.items():
        picks: dict[float, int] = {}
        for chosen in nested.per_source.values():
            picks[chosen[name]] = picks.get(chosen[name], 0) + 1
        lines.append(f"| `{name}` | {', '.join(f'{v:g}' for v in values)} | {REASONED_CONSTANTS[name]:g} "
                     f"| {nested.configured[name]:g} "
                     f"| {nested.on_all[name]:g} | {', '.join(_picked(v, n, name, nested) for v, n in sorted(picks.items()))} |")
    return lines + [""]


def _picked(value: float, count: int, name: str, nested: NestedConstants) -> str:
    """``value (count)``, naming the held-out sources when they are few (the unusual choices)."""
    if count > 3:
        return f"{value:g} ({count})"
    names = sorted(src for src, chosen in nested.per_source.items() if chosen[name] == value)
    return f"{value:g} ({', '.join(names)})"


def intervals_yaml(classes: list[dict[str, Any]], rules: dict[str, IntervalRule], ranges: SpeedupRanges,
                   calibrated_ranges: SpeedupRanges) -> str:
    header = (
        "# Generated by `python benchmarks/accuracy.py` from leave-one-source-out residuals; do not edit by hand.\n"
        "# ratio = measured latency / predicted latency of held-out rows; low/high = its p10/p90, widened when few sources\n"
        "# back it (n counts rows, sources the sources - models on the CPU validation - they come from; between_share:\n"
        "# the share of the log-ratio variance between those sources). Rule chosen by held-out interval score: "
        + "; ".join(f"{name}: {rule}" for name, rule in rules.items()) + ".\n"
        "# Published rows (benchmarks/data/published.yaml) give the device-class entries; the CPU validation and the\n"
        "# published rows of sources with >= 2 models on a platform, each with `advisor fit` corrections fitted\n"
        "# leave-one-model-out, give the \"calibrated\" entries; the rows of a framework predicted with the `*/*`\n"
        "# correction of a fit of the source's other frameworks give the \"calibrated-other-framework\" entries.\n"
        "# speedups: measured / predicted speed-up of same-source precision pairs (n counts pairs; precision_family\n"
        f"# holds the pair's kind, narrow/wide family), by the rule chosen the same way: {ranges.rule}; the \"calibrated\"\n"
        f"# ones from the pairs of the CPU validation and of accepted `advisor fit` replays: {calibrated_ranges.rule}.\n"
    )
    body = {"default": DEFAULT_INTERVAL, "classes": classes, "speedups": ranges.classes + calibrated_ranges.classes}
    return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=200)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", type=Path, default=REPORT)
    ap.add_argument("--intervals", type=Path, default=INTERVALS)
    args = ap.parse_args(argv)

    preds, data = predict_rows()
    nested = nested_constants(preds)
    scored, residuals = cross_validate(preds, nested.preds_by_source)
    items = [(s.pred.row, s.pred.measured_ms, s.loso_ms, s.pred.predicted_ms) for s in scored]
    pairs = speedups(items, PUBLISHED_PAIR_KEYS)
    ranges = speedup_ranges(published_pair_residuals(pairs, [s.pred for s in scored]))
    vfit = validation_fit()
    vpairs = speedups(vfit.rows, ("model", "batch", "framework"))
    fits = fit_replays(nested.preds_by_source, vfit)
    calibrated_ranges = speedup_ranges(calibrated_pair_residuals(fits), "calibrated")
    calibrated, other = fits.calibrated_residuals, fits.ofit.residuals
    rules = {"published": choose_interval_rule(residuals), "calibrated": choose_interval_rule(calibrated, "calibrated"),
             OTHER_FRAMEWORK: choose_interval_rule(other, OTHER_FRAMEWORK)}
    classes = interval_classes(residuals, rule=rules["published"], with_between_share=True)
    classes += [c for c in interval_classes(calibrated, "calibrated", rules["calibrated"], with_between_share=True)
                if c["device_class"] == "calibrated"]
    classes += [c for c in interval_classes(other, OTHER_FRAMEWORK, rules[OTHER_FRAMEWORK], with_between_share=True)
                if c["device_class"] == OTHER_FRAMEWORK]
    args.intervals.write_text(intervals_yaml(classes, rules, ranges, calibrated_ranges))
    text = render(scored, pairs, fits, vpairs, data, classes, rules, nested, (ranges, calibrated_ranges))
    args.report.write_text(text)
    print(text.split("## Error per class")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
