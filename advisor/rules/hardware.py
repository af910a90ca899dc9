"""Rules about what the silicon can compute fast, whatever the framework claims."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.domain.vocab import compute_capability_tuple, is_cpu, is_gpu
from advisor.precision import scheme as scheme_spec
from advisor.rules.base import EXCLUDE, PENALTY, RuleContext, finding
from advisor.rules.settings import HardwarePrecisionSettings


def _has_peak(ctx: RuleContext, precision: str) -> bool:
    pl = ctx.platform
    return precision in pl.matrix_peaks or precision in pl.vector_peaks or precision in getattr(pl, "npu_peaks", {})


def _cc(ctx: RuleContext) -> tuple[int, int] | None:
    cc = ctx.platform.compute_capability
    return compute_capability_tuple(cc) if cc else None


def hardware_precision(ctx: RuleContext, settings: HardwarePrecisionSettings) -> list[Finding]:
    """The device must have arithmetic for the scheme's compute precision.

    Facts (shared/reference/hardware-facts.yaml, vendor whitepapers):
    - int8: Jetson Nano (sm_53) has no DP4A/int8 units, Jetson TX2 (sm_62) has no int8 in
      TensorRT (MathWorks GPU Coder / TensorRT support matrix); such platforms list no int8 peak.
    - fp8: tensor cores with fp8 arrive with Ada (sm_89) and Hopper (sm_90).
    - bf16 and tf32: tensor cores with bf16/tf32 arrive with Ampere (sm_80).
    - fp16 on CPUs without fp16 arithmetic (Armv8.0 such as Cortex-A72, x86 without
      AVX512-FP16/AMX-FP16): fp16 is storage only and computes at the fp32 rate, so there is
      no speed-up beyond the halved memory traffic.
    """
    pl, s = ctx.platform, scheme_spec(ctx.scheme)
    cc = _cc(ctx)
    compute = s.compute
    rule = "hardware_precision"
    if compute == "int8" and not _has_peak(ctx, "int8"):
        return finding(rule, EXCLUDE, f"{pl.id} has no int8 support (no int8 dot-product or tensor-core units); use fp16")
    if compute == "fp8" and (not _has_peak(ctx, "fp8") or (cc is not None and cc < (8, 9))):
        return finding(rule, EXCLUDE, f"{pl.id} has no fp8 arithmetic: fp8 tensor cores need Ada/Hopper (sm_89+)" + (f", {pl.id} is sm_{cc[0]}{cc[1]}" if cc else ""))
    if compute in ("bf16", "tf32") and is_gpu(pl.device_class) and (cc is None or cc < (8, 0)):
        return finding(rule, EXCLUDE, f"{pl.id} has no {compute} tensor cores: {compute} needs Ampere (sm_80) or newer" + (f", {pl.id} is sm_{cc[0]}{cc[1]}" if cc else ""))
    if compute == "tf32" and not is_gpu(pl.device_class):
        return finding(rule, EXCLUDE, f"tf32 is an NVIDIA tensor-core mode; {pl.id} is a {pl.device_class}")
    if compute == "bf16" and not _has_peak(ctx, "bf16"):
        return finding(rule, EXCLUDE, f"{pl.id} has no bf16 arithmetic")
    if compute == "fp16" and is_cpu(pl.device_class) and not any(
        f in pl.features for f in settings.fp16_features
    ):
        action = settings.cpu_fp16_without_arith
        return finding(
            rule, action,
            f"{pl.id} has no fp16 arithmetic: {ctx.scheme} computes at the fp32 rate (only memory traffic halves)",
            penalty=settings.penalty if action == PENALTY else 1.0,
        )
    return []
