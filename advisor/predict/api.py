"""predict_model: the one entry point the CLI, the gate, the service and `validate` share.

Looks the names up (each unknown name is an InputError naming the nearest valid ones),
gets the profile through the database cache, picks the newest calibration, predicts, and
attaches what the rules say about the combination.
"""

from __future__ import annotations

from typing import Any

from advisor.domain.specs import CalibrationSpec
from advisor.precision import scheme as scheme_spec
from advisor.predict.engine import predict
from advisor.predict.types import Prediction
from advisor.profiling.types import Profile


def calibration_for(db: Any, platform_id: str, framework_id: str) -> CalibrationSpec | None:
    """The framework-specific calibration, else the platform-wide one (which then lends only
    its peaks and bandwidth: overheads belong to the framework that was measured)."""
    cal = db.latest_calibration(platform_id, framework_id)
    if cal is None:
        cal = db.latest_calibration(platform_id)
    if cal is not None and cal.framework_id not in (None, framework_id):
        cal = cal.model_copy(update={"per_op_overhead_us": None, "graph_kernel_us": None})
    return cal


def load_profile(
    db: Any,
    model: str,
    *,
    input_shape: str | list[int] | None = None,
    batch: int | None = None,
    phase: str | None = None,
    seq_len: int | None = None,
    context: int | None = None,
    allow_code: bool = True,
) -> Profile:
    """The profile from the database cache when it is there (no torch import at all), else
    counted by advisor.profiling.api.get_profile, which caches zoo models."""
    from advisor.profiling.api import cache_key, get_profile

    if db is not None:
        cached = db.get_cached_profile(cache_key(model, input_shape, batch, phase, seq_len, context))
        if cached is not None:
            return Profile.model_validate_json(cached)
    return get_profile(
        model, input_shape=input_shape, batch=batch, phase=phase, seq_len=seq_len,
        context=context, db=db, allow_code=allow_code,
    )


def predict_model(
    db: Any,
    *,
    model: str,
    target: str,
    precision: str,
    framework: str,
    batch: int | None = None,
    input_shape: str | list[int] | None = None,
    phase: str | None = None,
    seq_len: int | None = None,
    context: int | None = None,
    allow_code: bool = True,
) -> Prediction:
    from advisor.rules.base import RuleContext
    from advisor.rules.registry import evaluate

    scheme_spec(precision)  # unknown precision -> InputError with the nearest names
    platform = db.get_platform(target)
    fw = db.get_framework(framework)
    profile = load_profile(
        db, model, input_shape=input_shape, batch=batch, phase=phase, seq_len=seq_len,
        context=context, allow_code=allow_code,
    )
    pred = predict(profile, platform, fw, precision, calibration_for(db, platform.id, fw.id))
    ctx = RuleContext(platform=platform, framework=fw, scheme=precision, model=model, profile=profile, prediction=pred)
    notes = [f"{f.action}: {f.reason} [{f.rule}]" for f in evaluate(ctx)]
    return pred.model_copy(update={"warnings": notes + pred.warnings})
