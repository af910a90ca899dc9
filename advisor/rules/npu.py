"""Rule: NPUs that partition a graph once fall back to the CPU after the first unsupported op."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.profiling.types import short_op_name
from advisor.rules.base import PENALTY, RuleContext, finding
from advisor.rules.settings import NpuFallbackSettings


def _short(op: str) -> str:
    return short_op_name(op)


def npu_fallback(ctx: RuleContext, settings: NpuFallbackSettings) -> list[Finding]:
    """On an Edge TPU, the compiler maps ops to the TPU only up to the first unsupported op;
    that op and everything after it run on the host CPU.

    Fact: coral.ai/docs/edgetpu/models-intro ("the compiler ... partitions the graph ... all
    ops after the first unsupported op run on the CPU, even if the Edge TPU supports them")
    and coral.ai/docs/edgetpu/compiler. The list of ops the Edge TPU runs is in
    configs/rules.yaml (from the models-intro op table). The penalty multiplies latency by
    1 + (share of MACs on the CPU) x (CPU/TPU slowdown, configs/rules.yaml).
    """
    if ctx.framework.id not in settings.frameworks or ctx.profile is None:
        return []
    supported = set(settings.supported_ops)
    ops = [o for o in ctx.profile.ops if o.category.value != "view"]
    first = next((i for i, o in enumerate(ops) if _short(o.op) not in supported), None)
    if first is None:
        return []
    total = sum(o.macs for o in ops) or 1
    on_cpu = sum(o.macs for o in ops[first:]) / total
    slowdown = settings.cpu_slowdown
    op = ops[first]
    return finding(
        "npu_fallback", PENALTY,
        f"{ctx.platform.id} runs ops only up to the first unsupported op ({_short(op.op)} in "
        f"'{op.module_path or 'root'}'); it and the {len(ops) - first - 1} ops after it "
        f"({on_cpu:.0%} of MACs) fall back to the host CPU (coral.ai/docs/edgetpu/models-intro) - "
        "replace that op or cut the model there",
        penalty=1.0 + on_cpu * slowdown,
        op=_short(op.op), module=op.module_path, cpu_share=on_cpu,
    )
