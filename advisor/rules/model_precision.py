"""Rule: a model file that fixes its own precision runs at that precision only."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.rules.base import EXCLUDE, RuleContext, finding
from advisor.rules.settings import RuleSettings

#: precisions a float model file is stored at: a framework converts those freely
FLOAT_STORAGE = frozenset({"fp32", "tf32", "fp16", "bf16"})


def model_precision(ctx: RuleContext, settings: RuleSettings) -> list[Finding]:
    """A quantized model file (an ONNX graph in QDQ or QOperator form, a GGUF checkpoint)
    runs at the precision it is stored in; another scheme would need the float model.

    Fact: a quantized ONNX graph carries int8 (or 4-bit) weights with their scales and zero
    points, and runtimes execute the quantized operators as stored (onnxruntime.ai/docs/
    performance/model-optimizations/quantization.html, "QDQ" and "QOperator" formats); a GGUF
    file stores each tensor in its quantization type (github.com/ggml-org/ggml docs/gguf.md).
    The profile's ``native_precision`` says which (advisor/profiling/onnx_graph.py).
    """
    fixed = ctx.profile.native_precision if ctx.profile is not None else None
    if fixed is None or fixed in FLOAT_STORAGE or ctx.scheme == fixed:
        return []
    name = ctx.model or ctx.profile.model
    return finding(
        "model_precision", EXCLUDE,
        f"{name} is a quantized model file stored as {fixed}: it runs at {fixed} only, not {ctx.scheme}",
        native_precision=fixed,
    )
