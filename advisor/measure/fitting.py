"""`advisor fit`: fit one platform's framework x precision corrections to a user's measurements.

Why: a few measured latencies on the real device say more about its frameworks than any
datasheet efficiency. Each measurement is predicted as today (datasheet or calibration,
without any stored correction), the ratio measured / predicted is fitted per framework x
precision family (advisor.predict.corrections, shrunk towards the framework's and the
platform's figure), and the result is stored as a calibration record whose
``correction_sources`` say which file, models and error each figure came from.

Each workload kind the file measured (whole networks, an LLM's prefill, its decode) gets a fit
of its own, with its own ``*/*``: llama-bench prints prefill (pp) and decode (tg) rows side by
side, and one figure for both would average a compute-bound and a memory-bound error. A
prediction takes only its own kind's figures (advisor.predict.corrections).

The error is scored leave-one-MODEL-out: every measurement is predicted from corrections
fitted on the other models only. A fit whose held-out error is worse than no fit is refused.
The structure (median of log ratios, prior strength 2) is fixed, not tuned on the user's data.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.domain.workload_kinds import workload_kind
from advisor.errors import InputError
from advisor.measure.fit_inputs import Measurement
from advisor.predict.corrections import (
    DEFAULT_PRIOR,
    WILDCARD,
    Sample,
    correction_key,
    fit_corrections,
    leave_one_group_out,
    parse_correction_key,
    precision_family,
)

if TYPE_CHECKING:
    from advisor.db.store import Store, WritableStore
    from advisor.domain.specs import CalibrationSpec

#: fixed before looking at any data: the median resists one wild measurement
ESTIMATOR = "median"
PRIOR = DEFAULT_PRIOR


def _model_of(sample: Sample) -> str:
    return sample.id.split("|", 1)[0]


def uncorrected(cal: CalibrationSpec | None) -> CalibrationSpec | None:
    """The calibration without stored corrections (a fit starts from the plain prediction)."""
    if cal is None or not cal.corrections:
        return cal
    return cal.model_copy(update={"corrections": {}, "correction_sources": {}})


def predict_samples(store: Store, target: str, measurements: Sequence[Measurement]) -> list[Sample]:
    """Each measurement against today's prediction on ``target`` (no stored correction)."""
    from advisor.db.profile_cache import profile_for
    from advisor.precision import scheme as scheme_spec
    from advisor.predict.api import calibration_for
    from advisor.predict.engine import predict
    from advisor.workload import Workload

    platform = store.get_platform(target)
    samples = []
    for i, m in enumerate(measurements):
        try:
            scheme_spec(m.precision)
            fw = store.get_framework(m.framework)
            workload = Workload(model=m.model, batch=m.batch, phase=m.phase, seq_len=m.seq_len, context=m.context)
            profile = profile_for(store, workload, allow_code=False)
        except InputError as exc:
            raise InputError(f"{m.origin}: {exc}") from None
        cal = uncorrected(calibration_for(store, platform.id, fw.id))
        pred = predict(profile, platform, fw, m.precision, cal, with_layers=False)
        samples.append(Sample(f"{m.model}|{i}", m.latency_ms, pred.latency_ms, (m.framework, precision_family(m.precision)),
                              workload=workload_kind(m.phase)))
    return samples


