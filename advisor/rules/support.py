"""Rules about what runs where: framework x device class, framework x precision x device."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.domain.specs import PrecisionSupport
from advisor.domain.vocab import compute_capability_tuple, is_npu
from advisor.rules.base import EXCLUDE, RuleContext, finding
from advisor.rules.settings import ModelFamilySettings, NpuRuntimeSettings, RuleSettings


def framework_device_class(ctx: RuleContext, settings: RuleSettings) -> list[Finding]:
    """The framework must run on the platform's device class.

    Fact: the framework's ``device_classes`` in hardware_db/frameworks/*.yaml, taken from its
    support matrix (e.g. TensorRT runs on NVIDIA GPUs only; ncnn and TFLite XNNPACK on CPUs).
    """
    fw, pl = ctx.framework, ctx.platform
    if pl.device_class in fw.device_classes:
        return []
    return finding(
        "framework_device_class", EXCLUDE,
        f"{fw.id} does not run on {pl.device_class} devices like {pl.id} (it runs on {', '.join(fw.device_classes)})",
    )


def unmet(entry: PrecisionSupport, ctx: RuleContext) -> str | None:
    """Why a support entry does not apply to this platform (None when it does)."""
    pl = ctx.platform
    if pl.id in entry.excluded_platforms:
        return f"{pl.id} is excluded" + (f": {entry.note}" if entry.note else "")
    if entry.min_compute_capability:
        if pl.compute_capability is None or compute_capability_tuple(pl.compute_capability) < compute_capability_tuple(entry.min_compute_capability):
            have = pl.compute_capability or "none"
            return f"needs compute capability >= {entry.min_compute_capability}, {pl.id} has {have}"
    missing = [f for f in entry.requires_features if f not in pl.features]
    if missing:
        return f"needs CPU/GPU feature {', '.join(missing)}, which {pl.id} lacks"
    return None


def precision_support(ctx: RuleContext, settings: RuleSettings) -> list[Finding]:
    """The framework must support the scheme on this device (class, compute capability,
    CPU features, excluded platforms).

    Fact: the framework's ``support`` entries in hardware_db/frameworks/*.yaml, each citing the
    vendor support matrix (e.g. TensorRT 8.2 support matrix: INT8 needs sm_61+ and not sm_62;
    the Jetson Nano (sm_53) and TX2 (sm_62) have no INT8 path).
    """
    fw, pl = ctx.framework, ctx.platform
    if pl.device_class not in fw.device_classes:
        return []  # framework_device_class says it better
    entries = [e for e in fw.support if e.precision == ctx.scheme and e.device_class == pl.device_class]
    if not entries:
        return finding(
            "precision_support", EXCLUDE,
            f"{fw.id} has no {ctx.scheme} support on {pl.device_class} devices like {pl.id}",
        )
    reasons = [unmet(e, ctx) for e in entries]
    if any(r is None for r in reasons):
        return []
    return finding(
        "precision_support", EXCLUDE,
        f"no {ctx.scheme} support in {fw.id} on {pl.id}: {reasons[0]}",
    )


def model_family(ctx: RuleContext, settings: ModelFamilySettings) -> list[Finding]:
    """LLM serving runtimes and weight-only schemes are for decoder language models only.

    Fact: vLLM, TensorRT-LLM and llama.cpp load decoder-only transformer checkpoints
    (HF/GGUF) and schedule prefill/decode steps (their docs' supported-model lists); a model
    advisor profiles without an LLM phase is not one of them. Weight-only w8a16/w4a16 kernels
    (GPTQ arXiv:2210.17323, AWQ arXiv:2306.00978, ONNX Runtime MatMulNBits, TensorRT-LLM
    weight-only GEMM) exist for the matmuls of LLM decoding. Both lists are in configs/rules.yaml.
    """
    if ctx.profile is None or ctx.profile.phase is not None:
        return []
    name = ctx.model or ctx.profile.model
    if ctx.framework.id in settings.llm_only_frameworks:
        return finding("model_family", EXCLUDE, f"{ctx.framework.id} runs decoder language models only; {name} is not one")
    if ctx.scheme in settings.llm_only_schemes:
        return finding(
            "model_family", EXCLUDE,
            f"{ctx.scheme} weight-only kernels (GPTQ/AWQ, ORT MatMulNBits, TensorRT weight-only GEMM) quantize the "
            f"linear layers of decoder LLMs; {name} is not one - use fp16 or int8",
        )
    return []


def npu_runtime(ctx: RuleContext, settings: NpuRuntimeSettings) -> list[Finding]:
    """An NPU runs only its vendor's compiler/runtime.

    Fact: the Edge TPU executes models compiled by edgetpu_compiler through libedgetpu
    (coral.ai/docs/edgetpu/compiler); Hailo devices run HEF files from the Hailo Dataflow
    Compiler through HailoRT (github.com/hailo-ai/hailort). configs/rules.yaml maps each NPU
    runtime to the platform feature that marks its hardware.
    """
    if not is_npu(ctx.platform.device_class):
        return []
    needs = settings.runtime_features.get(ctx.framework.id)
    if needs is None or needs in ctx.platform.features:
        return []
    return finding(
        "npu_runtime", EXCLUDE,
        f"{ctx.framework.id} targets '{needs}' hardware; {ctx.platform.id} is a different NPU",
    )
