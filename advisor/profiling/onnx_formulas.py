"""Shape-only cost formulas for ONNX operators (the ONNX counterpart of ``formulas.py``).

Each formula reads a node's attributes and the shapes of its inputs and outputs and returns
a ``NodeCost``: category, FLOPs, MACs and, where the default "every data input read once,
every output written once" is wrong, which inputs carry data and how many elements are read.
The conventions are those of docs/counting.md (flops = 2 x MACs for matmul-class ops,
elementwise ops 1 FLOP per output element per arithmetic operation), so an exported model
counts like its torch original. No torch import: the ONNX route must not need it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from advisor.profiling.types import Category

MATMUL = Category.matmul
ELEMENTWISE = Category.elementwise
NORM = Category.norm_reduction
DATA = Category.data_movement
VIEW = Category.view

Shape = list[int]

#: Softmax: max, subtract, exp, sum, divide (docs/counting.md).
SOFTMAX_FLOPS = 5


@dataclass(frozen=True)
class NodeView:
    """What a formula sees of one node: op type, attributes, and the shapes of its tensors
    (None where the input is absent or its shape unknown)."""

    op_type: str
    attrs: dict[str, Any]
    inputs: list[Shape | None]
    outputs: list[Shape | None]

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def has_input(self, index: int) -> bool:
        return len(self.inputs) > index and self.inputs[index] is not None

    def shape_in(self, index: int) -> Shape:
        shape = self.inputs[index] if len(self.inputs) > index else None
        if shape is None:
            raise MissingShape(f"input {index}")
        return shape

    def shape_out(self, index: int = 0) -> Shape:
        shape = self.outputs[index] if len(self.outputs) > index else None
        if shape is None:
            raise MissingShape(f"output {index}")
        return shape

    @property
    def out_elems(self) -> int:
        return numel(self.shape_out(0))


class MissingShape(Exception):
    """A formula needs a shape that shape inference did not give (the op is then listed as
    unsupported with this reason, never counted as zero)."""


@dataclass(frozen=True)
class NodeCost:
    """What one node costs. ``data_inputs``: input indices whose tensors are read (None: all;
    shape/axes/scale parameters are not data). ``reads``: input index -> elements actually read
    where fewer than the whole tensor (a gather). ``outputs``: how many leading outputs are
    written (by-products such as max-pool indices or layer-norm statistics are not)."""

    category: Category
    flops: int = 0
    macs: int = 0
    gemm_mnk: tuple[int, int, int] | None = None
    depthwise: bool = False
    data_inputs: tuple[int, ...] | None = None
    reads: dict[int, int] | None = None
    outputs: int | None = None


Formula = Callable[[NodeView], NodeCost]


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


FORMULAS: dict[str, Formula] = {}


def _register(*op_types: str) -> Callable[[Formula], Formula]:
    def deco(fn: Formula) -> Formula:
        for op_type in op_types:
            if op_type in FORMULAS:
                raise ValueError(f"ONNX formula for {op_type} registered twice")
            FORMULAS[op_type] = fn
        return fn

    return deco


#: onnxruntime contrib operators (com.microsoft) whose inputs and semantics the formulas of
#: the same name follow (onnxruntime docs/ContribOperators.md). Others, such as the contrib
#: Attention (packed QKV weights, unlike ONNX's opset-23 Attention), are reported unsupported.
CONTRIB_OPS = frozenset({
    "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearGlobalAveragePool",
    "QLinearConcat", "QLinearAveragePool", "QGemm", "MatMulNBits", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
    "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
    "SimplifiedLayerNormalization",
})


def formula_for(domain: str, op_type: str) -> Formula | None:
    """The formula of an operator: the default domain's, or a contrib operator's listed in
    CONTRIB_OPS; None (reported unsupported) for anything else."""
    if domain in ("", "ai.onnx"):
        return FORMULAS.get(op_type)
    if domain == "com.microsoft" and op_type in CONTRIB_OPS:
        return FORMULAS.get(op_type)
    return None


# --------------------------------------------------------------------------- matmul class


def _conv(view: NodeView, x: int, w: int, bias: int | None) -> NodeCost:
    xs, ws, out = view.shape_in(x), view.shape_in(w), view.shape_out()
    groups = int(view.attr("group", 1))
    kernel = numel(ws[2:])
    batch, cout = out[0], ws[0]
    cin_g = ws[1]
    spatial = numel(out[2:])
    m, n, k = batch * spatial * groups, cout // groups, cin_g * kernel
    macs = m * n * k
    depthwise = groups > 1 and groups == xs[1] and cin_g == 1
    bias_adds = numel(out) if bias is not None and view.has_input(bias) else 0
    return NodeCost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(m, n, k), depthwise=depthwise)


@_register("Conv")
def _conv_float(view: NodeView) -> NodeCost:
    return _conv(view, 0, 1, 2)


@_register("ConvInteger")
def _conv_integer(view: NodeView) -> NodeCost:
    return _replace(_conv(view, 0, 1, None), data_inputs=(0, 1))


@_register("QLinearConv")
def _qlinear_conv(view: NodeView) -> NodeCost:
    # x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
    return _replace(_conv(view, 0, 3, 8), data_inputs=(0, 3, 8))


@_register("ConvTranspose")
def _conv_transpose(view: NodeView) -> NodeCost:
    xs, ws, out = view.shape_in(0), view.shape_in(1), view.shape_out()
    groups = int(view.attr("group", 1))
    kernel = numel(ws[2:])
    batch = xs[0]
    cin_g, cout_g = ws[0] // groups, ws[1]
    m, n, k = batch * numel(xs[2:]) * groups, cout_g * kernel, cin_g
    macs = m * n * k
    bias_adds = numel(out) if view.has_input(2) else 0
    depthwise = groups > 1 and groups == xs[1] and cin_g == 1
    return NodeCost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(m, n, k), depthwise=depthwise)


def _gemm(view: NodeView, a: int, b: int, bias: int | None, data: tuple[int, ...] | None = None) -> NodeCost:
    sa, sb = view.shape_in(a), view.shape_in(b)
    m, k = (sa[1], sa[0]) if view.attr("transA", 0) else (sa[0], sa[1])
    n = sb[0] if view.attr("transB", 0) else sb[1]
    macs = m * n * k
    bias_adds = m * n if bias is not None and view.has_input(bias) else 0
    return NodeCost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(m, n, k), data_inputs=data)


@_register("Gemm")
def _gemm_float(view: NodeView) -> NodeCost:
    return _gemm(view, 0, 1, 2)


@_register("QGemm")
def _qgemm(view: NodeView) -> NodeCost:
    # com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp
    return _gemm(view, 0, 3, 6, data=(0, 3, 6))


def _matmul(view: NodeView, a: int, b: int, data: tuple[int, ...] | None = None) -> NodeCost:
    sa, sb, out = view.shape_in(a), view.shape_in(b), view.shape_out()
    k = sa[-1]
    n = sb[-1] if len(sb) >= 2 else 1
    outputs = numel(out)
    macs = outputs * k
    return NodeCost(MATMUL, flops=2 * macs, macs=macs, gemm_mnk=(outputs // max(n, 1), n, k), data_inputs=data)


@_register("MatMul")
def _matmul_float(view: NodeView) -> NodeCost:
    return _matmul(view, 0, 1)


@_register("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
def _matmul_integer(view: NodeView) -> NodeCost:
    return _matmul(view, 0, 1, data=(0, 1))


@_register("QLinearMatMul")
def _qlinear_matmul(view: NodeView) -> NodeCost:
    # a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
    return _matmul(view, 0, 3, data=(0, 3))


@_register("MatMulNBits")
def _matmul_nbits(view: NodeView) -> NodeCost:
    """com.microsoft MatMulNBits: A (..., K) times a block-quantized (N, K) weight."""
    sa, out = view.shape_in(0), view.shape_out()
    k, n = int(view.attr("K")), int(view.attr("N"))
    macs = numel(out) * k
    bias = view.has_input(5)
    data = (0, 1, 2, 3, 5) if bias else (0, 1, 2, 3)
    return NodeCost(MATMUL, flops=2 * macs + (numel(out) if bias else 0), macs=macs,
                    gemm_mnk=(numel(sa) // k, n, k), data_inputs=data)


@_register("Attention")
def _attention(view: NodeView) -> NodeCost:
    """ONNX Attention (opset 23): Q, K, V as (B, H, L, E) or (B, L, H*E) with head counts in
    attributes; counted like torch's scaled-dot-product attention (docs/counting.md)."""
    q, k, v = view.shape_in(0), view.shape_in(1), view.shape_in(2)
    if len(q) == 3:
        hq, hkv = int(view.attr("q_num_heads", 1)), int(view.attr("kv_num_heads", 1))
        q = [q[0], hq, q[1], q[2] // hq]
        k = [k[0], hkv, k[1], k[2] // hkv]
        v = [v[0], hkv, v[1], v[2] // hkv]
    bh, seq_q, e = numel(q[:-2]), q[-2], q[-1]
    seq_k, ev = k[-2], v[-1]
    scores = bh * seq_q * seq_k
    macs = scores * (e + ev)
    masked = view.has_input(3) or bool(view.attr("is_causal", 0))
    flops = 2 * macs + numel(q) + numel(k) + SOFTMAX_FLOPS * scores + (scores if masked else 0)
    return NodeCost(MATMUL, flops=flops, macs=macs, gemm_mnk=(bh * seq_q, seq_k, e + ev), outputs=1)


# --------------------------------------------------------------------------- elementwise

#: FLOPs per output element (docs/counting.md, "Elementwise").
ELEMENTWISE_FLOPS: dict[str, int] = {
    **dict.fromkeys((
        "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
        "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
        "Floor", "Ceil", "Round", "Sign", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
        "And", "Or", "Xor", "Not", "Where", "IsNaN", "IsInf", "BitShift", "BitwiseAnd", "BitwiseOr",
        "BitwiseXor", "BitwiseNot", "Relu", "ThresholdedRelu", "QLinearAdd", "QLinearMul",
    ), 1),
    **dict.fromkeys(("LeakyRelu", "PRelu", "QLinearLeakyRelu", "Shrink", "DequantizeLinear"), 2),
    **dict.fromkeys(("Elu", "Celu", "Softplus", "Softsign", "Selu"), 3),
    **dict.fromkeys(("Sigmoid", "HardSigmoid", "QLinearSigmoid"), 4),
    **dict.fromkeys(("HardSwish", "Mish", "Swish"), 5),
    # QuantizeLinear: divide by the scale, round, add the zero point, clamp to the type's range (2)
    "QuantizeLinear": 5,
}

#: quantization parameters (scale, zero point) are not data
_QUANT_DATA_INPUTS: dict[str, tuple[int, ...]] = {
    "QuantizeLinear": (0,), "DequantizeLinear": (0,), "QLinearAdd": (0, 3), "QLinearMul": (0, 3),
    "QLinearSigmoid": (0,), "QLinearLeakyRelu": (0,),
}


@_register(*ELEMENTWISE_FLOPS)
def _elementwise(view: NodeView) -> NodeCost:
    return NodeCost(ELEMENTWISE, flops=ELEMENTWISE_FLOPS[view.op_type] * view.out_elems,
                    data_inputs=_QUANT_DATA_INPUTS.get(view.op_type))


@_register("Gelu", "FastGelu", "BiasGelu", "QuickGelu")
def _gelu(view: NodeView) -> NodeCost:
    tanh_form = view.attr("approximate", "none") == "tanh" or view.op_type == "FastGelu"
    extra = 1 if view.op_type == "BiasGelu" or (view.op_type == "FastGelu" and view.has_input(1)) else 0
    return NodeCost(ELEMENTWISE, flops=((9 if tanh_form else 5) + extra) * view.out_elems)


@_register("Clip")
def _clip(view: NodeView) -> NodeCost:
    bounds = sum(1 for i in (1, 2) if view.has_input(i)) + sum(1 for a in ("min", "max") if a in view.attrs)
    return NodeCost(ELEMENTWISE, flops=bounds * view.out_elems, data_inputs=(0,))


@_register("Max", "Min", "Sum", "Mean")
def _variadic(view: NodeView) -> NodeCost:
    operands = sum(1 for s in view.inputs if s is not None)
    per = operands if view.op_type == "Mean" else max(operands - 1, 1)
    return NodeCost(ELEMENTWISE, flops=per * view.out_elems)


@_register("DynamicQuantizeLinear")
def _dynamic_quantize(view: NodeView) -> NodeCost:
    # min and max over the tensor (2 per element), then quantize (5 per element)
    return NodeCost(NORM, flops=7 * numel(view.shape_in(0)), outputs=1)


# --------------------------------------------------------------------------- norms and reductions


@_register("BatchNormalization")
def _batch_norm(view: NodeView) -> NodeCost:
    x = view.shape_in(0)
    channels = x[1] if len(x) > 1 else 1
    return NodeCost(NORM, flops=2 * numel(x) + 5 * channels, outputs=1)


def _rows(shape: Shape, axis: int) -> int:
    axis = axis % len(shape) if shape else 0
    return numel(shape[:axis])


@_register("LayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
           "SimplifiedLayerNormalization", "RMSNormalization")
def _layer_norm(view: NodeView) -> NodeCost:
    x = view.shape_in(0)
    rms = view.op_type in ("SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "RMSNormalization")
    per = 4 if rms else (8 if view.has_input(2) or view.op_type.startswith("Skip") else 6)
    if view.op_type.startswith("Skip"):
        per += 1  # the residual add
    rows = _rows(x, int(view.attr("axis", -1)))
    return NodeCost(NORM, flops=per * numel(x) + 2 * rows, outputs=1)


@_register("InstanceNormalization")
def _instance_norm(view: NodeView) -> NodeCost:
    x = view.shape_in(0)
    return NodeCost(NORM, flops=8 * numel(x) + 2 * numel(x[:2]))


@_register("GroupNormalization")
def _group_norm(view: NodeView) -> NodeCost:
    x = view.shape_in(0)
    return NodeCost(NORM, flops=8 * numel(x) + 2 * x[0] * int(view.attr("num_groups", 1)))


@_register("Softmax", "LogSoftmax")
def _softmax(view: NodeView) -> NodeCost:
    return NodeCost(NORM, flops=SOFTMAX_FLOPS * view.out_elems)


@_register("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin", "CumSum",
           "GlobalAveragePool", "GlobalMaxPool", "ReduceL1", "QLinearGlobalAveragePool")
def _reduce(view: NodeView) -> NodeCost:
    return NodeCost(NORM, flops=numel(view.shape_in(0)), data_inputs=(0,))


@_register("ReduceSumSquare", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "LpNormalization")
def _reduce_two(view: NodeView) -> NodeCost:
    per_out = 1 if view.op_type in ("ReduceL2", "ReduceLogSum") else 0
    per_in = 4 if view.op_type == "ReduceLogSumExp" else 2
    return NodeCost(NORM, flops=per_in * numel(view.shape_in(0)) + per_out * view.out_elems, data_inputs=(0,))


@_register("TopK")
def _topk(view: NodeView) -> NodeCost:
    return NodeCost(NORM, flops=numel(view.shape_in(0)), data_inputs=(0,))


@_register("MaxPool", "AveragePool", "LpPool", "QLinearAveragePool")
def _pool(view: NodeView) -> NodeCost:
    window = numel(view.attr("kernel_shape", [1]))
    return NodeCost(NORM, flops=window * view.out_elems, data_inputs=(0,), outputs=1)


# --------------------------------------------------------------------------- data movement and views

#: Resize/Upsample FLOPs per output element by interpolation (docs/counting.md: bilinear 7,
#: linear 3, bicubic 31); nearest copies.
_RESIZE_FLOPS = {"nearest": 0, "linear": {1: 3, 2: 7, 3: 15}, "cubic": {2: 31}}


@_register("Resize", "Upsample")
def _resize(view: NodeView) -> NodeCost:
    mode = str(view.attr("mode", "nearest"))
    x, out = view.shape_in(0), view.shape_out()
    resized = sum(1 for a, b in zip(x, out) if a != b) or 1
    per = _RESIZE_FLOPS.get(mode, 0)
    if isinstance(per, dict):
        per = per.get(resized, max(per.values()))
    return NodeCost(DATA, flops=per * numel(out), data_inputs=(0,))


def _data(data_inputs: tuple[int, ...] | None) -> Formula:
    def formula(view: NodeView) -> NodeCost:
        return NodeCost(DATA, data_inputs=data_inputs)

    return formula


#: data-movement ops and the inputs that carry data (None: all; (): none, creation ops)
_DATA_INPUTS: dict[str, tuple[int, ...] | None] = {
    "Concat": None, "Cast": (0,), "CastLike": (0,), "Transpose": (0,), "Slice": (0,), "Split": (0,),
    "Expand": (0,), "Tile": (0,), "Pad": (0, 2), "DepthToSpace": (0,), "SpaceToDepth": (0,),
    "Trilu": (0,), "ReverseSequence": (0,), "ScatterND": None, "ScatterElements": None, "Scatter": None,
    "ConstantOfShape": (), "Range": (), "EyeLike": (), "OneHot": (0,), "Compress": (0, 1),
    "NonZero": (0,), "Unique": (0,),
}
for _op, _inputs in _DATA_INPUTS.items():
    FORMULAS[_op] = _data(_inputs)


@_register("QLinearConcat")
def _qlinear_concat(view: NodeView) -> NodeCost:
    # com.microsoft QLinearConcat: y_scale, y_zp, then (x, x_scale, x_zp) per input; each input
    # element is requantized to the output's scale: subtract zp, scale, round, add zp = 4 FLOPs
    data = tuple(range(2, len(view.inputs), 3))
    return NodeCost(DATA, flops=4 * view.out_elems, data_inputs=data)


@_register("Gather", "GatherElements", "GatherND")
def _gather(view: NodeView) -> NodeCost:
    # a lookup reads as many source elements as it outputs, plus its indices
    return NodeCost(DATA, data_inputs=(0, 1), reads={0: view.out_elems})


#: ops that only relabel a tensor's shape (or compute on shapes): free, no bytes
VIEW_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Size",
            "Constant", "Optional", "OptionalGetElement")


def _free(view: NodeView) -> NodeCost:
    return NodeCost(VIEW, data_inputs=(), outputs=0)


FORMULAS.update(dict.fromkeys(VIEW_OPS, _free))


def _replace(cost: NodeCost, **changes: Any) -> NodeCost:
    return replace(cost, **changes)
