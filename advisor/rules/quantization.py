"""Rules about what quantization costs in effort and accuracy (warnings, never exclusions)."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.precision import scheme as scheme_spec
from advisor.profiling.types import short_op_name
from advisor.rules.base import WARNING, RuleContext, finding
from advisor.rules.settings import DepthwiseInt8Settings, Int8CalibrationSettings, LowBitSmallModelSettings


def int8_calibration(ctx: RuleContext, settings: Int8CalibrationSettings) -> list[Finding]:
    """Static int8 (w8a8) needs representative calibration data for activation scales.

    Fact: ``int8_calibration`` of the framework in hardware_db/frameworks (e.g. TensorRT
    IInt8EntropyCalibrator2 or explicit Q/DQ; TFLite representative_dataset; ncnn2table;
    NNCF quantize with ~300 samples): see shared/reference/frameworks-facts.yaml.
    """
    if ctx.scheme not in settings.schemes:
        return []
    if ctx.framework.int8_calibration != "required":
        return []
    if ctx.profile is not None and ctx.profile.native_precision == ctx.scheme:
        return []  # a model file already quantized at this scheme carries its scales
    samples = settings.suggested_samples
    return finding(
        "int8_calibration", WARNING,
        f"static {ctx.scheme} in {ctx.framework.id} needs calibration data: {samples} representative inputs "
        f"to set activation scales (or a QAT / pre-quantized model)",
    )


def depthwise_share(ctx: RuleContext) -> float:
    """Fraction of convolution layers that are depthwise."""
    convs = [o for o in (ctx.profile.ops if ctx.profile else []) if "conv" in short_op_name(o.op)]
    if not convs:
        return 0.0
    return sum(o.depthwise for o in convs) / len(convs)


def depthwise_int8(ctx: RuleContext, settings: DepthwiseInt8Settings) -> list[Finding]:
    """Per-tensor int8 on depthwise-heavy models loses accuracy; use per-channel scales.

    Fact: Krishnamoorthi 2018, "Quantizing deep convolutional networks for efficient
    inference: A whitepaper", arXiv:1806.08342, Table 2: post-training per-layer (per-tensor)
    8-bit weights collapse MobileNet-v1/v2 top-1 accuracy (depthwise filters with batch norm
    folded have per-channel ranges that differ by orders of magnitude), while per-channel
    scales stay within about 2% of float.
    """
    if ctx.scheme != "int8" or ctx.profile is None:
        return []
    share = depthwise_share(ctx)
    if share < settings.min_depthwise_share:
        return []
    return finding(
        "depthwise_int8", WARNING,
        f"accuracy risk: {share:.0%} of {ctx.model or ctx.profile.model}'s convolutions are depthwise; "
        "per-tensor int8 scales can collapse accuracy on such models (Krishnamoorthi 2018, arXiv:1806.08342) - "
        "use per-channel weight scales and check accuracy on a validation set",
        depthwise_share=share,
    )


def low_bit_small_model(ctx: RuleContext, settings: LowBitSmallModelSettings) -> list[Finding]:
    """4-bit weights cost more accuracy on small models than on large ones.

    Fact: Dettmers & Zettlemoyer 2023, "The case for 4-bit precision: k-bit inference scaling
    laws", arXiv:2212.09720 (4-bit is the sweet spot for large LLMs, smaller models lose
    more); Frantar et al. 2022, GPTQ, arXiv:2210.17323 (relative perplexity loss of 3/4-bit
    grows as models get smaller). CNN classifiers and detectors of a few million parameters
    need quantization-aware training at 4 bits.
    """
    s = scheme_spec(ctx.scheme)
    if s.weight not in ("int4",) or ctx.profile is None:
        return []
    limit = settings.min_params
    params = ctx.profile.params
    if params >= limit:
        return []
    return finding(
        "low_bit_small_model", WARNING,
        f"accuracy risk: 4-bit weights on a {params / 1e6:.1f} M-parameter model; small models lose more accuracy "
        "at 4 bits (Dettmers & Zettlemoyer 2023, arXiv:2212.09720; GPTQ arXiv:2210.17323) - validate accuracy or use 8-bit",
        params=params,
    )
