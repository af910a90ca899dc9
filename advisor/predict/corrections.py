"""Fitted latency corrections: one multiplier per framework x precision family (x workload kind).

Why: the roofline model (datasheet x framework efficiency, overheads) is only as good as its
efficiency figures, and measurements on a device tell how far off they are. A correction is
measured latency / predicted latency, fitted in log space and shrunk towards its parent
(framework, then all) so that one odd measurement cannot swing it: with ``n`` samples and
prior strength ``k`` the estimate moves ``n / (n + k)`` of the way from the parent to the
samples' mean. The same fit serves `advisor fit` (one device's measurements) and
benchmarks/fit.py (published measurements, where the key starts with the device class).

Stored keys are ``framework/family`` for whole networks and ``framework/family@decode`` (or
``@prefill``) for a language model's phases: a device's `advisor fit` keeps one set of figures per
workload kind it measured (a llama-bench file holds prefill and decode rows, which the model
prices by different parts), and a prediction takes only its own kind's (advisor.domain.workload_kinds).

The predictor applies a stored correction in exactly one place (:func:`latency_correction`,
called at the end of advisor.predict.engine.predict). No torch, no database here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from advisor.domain.specs import CalibrationSpec
from advisor.domain.workload_kinds import WorkloadKind
from advisor.precision import scheme as scheme_spec

#: Precision families (configs/intervals.yaml and the correction keys use the same names).
PRECISION_FAMILIES: tuple[str, ...] = ("float", "fp8", "int8", "weight_only", "gguf")
WILDCARD = "*"
#: Default prior strength: a group needs about this many samples to weigh as much as its parent.
DEFAULT_PRIOR = 2.0


def precision_family(scheme: str) -> str:
    """float (fp32/tf32/fp16/bf16), fp8, int8 (w8a8), weight_only (w8a16/w4a16), gguf (q4_k_m...)."""
    return scheme_spec(scheme).family


#: separates a correction key's workload kind: ``llama-cpp/gguf@decode``
KIND_SEPARATOR = "@"


def correction_key(framework_id: str, scheme_or_family: str, kind: WorkloadKind = "network") -> str:
    """The stored key of a framework x precision family correction, e.g. ``pytorch/float``, or
    ``llama-cpp/gguf@decode`` for a language model's phase."""
    family = scheme_or_family if scheme_or_family in (*PRECISION_FAMILIES, WILDCARD) else precision_family(scheme_or_family)
    return f"{framework_id}/{family}" + ("" if kind == "network" else f"{KIND_SEPARATOR}{kind}")


def parse_correction_key(key: str) -> tuple[str, str, str]:
    """(framework, precision family, workload kind) of a stored key (no suffix: a whole network)."""
    body, _, kind = key.partition(KIND_SEPARATOR)
    framework, _, family = body.partition("/")
    return framework, family, kind or "network"


@dataclass(frozen=True)
class Sample:
    """One measurement against the uncorrected prediction."""

    id: str
    measured_ms: float
    predicted_ms: float
    #: hierarchy path from coarse to fine, e.g. ("pytorch", "float") or ("cpu", "pytorch", "float")
    path: tuple[str, ...]
    #: (platform, workload kind, model) of a published row: the per-platform fit (benchmarks/fit.py)
    #: groups rows by platform and workload kind (advisor.predict.platform_corrections) and holds
    #: them out by model; empty for a device's own measurements
    platform_model: tuple[str, str, str] | tuple[()] = ()
    #: the workload kind measured: `advisor fit` keeps one set of figures per kind
    workload: WorkloadKind = "network"

    @property
    def log_ratio(self) -> float:
        return math.log(self.measured_ms / self.predicted_ms)


@dataclass(frozen=True)
class FittedFigure:
    """A fitted multiplier on predicted latency for one group, with the rows it came from."""

    path: tuple[str, ...]
    multiplier: float
    n: int
    rows: tuple[str, ...]


@dataclass
class Corrections:
    """Multipliers per hierarchy path (the empty path is the global one)."""

    figures: dict[tuple[str, ...], FittedFigure] = field(default_factory=dict)
    prior: float = DEFAULT_PRIOR
    estimator: str = "mean"

    def multiplier(self, path: Sequence[str]) -> float:
        """The finest fitted figure on ``path`` (its parent's when the group has no samples)."""
        best = 1.0
        for depth in range(len(path) + 1):
            fig = self.figures.get(tuple(path[:depth]))
            if fig is None:
                break
            best = fig.multiplier
        return best


