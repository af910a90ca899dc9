"""Rank every model x scheme x framework for a target under constraints.

Order of work, cheapest first: names are checked (unknown ones are InputErrors naming the
nearest), support rules drop what cannot run at all, profile rules drop what cannot run this
model, the survivors are predicted, the memory rule and the user's constraints drop what does
not fit, and penalties multiply the predicted latency. The rest is sorted fastest first.
A candidate that only the memory rule excluded is offered split over the fewest
tensor-parallel devices that hold it, where the platform and framework allow
(advisor.recommend.multidevice).
Nothing here imports torch: a profile already in the database cache needs none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from advisor.db.profile_cache import profile_for
from advisor.display import throughput_unit
from advisor.domain.candidates import Candidate, Exclusion
from advisor.domain.findings import EXCLUDE, Finding, excluded, penalty_factor
from advisor.domain.workload_kinds import workload_kind
from advisor.errors import unknown_name
from advisor.precision import GGUF_SCHEMES, SCHEMES
from advisor.predict.api import calibration_for
from advisor.predict.corrections import covers_kind
from advisor.predict.engine import predict
from advisor.predict.intervals import interval_table
from advisor.predict.kernels import fuse, fusion_key
from advisor.predict.platform_corrections import PlatformFit, platform_correction_table
from advisor.predict.types import Prediction
from advisor.recommend.multidevice import split_over_devices
from advisor.recommend.speedup import precision_speedup
from advisor.recommend.types import Recommendation, RecommendRequest
from advisor.rules.base import RuleContext
from advisor.rules.registry import evaluate, rules_config

if TYPE_CHECKING:
    from advisor.db.store import Store
    from advisor.domain.specs import FrameworkSpec
    from advisor.profiling.types import Profile
    from advisor.workload import Workload


def _frameworks(db: Store, wanted: list[str] | None) -> list[FrameworkSpec]:
    if not wanted:
        return sorted(db.list_frameworks(), key=lambda f: f.id)
    return [db.get_framework(name.strip()) for name in wanted if name.strip()]


def _schemes(wanted: list[str] | None) -> list[str]:
    if not wanted:
        return list(SCHEMES)  # file-format schemes (GGUF) are kept only where a framework lists them
    out = []
    for name in (w.strip() for w in wanted):
        if name not in SCHEMES:
            raise unknown_name("precision", name, SCHEMES)
        out.append(name)
    return out


def constraint_violations(
    pred: Prediction, latency_ms: float, throughput: float, req: RecommendRequest
) -> list[Finding]:
    """Why a runnable candidate misses the user's budget, one finding per constraint."""
    out = []
    if req.max_latency_ms is not None and latency_ms > req.max_latency_ms:
        out.append(_missed("max_latency_ms", f"predicted latency {latency_ms:.3g} ms > --max-latency-ms "
                           f"{req.max_latency_ms:g}", latency_ms, req.max_latency_ms))
    if req.min_throughput is not None and throughput < req.min_throughput:
        out.append(_missed("min_throughput", f"predicted throughput {throughput:.4g}/s < --min-throughput "
                           f"{req.min_throughput:g}", throughput, req.min_throughput))
    if req.max_memory_mb is not None and pred.memory_mb > req.max_memory_mb:
        out.append(_missed("max_memory_mb", f"predicted memory {pred.memory_mb:.4g} MB > --max-memory-mb "
                           f"{req.max_memory_mb:g}", pred.memory_mb, req.max_memory_mb))
    return out


def _missed(constraint: str, message: str, value: float, limit: float) -> Finding:
    return Finding(rule=constraint, action=EXCLUDE, message=message, source="constraint",
                   details={"value": value, "limit": limit})


def mark_within_error(candidates: list[Candidate]) -> list[Candidate]:
    """Flag the candidates whose latency range overlaps the best one's (rank 1 included):
    the predictor cannot tell them apart from the best."""
    if not candidates:
        return candidates
    best = candidates[0]
    return [c.model_copy(update={"within_error_of_best": c.latency_ms_low <= best.latency_ms_high
                                 and best.latency_ms_low <= c.latency_ms_high}) for c in candidates]


