"""Judge every allowed candidate against the gate's requirements and pick the verdict.

Two halves: ``collect`` asks the profiler and the recommender for the candidates (the only
part that touches models and the database), ``judge`` is pure arithmetic on the figures,
so the rules of the verdict are testable on hand-written numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from advisor import __version__
from advisor.errors import InputError
from advisor.gate.config import GateConfig
from advisor.gate.types import CandidateFigures, CandidateVerdict, Check, GateResult
from advisor.domain.candidates import Exclusion
from advisor.recommend.types import RecommendRequest

if TYPE_CHECKING:
    from advisor.db.store import Store
    from advisor.workload import Workload


@dataclass(frozen=True)
class Limit:
    """One requirement made concrete: the figure it reads, the bound and its direction."""

    requirement: str
    metric: str
    comparison: Literal["<=", ">="]
    limit: float
    unit: str
    #: for regression checks: the baseline figure and the tolerance in percent
    reference: float | None = None
    tolerance_pct: float | None = None


_UNITS = {
    "latency_ms": "ms",
    "latency_ms_high": "ms",
    "throughput_per_s": "/s",
    "throughput_per_s_low": "/s",
    "memory_mb": "MB",
    "params": "",
    "flops": "FLOPs",
    "output_sqnr_db": "dB",
    "top1_agreement": "",
    "ttft_ms": "ms",
    "tpot_ms": "ms",
    "output_tokens_per_s": "tok/s",
    "cost_per_million_tokens": "USD",
}

# requirement key -> (candidate figure, direction)
_BUDGETS: dict[str, tuple[str, Literal["<=", ">="]]] = {
    "max_latency_ms": ("latency_ms", "<="),
    "min_throughput": ("throughput_per_s", ">="),
    "max_memory_mb": ("memory_mb", "<="),
    "max_params": ("params", "<="),
    "max_flops": ("flops", "<="),
    "min_output_sqnr_db": ("output_sqnr_db", ">="),
    "min_top1_agreement": ("top1_agreement", ">="),
    "ttft_ms": ("ttft_ms", "<="),
    "tpot_ms": ("tpot_ms", "<="),
    "min_output_tokens_per_s": ("output_tokens_per_s", ">="),
    "max_cost_per_million_tokens": ("cost_per_million_tokens", "<="),
}

#: figure -> its pessimistic end (``use: high``)
_PESSIMISTIC = {"latency_ms": "latency_ms_high", "throughput_per_s": "throughput_per_s_low"}

# regression tolerance key -> (requirement name, candidate figure, direction of "better")
_REGRESSIONS: dict[str, tuple[str, str, Literal["<=", ">="]]] = {
    "latency_pct": ("latency_regression", "latency_ms", "<="),
    "throughput_pct": ("throughput_regression", "throughput_per_s", ">="),
    "memory_pct": ("memory_regression", "memory_mb", "<="),
    "params_pct": ("params_regression", "params", "<="),
    "flops_pct": ("flops_regression", "flops", "<="),
}


def fmt_number(value: float, unit: str = "") -> str:
    """Readable figure: 4 significant digits (whole numbers from 10,000 on), SI prefixes
    for counts (7.235 M params, 16.5 GFLOPs)."""
    if unit in ("", "FLOPs") and abs(value) >= 1e3:
        for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= scale:
                text = f"{value / scale:.4g} {prefix}"
                return f"{text}{unit}" if unit else text.rstrip()
    text = f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "/s" else f"{text} {unit}"


def limits_for(config: GateConfig, baseline: CandidateFigures | None) -> list[Limit]:
    """The requirements of a config (plus regression limits when a baseline is given), in order."""
    limits: list[Limit] = []
    for key, (metric, comparison) in _BUDGETS.items():
        bound = getattr(config.requirements, key)
        if config.use == "high":  # the pessimistic end of the interval
            metric = _PESSIMISTIC.get(metric, metric)
        if bound is not None:
            limits.append(Limit(key, metric, comparison, float(bound), _UNITS[metric]))
    if baseline is not None:
        for key, (name, metric, comparison) in _REGRESSIONS.items():
            tol = getattr(config.regression, key)
            ref = float(getattr(baseline, metric))
            bound = ref * (1 + tol / 100) if comparison == "<=" else ref * (1 - tol / 100)
            limits.append(Limit(name, metric, comparison, bound, _UNITS[metric], ref, tol))
    return limits


def check(limit: Limit, candidate: CandidateFigures) -> Check:
    """Apply one limit to one candidate, with a message that says by how much."""
    if getattr(candidate, limit.metric) is None:
        return _unmeasured(limit, candidate)
    value = float(getattr(candidate, limit.metric))
    unit = limit.unit
    if limit.comparison == "<=":
        passed = value <= limit.limit
        margin = limit.limit - value
    else:
        passed = value >= limit.limit
        margin = value - limit.limit
    margin_pct = 100 * margin / limit.limit if limit.limit else None
    v, lim, gap = fmt_number(value, unit), fmt_number(limit.limit, unit), fmt_number(abs(margin), unit)
    if limit.reference is not None:
        ref = fmt_number(limit.reference, unit)
        change = 100 * (value - limit.reference) / limit.reference if limit.reference else 0.0
        allowed = f"{'+' if limit.comparison == '<=' else '-'}{limit.tolerance_pct:g}%"
        verdict = "within" if passed else "beyond"
        message = f"{limit.metric} {v} vs baseline {ref}: {change:+.1f}%, {verdict} the {allowed} tolerance"
    elif passed:
        pct = f", {abs(margin_pct):.1f}%" if margin_pct is not None else ""
        message = f"{limit.metric} {v} {limit.comparison} {lim} ({gap} headroom{pct})"
    else:
        pct = f", {abs(margin_pct):.1f}%" if margin_pct is not None else ""
        how = "over" if limit.comparison == "<=" else "short of"
        message = f"{limit.metric} {v} misses {limit.requirement} {lim}: {gap} {how} the budget{pct}"
    return Check(
        requirement=limit.requirement, metric=limit.metric, comparison=limit.comparison,
        limit=limit.limit, value=value, passed=passed, margin=margin, margin_pct=margin_pct,
        message=message,
    )


def _shortfall(limit: Limit, candidate: CandidateFigures) -> float:
    """How far a candidate is from meeting a limit, as a ratio >= 1 (1 = met)."""
    if getattr(candidate, limit.metric) is None:
        return 1.0 if _unmeasured(limit, candidate).passed else math.inf
    value = float(getattr(candidate, limit.metric))
    if limit.comparison == "<=":
        return max(1.0, value / limit.limit) if limit.limit > 0 else (1.0 if value <= 0 else math.inf)
    return max(1.0, limit.limit / value) if value > 0 else math.inf


def judge(
    config: GateConfig,
    candidates: list[CandidateFigures],
    excluded: list[Exclusion],
    baseline: CandidateFigures | None = None,
) -> GateResult:
    """The verdict: pass when some candidate meets every limit; the first such in rank order
    is selected. When none does, the closest (fewest misses, then the smallest worst
    relative miss, then rank) is reported with every check."""
    limits = limits_for(config, baseline)
    verdicts: list[CandidateVerdict] = []
    for cand in sorted(candidates, key=lambda c: c.rank):
        failed = [lim.requirement for lim in limits if not check(lim, cand).passed]
        verdicts.append(CandidateVerdict(**cand.model_dump(), throughput_unit=cand.throughput_unit, passed=not failed,
                                         failed=failed))

    passing = [v for v in verdicts if v.passed]
    if passing:
        best_verdict = passing[0]
    elif verdicts:
        best_verdict = min(
            verdicts,
            key=lambda v: (len(v.failed), max(_shortfall(lim, v) for lim in limits), v.rank),
        )
    else:
        best_verdict = None

    best = CandidateFigures(**best_verdict.model_dump(include=set(CandidateFigures.model_fields)),
                            throughput_unit=best_verdict.throughput_unit) if best_verdict else None
    if best is not None:
        checks = [check(lim, best) for lim in limits]
    else:
        why = f"all {len(excluded)} combinations were excluded" if excluded else "the recommender returned none"
        checks = [
            Check(
                requirement=lim.requirement, metric=lim.metric, comparison=lim.comparison,
                limit=lim.limit, value=None, passed=False,
                message=f"no allowed candidate to check {lim.requirement} against: {why}",
            )
            for lim in limits
        ]
    return GateResult(
        gate=config.display_name,
        target=config.target,
        passed=bool(passing),
        selected=best if passing else None,
        best=best,
        checks=checks,
        candidates=verdicts,
        excluded=excluded,
        baseline=baseline,
        advisor_version=__version__,
        weights_named=config.weights is not None,
    )


#: figures set only by the planner (advisor.gate.serving)
_SERVING_FIGURES = frozenset({"ttft_ms", "tpot_ms", "output_tokens_per_s", "cost_per_million_tokens"})


def _unmeasured(limit: Limit, candidate: CandidateFigures) -> Check:
    """A requirement on a candidate without that figure. Serving: failed, there is no plan
    (not an LLM server, or it does not fit). Accuracy: met when its precision quantizes
    nothing, else failed with what to run."""
    if limit.metric in _SERVING_FIGURES:
        return Check(requirement=limit.requirement, metric=limit.metric, comparison=limit.comparison,
                     limit=limit.limit, value=None, passed=False,
                     message=f"{candidate.framework} {candidate.precision} has no serving plan on this target "
                             f"(not an LLM server, or it does not fit): {limit.requirement} not met")
    exact = candidate.accuracy_scheme == "exact"
    message = (f"{candidate.precision} is not quantized: {limit.requirement} met" if exact else
               f"no sensitivity report measured {candidate.precision} on these weights: run `advisor sensitivity "
               f"--schemes {candidate.precision}` to check {limit.requirement}")
    return Check(requirement=limit.requirement, metric=limit.metric, comparison=limit.comparison,
                 limit=limit.limit, value=None, passed=exact, message=message)


def with_accuracy(config: GateConfig, db: Store, figures: list[CandidateFigures], *, allow_code: bool,
                  source: str) -> list[CandidateFigures]:
    """Each candidate with the figures the stored sensitivity report on ``config.weights`` has
    for its precision (the report of its model when there is one, else any on these weights)."""
    from advisor.sensitivity.lookup import accuracy_for, stored_report

    if config.weights is None:
        return figures
    if not allow_code:
        raise _prefixed(source, "weights", InputError("weight files are not read here; run the gate from the CLI"))
    try:
        reports = {model: stored_report(db, Path(config.weights), model) for model in config.models}
    except InputError as exc:
        raise _prefixed(source, "weights", exc) from None
    out = []
    for fig in figures:
        report = reports.get(fig.model)
        accuracy = accuracy_for(report, fig.precision)
        if accuracy is not None:
            fig = fig.model_copy(update={"output_sqnr_db": accuracy.output_sqnr_db,
                                         "top1_agreement": accuracy.top1_agreement,
                                         "accuracy_risk": accuracy.risk, "accuracy_scheme": accuracy.scheme})
        out.append(fig)
    return out


def _prefixed(source: str, field: str | None, exc: InputError) -> InputError:
    where = f"{source}: {field}: " if field else f"{source}: "
    return InputError(where + str(exc))


def collect(
    config: GateConfig, db: Store, *, allow_code: bool, source: str,
    before_counting: Callable[[Workload], None] | None = None,
) -> tuple[list[CandidateFigures], list[Exclusion]]:
    """Every allowed candidate with its figures, from the profiler and the recommender.

    Names are checked first so that an unknown target or framework is reported against its
    field before any model is profiled. Each model's profile is looked up once, here, and
    handed to the recommender. ``before_counting`` (the service's work limits) runs on every
    cache miss before any model is built, so a refused config counts and caches nothing; its
    refusal is its own message, unprefixed.
    """
    from advisor.db.profile_cache import profiles_for  # a cached profile needs no torch import
    from advisor.recommend.engine import recommend

    try:
        db.get_platform(config.target)
    except InputError as exc:
        raise _prefixed(source, "target", exc) from None
    for i, fw in enumerate(config.frameworks or []):
        try:
            db.get_framework(fw)
        except InputError as exc:
            raise _prefixed(source, f"frameworks[{i}]", exc) from None

    profiles = profiles_for(
        db, [config.workload(model) for model in config.models], allow_code=allow_code,
        before_counting=before_counting, counting_error=lambda i, exc: _prefixed(source, f"models[{i}]", exc),
    )

    request = RecommendRequest.of(
        config.workload(config.models[0]), models=config.models, target=config.target,
        frameworks=config.frameworks, precisions=config.precisions,
    )
    try:
        rec = recommend(db, request, allow_code=allow_code, profiles=profiles)
    except InputError as exc:
        raise _prefixed(source, None, exc) from None

    figures = [
        CandidateFigures(
            rank=cand.rank, model=cand.model, precision=cand.precision, framework=cand.framework,
            latency_ms=cand.latency_ms, throughput_per_s=cand.throughput_per_s,
            memory_mb=cand.memory_mb, params=cand.params, flops=cand.flops, bound=cand.bound,
            warnings=list(cand.warnings), throughput_unit=cand.throughput_unit, **pessimistic_end(cand.latency_ms, cand.latency_ms_high, cand.throughput_per_s),
        )
        for cand in rec.candidates
    ]
    from advisor.gate.serving import with_serving

    figures = with_serving(config, db, figures, allow_code=allow_code, source=source)
    return with_accuracy(config, db, figures, allow_code=allow_code, source=source), list(rec.excluded)


def pessimistic_end(latency_ms: float, latency_ms_high: float, throughput_per_s: float) -> dict[str, float]:
    """The slow end of the interval and the throughput at that latency (a candidate without
    an interval keeps its point figures)."""
    high = max(latency_ms, latency_ms_high)
    low_rate = throughput_per_s * latency_ms / high if high > 0 else throughput_per_s
    return {"latency_ms_high": high, "throughput_per_s_low": low_rate}


def evaluate_gate(
    config: GateConfig,
    db: Store,
    *,
    allow_code: bool,
    source: str = "gate config",
    baseline: CandidateFigures | None = None,
    before_counting: Callable[[Workload], None] | None = None,
) -> GateResult:
    """Collect the candidates and judge them: what `advisor gate` and POST /v1/gate run.
    ``before_counting``: see `collect`."""
    candidates, excluded = collect(config, db, allow_code=allow_code, source=source, before_counting=before_counting)
    return judge(config, candidates, excluded, baseline)
