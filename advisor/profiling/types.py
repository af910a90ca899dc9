"""The Profile: what the counter produces and every later stage consumes.

Precision-free by design: each op stores element counts per tensor role, so bytes at any
scheme are derived here without tracing again. No torch import (the service and the
predictor read cached profiles without it).
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from advisor.precision import storage as scheme_spec


class Category(str, Enum):
    """What kind of kernel an op becomes; the predictor fuses and bounds by category."""

    matmul = "matmul"  # conv, linear, matmul/bmm, attention: MACs counted here only
    elementwise = "elementwise"  # add, mul, activations: 1 FLOP per output element per operation
    norm_reduction = "norm_reduction"  # batch/layer/rms norm, softmax, mean, sum
    data_movement = "data_movement"  # cat, copy, pad, upsample, gather, index
    view = "view"  # reshape, permute, slice: free, no bytes


#: ONNX operator types named by their aten equivalents, so that rules and fusion keyed on op
#: names (softmax, cat, convolution...) treat an ONNX graph's nodes like the torch ops
ONNX_AS_ATEN: dict[str, str] = {
    "Conv": "convolution", "ConvTranspose": "convolution", "QLinearConv": "convolution", "ConvInteger": "convolution",
    "Gemm": "addmm", "QGemm": "addmm", "MatMul": "matmul", "QLinearMatMul": "matmul", "MatMulInteger": "matmul",
    "Softmax": "softmax", "LogSoftmax": "log_softmax", "Concat": "cat", "QLinearConcat": "cat",
    "Sigmoid": "sigmoid", "QLinearSigmoid": "sigmoid", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
    "Relu": "relu", "LeakyRelu": "leaky_relu", "Add": "add", "QLinearAdd": "add", "Sub": "sub", "Mul": "mul",
    "QLinearMul": "mul", "Div": "div", "Tanh": "tanh", "Gelu": "gelu", "Clip": "clamp", "MaxPool": "max_pool2d",
    "AveragePool": "avg_pool2d", "GlobalAveragePool": "adaptive_avg_pool2d", "ReduceMean": "mean",
    "Resize": "upsample_nearest2d", "Pad": "constant_pad_nd", "Slice": "slice", "Split": "split", "Reshape": "view",
    "Transpose": "permute", "Squeeze": "squeeze", "Unsqueeze": "unsqueeze", "Flatten": "flatten",
    "Expand": "expand", "Identity": "clone", "Dropout": "dropout", "BatchNormalization": "batch_norm",
    "LayerNormalization": "layer_norm", "Attention": "scaled_dot_product_attention",
}


def short_op_name(op: str) -> str:
    """An op record's name without its namespace: "aten.convolution.default" -> "convolution";
    an ONNX node's by its aten equivalent ("onnx.Conv" -> "convolution"), else lower-cased."""
    parts = op.split(".")
    if parts[0] in ("aten", "prims", "torch") and len(parts) > 1:
        return parts[1]
    if len(parts) > 1 and (parts[0] == "onnx" or op.startswith("com.microsoft.")):
        return ONNX_AS_ATEN.get(parts[-1], parts[-1].lower())
    return parts[0]


class OpRecord(BaseModel):
    """One aten op call, attributed to the innermost module that issued it."""

    op: str  # aten overload packet name, e.g. "aten.convolution"
    category: Category
    module_path: str  # "" for the root module, else "model.0.conv"
    module_type: str  # class name of that module, e.g. "Conv2d"
    flops: int = 0
    macs: int = 0
    weight_elems: int = 0  # parameters and buffers read
    input_elems: int = 0  # activations read (incl. KV cache in decode)
    output_elems: int = 0  # activations written
    output_shape: list[int] = Field(default_factory=list)
    #: parallel work units of the op (output elements for most ops; the predictor's
    #: utilisation term compares this with the device's parallelism)
    parallel_work: int = 0
    #: for matmul-class ops: (M, N, K) of the equivalent GEMM, summed over groups/batch as M
    gemm_mnk: tuple[int, int, int] | None = None
    depthwise: bool = False
    #: bytes of weights whose storage precision the model fixes whatever the scheme (the int8
    #: packed weight of a dynamic-quantized Linear); None: weight_elems x the scheme's width
    stored_weight_bytes: float | None = None

    def bytes_read(self, scheme: str) -> float:
        s = scheme_spec(scheme)
        weights = self.weight_elems * s.weight_bytes if self.stored_weight_bytes is None else self.stored_weight_bytes
        return weights + self.input_elems * s.activation_bytes

    def bytes_written(self, scheme: str) -> float:
        return self.output_elems * scheme_spec(scheme).activation_bytes


class UnsupportedOp(BaseModel):
    """An aten op with no formula: reported, never silently counted as zero."""

    op: str
    count: int
    modules: list[str]


class ModuleInfo(BaseModel):
    """One module of the model tree: what per-layer reports show beside the op counts."""

    path: str  # "" for the root
    type: str
    #: parameters owned directly by this module (not its children); shared ones counted once
    params: int = 0
    #: shape of the module's (first tensor) output in its last call; [] if it was not called
    output_shape: list[int] = Field(default_factory=list)
    calls: int = 0


class Profile(BaseModel):
    """Counts for one model at one input shape and phase."""

    model: str
    input_shape: list[int]
    batch: int = 1
    phase: str | None = None  # None for non-LLMs, else "prefill" | "decode"
    seq_len: int | None = None
    context: int | None = None
    params: int
    #: parameters one token uses: a mixture-of-experts model counts its routed top-k experts
    #: plus every shared part; equal to ``params`` for dense models (None only in profiles
    #: cached before the field existed; reports then show ``params``)
    active_params: int | None = None
    #: elements of the KV cache held in memory during decode (0 otherwise)
    kv_cache_elems: int = 0
    ops: list[OpRecord]
    unsupported_ops: list[UnsupportedOp] = Field(default_factory=list)
    advisor_version: str = ""
    #: the module tree in definition order (for per-layer params, types and output shapes)
    modules: list[ModuleInfo] = Field(default_factory=list)
    #: the model source that built it (advisor.models.sources): zoo, onnx, hf, gguf,
    #: safetensors, timm, callable, pt2; None for profiles counted outside the registry
    source: str | None = None
    #: the precision the model file itself fixes (a quantized ONNX graph: "int8"; "fp16" for a
    #: half-precision graph); None when any scheme can be applied (torch models, fp32 graphs)
    native_precision: str | None = None
    #: one-line facts about how the counts were obtained (batch norm folded by the exporter...)
    notes: list[str] = Field(default_factory=list)

    @property
    def flops(self) -> int:
        return sum(o.flops for o in self.ops)

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    def bytes_read(self, scheme: str = "fp32") -> float:
        return sum(o.bytes_read(scheme) for o in self.ops)

    def bytes_written(self, scheme: str = "fp32") -> float:
        return sum(o.bytes_written(scheme) for o in self.ops)

    def intensity(self, scheme: str = "fp32") -> float:
        total = self.bytes_read(scheme) + self.bytes_written(scheme)
        return self.flops / total if total else 0.0