def fit_corrections(samples: Iterable[Sample], prior: float = DEFAULT_PRIOR, estimator: str = "mean") -> Corrections:
    """Shrinkage fit of log(measured / predicted) down each sample's path (coarse to fine).

    ``estimator`` "mean" moves n / (n + prior) of the way from the parent to the mean of the
    group's log ratios; "median" uses their median (one wild row cannot pull the figure)."""
    if estimator not in ("mean", "median"):
        raise ValueError(f"estimator must be 'mean' or 'median' (got {estimator!r})")
    samples = list(samples)
    out = Corrections(prior=prior, estimator=estimator)
    depth = max((len(s.path) for s in samples), default=0)

    def fit_level(level: int, parent_log: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
        groups: dict[tuple[str, ...], list[Sample]] = {}
        for s in samples:
            if len(s.path) >= level:
                groups.setdefault(s.path[:level], []).append(s)
        logs: dict[tuple[str, ...], float] = {}
        for key, members in groups.items():
            base = parent_log.get(key[:-1], 0.0) if key else 0.0
            centre = statistics.fmean if estimator == "mean" else statistics.median
            shift = centre([m.log_ratio - base for m in members])
            value = base + shift * len(members) / (len(members) + prior)
            logs[key] = value
            out.figures[key] = FittedFigure(key, math.exp(value), len(members), tuple(m.id for m in members))
        return logs

    logs: dict[tuple[str, ...], float] = {}
    for level in range(depth + 1):
        logs = fit_level(level, logs)
    return out


def leave_one_group_out(
    samples: Sequence[Sample], group_of: Callable[[Sample], str], prior: float = DEFAULT_PRIOR, estimator: str = "mean"
) -> dict[str, float]:
    """Corrected prediction (ms) of every sample from a fit on the other groups only."""
    out: dict[str, float] = {}
    for group in sorted({group_of(s) for s in samples}):
        train = [s for s in samples if group_of(s) != group]
        fitted = fit_corrections(train, prior, estimator)
        for s in samples:
            if group_of(s) == group:
                out[s.id] = s.predicted_ms * fitted.multiplier(s.path)
    return out


def median_abs_error(samples: Sequence[Sample], predicted_ms: dict[str, float] | None = None) -> float:
    """Median |predicted / measured - 1| (uncorrected predictions when none are given)."""
    errs = [abs((predicted_ms[s.id] if predicted_ms else s.predicted_ms) / s.measured_ms - 1) for s in samples]
    return statistics.median(errs) if errs else float("nan")


def latency_correction(calibration: CalibrationSpec | None, framework_id: str, scheme: str,
                       kind: WorkloadKind = "network") -> tuple[float, str | None]:
    """(multiplier, provenance) of the stored correction for this framework, scheme and workload kind.

    Looks up ``framework/family``, then ``framework/*``, then ``*/*`` of that kind in the
    calibration's ``corrections`` (written by `advisor fit`); 1.0 and None when there is none:
    a figure fitted on another kind never applies."""
    if calibration is None or not calibration.corrections:
        return 1.0, None
    for key in (correction_key(framework_id, scheme, kind), correction_key(framework_id, WILDCARD, kind),
                correction_key(WILDCARD, WILDCARD, kind)):
        value = calibration.corrections.get(key)
        if value is not None:
            origin = (calibration.correction_sources or {}).get(key, calibration.method)
            return value, f"x {value:.3g} fitted correction {key} ({origin})"
    return 1.0, None


#: the figures a calibration record measured on the device: every field but who, when, how and the
#: fitted corrections (a corrections-only record from `advisor fit` has none of them)
MEASURED_FIELDS = frozenset(CalibrationSpec.model_fields) - {
    "platform_id", "framework_id", "measured_at", "method", "tool_version", "notes", "corrections", "correction_sources"}


def covers_kind(calibration: CalibrationSpec, kind: WorkloadKind = "network") -> bool:
    """Whether ``calibration`` says anything of this workload kind on the device: its own measured
    figures, or a correction fitted on measurements of that kind. A corrections-only record of
    other kinds leaves the prediction as it would be without it (datasheet basis, device-class range)."""
    return has_device_figures(calibration) or any(parse_correction_key(key)[2] == kind for key in calibration.corrections)


def measures_framework(calibration: CalibrationSpec, framework_id: str, kind: WorkloadKind = "network") -> bool:
    """Whether ``calibration`` carries evidence about this framework on the device: the device's
    own figures (an `advisor calibrate` record, or one for this very framework) or a correction
    fitted on this framework's measurements of this workload kind. A corrections-only record from an `advisor fit` of
    other frameworks reaches this one through its ``*/*`` figure alone, and a prediction made that
    way errs more than one the fit measured (docs/accuracy.md), so its range comes from other
    classes (advisor.predict.intervals)."""
    if calibration.framework_id == framework_id:
        return True
    return has_device_figures(calibration) or any(parse_correction_key(key)[::2] == (framework_id, kind)
                                                  for key in calibration.corrections)


def has_device_figures(calibration: CalibrationSpec | None) -> bool:
    """Whether a calibration carries figures measured on the device (an `advisor calibrate`
    record); a corrections-only record from `advisor fit` has none."""
    return calibration is not None and any(getattr(calibration, name) not in (None, {}, []) for name in MEASURED_FIELDS)
