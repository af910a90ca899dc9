"""predict_case: the one entry point the CLI, the service and `validate` share.

Looks the names up (each unknown name is an InputError naming the nearest valid ones),
gets the workload's profile through the store's cache, picks the newest calibration and
predicts. What the rules say about the combination is added a layer up
(advisor.rules.notes.with_rule_notes): the predictor knows nothing of the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.precision import scheme as scheme_spec
from advisor.predict.engine import predict
from advisor.predict.types import Prediction
from advisor.profiling.types import Profile

if TYPE_CHECKING:
    from advisor.db.store import Store
    from advisor.workload import Workload


@dataclass(frozen=True)
class PredictedCase:
    """A prediction with the inputs it was made from, for whoever judges it next (the rules)."""

    workload: Workload
    platform: PlatformSpec
    framework: FrameworkSpec
    scheme: str
    profile: Profile
    prediction: Prediction


def calibration_for(store: Store, platform_id: str, framework_id: str) -> CalibrationSpec | None:
    """The framework-specific calibration, else the platform-wide one (which then lends only
    its peaks and bandwidth: overheads belong to the framework that was measured)."""
    cal = store.latest_calibration(platform_id, framework_id)
    if cal is None:
        cal = store.latest_calibration(platform_id)
    if cal is not None and cal.framework_id not in (None, framework_id):
        cal = cal.model_copy(update={"per_op_overhead_us": None, "graph_kernel_us": None})
    return cal


def predict_case(
    store: Store,
    workload: Workload,
    *,
    target: str,
    precision: str,
    framework: str,
    allow_code: bool = True,
    before_counting: Callable[[Workload], None] | None = None,
) -> PredictedCase:
    """``workload`` with one precision and framework on ``target``.

    The profile is looked up once (advisor.db.profile_cache); ``allow_code`` False refuses
    files and import paths (the HTTP service), and ``before_counting`` runs on a cache miss
    only, before the model is built (the service's work limits).
    """
    from advisor.db.profile_cache import profile_for

    scheme_spec(precision)  # unknown precision -> InputError with the nearest names
    platform = store.get_platform(target)
    fw = store.get_framework(framework)
    profile = profile_for(store, workload, allow_code=allow_code, before_counting=before_counting)
    pred = predict(profile, platform, fw, precision, calibration_for(store, platform.id, fw.id),
                   kv_cache=workload.kv_cache)
    return PredictedCase(workload, platform, fw, precision, profile, pred)