def _by_kind(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    kinds: dict[str, list[Sample]] = {}
    for s in samples:
        kinds.setdefault(s.workload, []).append(s)
    return kinds


def leave_one_model_out(samples: Sequence[Sample]) -> dict[str, float]:
    """Corrected prediction of every sample from corrections fitted on the other models'
    measurements of the same workload kind."""
    return {sid: ms for group in _by_kind(samples).values()
            for sid, ms in leave_one_group_out(group, _model_of, PRIOR, ESTIMATOR).items()}


def _median_error(samples: Sequence[Sample], predicted: dict[str, float] | None = None) -> float:
    return statistics.median(abs((predicted[s.id] if predicted else s.predicted_ms) / s.measured_ms - 1) for s in samples)


@dataclass
class FitResult:
    """Corrections fitted on all measurements and their leave-one-model-out scores."""

    samples: list[Sample]
    held_out_ms: dict[str, float]
    corrections: dict[str, float]
    sources: dict[str, str]
    before: float  # median |error| without corrections
    after: float  # median |error| with corrections fitted on the other models
    #: workload kinds measured on one model only: no figure is stored for them (none could be scored)
    unscored_kinds: list[str] = field(default_factory=list)

    @property
    def improves(self) -> bool:
        return self.after < self.before


def fit_measurements(samples: list[Sample], origin: str) -> FitResult:
    """Fit corrections on every sample and score them leave-one-model-out."""
    models = sorted({_model_of(s) for s in samples})
    if len(models) < 2:
        raise InputError(f"{origin}: measurements of at least 2 models are needed to score a fit "
                         f"(leave one model out); got {', '.join(models) or 'none'}")
    held = leave_one_model_out(samples)
    before, after = _median_error(samples), _median_error(samples, held)
    corrections: dict[str, float] = {}
    sources: dict[str, str] = {}
    unscored: list[str] = []
    for kind, group in sorted(_by_kind(samples).items()):
        if len({_model_of(s) for s in group}) < 2:
            unscored.append(kind)  # its held-out predictions stay uncorrected, and so do future ones
            continue
        for path, fig in fit_corrections(group, PRIOR, ESTIMATOR).figures.items():
            framework, family = (*path, WILDCARD, WILDCARD)[:2]
            key = correction_key(framework, family, kind)  # type: ignore[arg-type]
            corrections[key] = round(fig.multiplier, 4)
            used = sorted({_model_of(s) for s in group if s.id in fig.rows})
            sources[key] = (f"advisor fit {origin}: {fig.n} measurements of {', '.join(used)}; leave-one-model-out "
                            f"median |error| {before:.1%} -> {after:.1%}")
    return FitResult(samples, held, corrections, sources, before, after, unscored)


def fit_records(store: Store, target: str, result: FitResult, origin: str) -> list[CalibrationSpec]:
    """Copies of the calibration records predictions use now, with the corrections added;
    a corrections-only record when the platform has none (peaks stay the datasheet's)."""
    from advisor import __version__
    from advisor.domain.specs import CalibrationSpec

    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    base = store.latest_calibration(target)
    # a fit replaces the figures of the workload kinds it fitted and keeps the others' (decode
    # measured today does not erase the whole-network figures of an earlier fit)
    measured = {parse_correction_key(key)[2] for key in result.corrections}
    kept = {key: value for key, value in (base.corrections if base is not None else {}).items()
            if parse_correction_key(key)[2] not in measured}
    kept_sources = {key: note for key, note in (base.correction_sources if base is not None else {}).items() if key in kept}
    update = {"corrections": kept | result.corrections, "correction_sources": kept_sources | result.sources,
              "measured_at": now}
    records = []
    platform_wide = base if base is not None and base.framework_id is None else None
    if platform_wide is not None:
        records.append(platform_wide.model_copy(update=update | {"method": f"{platform_wide.method}; + advisor fit {origin}"}))
    else:
        records.append(CalibrationSpec(platform_id=target, measured_at=now, method=f"advisor fit {origin}",
                                       tool_version=__version__, corrections=update["corrections"],
                                       correction_sources=update["correction_sources"]))
    for fw in store.list_frameworks():
        cal = store.latest_calibration(target, fw.id)
        if cal is not None and cal.framework_id == fw.id:
            records.append(cal.model_copy(update=update | {"method": f"{cal.method}; + advisor fit {origin}"}))
    return [CalibrationSpec.model_validate(r.model_dump()) for r in records]


def run_fit(store: WritableStore, target: str, measurements: Sequence[Measurement], origin: str) -> FitResult:
    """Fit, refuse a fit worse than none (InputError, nothing stored), else store it."""
    samples = predict_samples(store, target, measurements)
    result = fit_measurements(samples, origin)
    if not result.improves:
        raise InputError(f"{origin}: the fit is no better than no fit (leave-one-model-out median |error| "
                         f"{result.before:.1%} without, {result.after:.1%} with); nothing stored")
    store.record_calibration(None, fit_records(store, target, result, origin))
    return result


# --------------------------------------------------------------------------- the CPU validation data
def validation_samples(path: Path, calibrated: bool = True) -> tuple[list[Sample], list[dict[str, Any]]]:
    """The measurements of a validation data file (benchmarks/validation.py) against predictions
    with its stored calibration (``calibrated`` False: from the device's datasheet figures alone,
    as on a device nobody has run `advisor calibrate` on), in a throw-away database: (samples,
    measurement rows)."""
    from advisor.db import Database
    from advisor.domain.specs import CalibrationSpec, PlatformSpec
    from advisor.measure.fit_inputs import measurements_from_json

    payload = json.loads(path.read_text())
    measurements = measurements_from_json(payload["measurements"], path)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/fit.db")
        try:
            cal = payload["calibration"]
            db.upsert_platform(PlatformSpec.model_validate(cal["platform"]))
            for rec in cal["records"] if calibrated else []:
                db.add_calibration(CalibrationSpec.model_validate(rec))
            samples = predict_samples(db, cal["platform"]["id"], measurements)
        finally:
            db.close()
    return samples, payload["measurements"]