def recommend(
    db: Store,
    request: RecommendRequest,
    allow_code: bool = True,
    *,
    profiles: Mapping[Workload, Profile] | None = None,
) -> Recommendation:
    """Rank the request's candidates; each model's profile is looked up once.

    ``profiles`` holds workloads the caller has looked up already (the service checks its work
    limits on every model before any is counted; the gate reports a bad model against its
    field), so their cache is not read again.
    """
    platform = db.get_platform(request.target)
    frameworks = _frameworks(db, request.frameworks)
    schemes = _schemes(request.precisions)
    config = rules_config()
    if not request.precisions:
        frameworks_of = {s: {fw.id for fw in frameworks if any(e.precision == s for e in fw.support)} for s in GGUF_SCHEMES}
    else:
        frameworks_of = {}

    ranked: list[tuple[float, Candidate]] = []
    dropped: list[Exclusion] = []
    calibrated: set[str] = set()  # frameworks whose predictions rest on a calibration of the platform
    published: PlatformFit | None = None  # the platform's published correction, when a prediction carries it
    for model in request.models:
        pairs = [(fw, s) for fw in frameworks for s in schemes if s not in frameworks_of or fw.id in frameworks_of[s]]
        support = {(fw.id, s): evaluate(RuleContext(platform, fw, s, model), config, stage="support") for fw, s in pairs}
        runnable = [(fw, s) for fw, s in pairs if not excluded(support[(fw.id, s)])]
        for fw, s in pairs:
            if excluded(support[(fw.id, s)]):
                dropped.append(Exclusion(model=model, precision=s, framework=fw.id, findings=support[(fw.id, s)]))
        if not runnable:
            continue
        workload = request.workload(model)
        profile = profiles.get(workload) if profiles else None
        if profile is None:
            profile = profile_for(db, workload, allow_code=allow_code)
        calibrations = {fw.id: calibration_for(db, platform.id, fw.id) for fw, _ in runnable}
        kind = workload_kind(workload.phase)
        calibrated |= {fw_id for fw_id, cal in calibrations.items() if cal is not None and covers_kind(cal, kind)}
        fused: dict[tuple, list] = {}  # same fusion traits -> same kernels
        for fw, s in runnable:
            ctx = RuleContext(platform, fw, s, model, profile=profile)
            findings = support[(fw.id, s)] + evaluate(ctx, config, stage="profile")
            if excluded(findings):
                dropped.append(Exclusion(model=model, precision=s, framework=fw.id, findings=findings))
                continue
            traits = fusion_key(fw.fusion, s)
            if traits not in fused:
                fused[traits] = fuse(profile.ops, fw.fusion, s)
            pred = predict(profile, platform, fw, s, calibrations[fw.id], kernels=fused[traits], with_layers=False,
                           kv_cache=request.kv_cache)
            if "published_correction" in pred.provenance:
                published = platform_correction_table().find(platform.id, kind)
            ctx = RuleContext(platform, fw, s, model, profile=profile, prediction=pred)
            before_prediction = findings
            findings = findings + evaluate(ctx, config, stage="prediction")
            devices = 1
            if excluded(findings) and (split := split_over_devices(
                profile=profile, platform=platform, framework=fw, scheme=s, calibration=calibrations[fw.id],
                kv_cache=request.kv_cache, model=model, findings_before_prediction=before_prediction,
                findings=findings, max_devices=request.devices, rules=config,
            )) is not None:  # does not fit one device: the fewest tensor-parallel devices that hold it
                devices, pred, findings = split.devices, split.prediction, split.findings
            if excluded(findings):
                dropped.append(Exclusion(model=model, precision=s, framework=fw.id, findings=findings))
                continue
            factor = penalty_factor(findings)
            latency = pred.latency_ms * factor
            throughput = pred.throughput_per_s / factor
            missed = constraint_violations(pred, latency, throughput, request)
            if missed:
                dropped.append(Exclusion(model=model, precision=s, framework=fw.id, findings=findings + missed))
                continue
            notes = [f.message for f in findings if not f.excludes] + pred.warnings
            ranked.append((latency, Candidate(
                rank=0, model=model, precision=s, framework=fw.id, latency_ms=latency,
                latency_ms_low=pred.latency_ms_low * factor, latency_ms_high=pred.latency_ms_high * factor,
                uncertainty=pred.uncertainty,
                throughput_per_s=throughput, bound=pred.bound, memory_mb=pred.memory_mb,
                warnings=notes, rules=findings, params=profile.params, flops=profile.flops,
                phase=profile.phase, uncounted_ops=sorted(u.op for u in profile.unsupported_ops),
                throughput_unit=throughput_unit(profile.phase, profile.input_shape),
                input_shape=list(profile.input_shape), devices=devices, tensor_parallel=devices,
            )))

    ranked.sort(key=lambda item: (item[0], item[1].model, item[1].framework, item[1].precision))
    candidates = mark_within_error([c.model_copy(update={"rank": i + 1}) for i, (_, c) in enumerate(ranked)])
    speedup = precision_speedup(candidates, interval_table(), platform.device_class, calibrated)
    if request.top is not None:
        candidates = candidates[: request.top]
    return Recommendation(target=platform.id, candidates=candidates, excluded=dropped, speedup=speedup,
                          published_correction=published,
                          published_elsewhere=[] if published is not None or calibrated
                          else platform_correction_table().for_platform(platform.id))
