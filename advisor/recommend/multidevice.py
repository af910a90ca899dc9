"""A model that does not fit one device, offered split over the fewest devices that hold it.

Why: "does not fit: needs 138.6 GB" is not an answer to "can I run llama-70b fp16 on H100s";
two of them can. When the only thing that excludes a candidate is the memory rule, and the
platform links devices (its ``interconnect``, hardware_db/platforms) and the framework splits
models with tensor parallelism (its ``serving.tensor_parallel`` trait, hardware_db/frameworks),
the candidate is re-predicted as one rank of 2, 4, then 8 (up to the devices the interconnect
links, the attention heads and ``--devices``) with the all-reduces added
(advisor.predict.parallel: the same arithmetic `advisor plan` uses), and offered at the first
degree the memory rule accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.domain.findings import WARNING, Finding, excluded
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.predict.engine import predict
from advisor.predict.kernels import fuse
from advisor.predict.parallel import attention_heads, shard_profile, tensor_parallel_degrees, with_collectives
from advisor.predict.types import Prediction
from advisor.profiling.types import Profile
from advisor.rules.base import RuleContext
from advisor.rules.registry import evaluate

#: the rule whose exclusion a split over devices can lift
MEMORY_RULE = "memory_fit"


@dataclass(frozen=True)
class Split:
    """The prediction of one rank of a ``devices``-way tensor-parallel group, and its findings
    (still excluding when even the largest split tried does not fit: the memory finding then
    says so, with what one device of it would need)."""

    devices: int
    prediction: Prediction
    findings: list[Finding]


def only_memory_excludes(findings: list[Finding]) -> bool:
    excluding = [f for f in findings if f.excludes]
    return bool(excluding) and all(f.rule == MEMORY_RULE and f.source == "rule" for f in excluding)


def split_over_devices(
    *,
    profile: Profile,
    platform: PlatformSpec,
    framework: FrameworkSpec,
    scheme: str,
    calibration: CalibrationSpec | None,
    kv_cache: str | None,
    model: str,
    findings_before_prediction: list[Finding],
    findings: list[Finding],
    max_devices: int | None,
    rules: object,
) -> Split | None:
    """The smallest tensor-parallel split of a candidate that only the memory rule excluded; the
    largest split tried, still excluded, when none fits; None when another rule excluded it or
    the platform or the framework does not split models. ``rules`` is configs/rules.yaml as
    loaded."""
    if not only_memory_excludes(findings):
        return None
    traits = framework.serving
    link = platform.interconnect
    if traits is None or not traits.tensor_parallel or link is None:
        return None
    heads = attention_heads(profile)
    if heads is None:
        return None
    last: Split | None = None
    for ranks in tensor_parallel_degrees(link, heads, max_devices):
        sharded = shard_profile(profile, heads, ranks)
        rank = predict(sharded.profile, platform, framework, scheme, calibration,
                       kernels=fuse(sharded.profile.ops, framework.fusion, scheme), with_layers=False,
                       kv_cache=kv_cache)
        comm_s = sharded.comm_s(link, scheme)
        rank = with_collectives(rank, comm_s, ranks)
        ctx = RuleContext(platform, framework, scheme, model, profile=profile, prediction=rank)
        after = findings_before_prediction + evaluate(ctx, rules, stage="prediction")
        if excluded(after):
            last = Split(devices=ranks, prediction=rank, findings=_still_too_big(findings, ranks, platform.id, rank))
            continue
        note = Finding(
            rule="tensor_parallel", action=WARNING,
            message=(f"needs {ranks} devices: split over {ranks} x {platform.id} with tensor parallel over "
                     f"{link.generation or link.kind}; memory is per device, latency includes "
                     f"{comm_s * 1e3:.3g} ms of all-reduce per step"),
            details={"devices": ranks, "comm_ms": comm_s * 1e3},
        )
        return Split(devices=ranks, prediction=rank, findings=after + [note])
    return last


def _still_too_big(findings: list[Finding], ranks: int, target: str, rank: Prediction) -> list[Finding]:
    """The single-device findings, the memory exclusion saying that the split did not help."""
    return [f.model_copy(update={"message": f"{f.message}; split over {ranks} x {target} with tensor parallel it "
                                            f"still needs {rank.memory_mb / 1e3:.1f} GB per device"})
            if f.excludes and f.rule == MEMORY_RULE else f for f in findings]
