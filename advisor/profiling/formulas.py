"""Shape-only cost formulas, one per aten op or op family, in a public registry.

Each formula looks at the shapes of an op's arguments and result (meta tensors carry shapes
and no data) and returns a :class:`Cost`: the category, FLOPs, MACs and, where the default
"every tensor argument is read once, every tensor result is written once" is wrong, which
tensors (or how many of their elements) are read and written. The counter splits the reads
into weights and activations by tensor identity; formulas never need to know roles.

A formula is called as ``formula(a, out)``: ``a`` maps the op schema's argument names to the
call's values, defaults filled in (see :mod:`advisor.profiling.arguments`), ``out`` is the op's
result. Formulas for other ops (a user's own ``torch.library`` op) are added with
:func:`register_formula`; a name can be registered once.

The per-op conventions are documented in ``docs/counting.md``; keep the two in step.
Everything here is derived from public shape semantics of the aten ops, written for advisor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch

from advisor.profiling.arguments import Arguments
from advisor.profiling.types import Category

MATMUL = Category.matmul
ELEMENTWISE = Category.elementwise
NORM = Category.norm_reduction
DATA = Category.data_movement
VIEW = Category.view

#: A read: a tensor (all its elements) or (tensor, elements actually read), e.g. the rows of an
#: embedding table that a lookup touches.
Read = torch.Tensor | tuple[torch.Tensor, int]


@dataclass(slots=True)
class Cost:
    """What one op costs. ``None`` fields mean "use the counter's default"."""

    category: Category
    flops: int = 0
    macs: int = 0
    gemm_mnk: tuple[int, int, int] | None = None
    depthwise: bool = False
    #: tensors read; default: every tensor argument, once each
    reads: Sequence[Read] | None = None
    #: elements written; default: every tensor result
    output_elems: int | None = None
    #: bytes of weights whose storage precision is fixed by the model (quantized packed
    #: weights), independent of the scheme a report is rendered at
    stored_weight_bytes: float | None = None
    #: weight elements that are not tensor arguments (packed quantized weights)
    extra_weight_elems: int = 0


#: ``formula(a, out) -> Cost``: ``a`` the call's arguments by schema name, ``out`` its result.
Formula = Callable[[Arguments, Any], Cost]

_registry: dict[str, Formula] = {}


def register_formula(name: str, formula: Formula) -> None:
    """Count every call of the op ``name`` with ``formula``.

    ``name`` is the op's overload packet as the counter sees it: ``"aten.convolution"``, or
    ``"mylib.my_op"`` for an op defined as ``mylib::my_op`` with ``torch.library``; one formula
    covers all of the op's overloads. Raises ValueError if the name already has a formula:
    two formulas for one op would make the count depend on import order.
    """
    if not isinstance(name, str) or "." not in name:
        raise ValueError(f"formula name '{name}' must be 'namespace.op', e.g. 'aten.mm' or 'mylib.my_op'")
    if name in _registry:
        raise ValueError(f"op '{name}' already has a formula ({_registry[name].__qualname__}); one formula per op")
    _registry[name] = formula


def _register(*names: str) -> Callable[[Formula], Formula]:
    """Decorator form of register_formula for the formulas below."""

    def deco(fn: Formula) -> Formula:
        for name in names:
            register_formula(name, fn)
        return fn

    return deco


def _first(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


def _prod(xs: Sequence[int]) -> int:
    return math.prod(int(x) for x in xs)


# --------------------------------------------------------------------------- views / metadata

FREE = Cost(VIEW, reads=(), output_elems=0)

VIEW_OPS = (
    "view", "_unsafe_view", "_reshape_alias", "reshape", "permute", "transpose", "transpose_", "t", "t_",
    "expand", "expand_as", "squeeze", "squeeze_", "unsqueeze", "unsqueeze_", "slice", "select",
    "as_strided", "as_strided_", "alias", "detach", "detach_", "split", "split_with_sizes", "unbind",
    "unfold", "diagonal", "view_as", "view_as_real", "view_as_complex", "lift_fresh", "narrow",
    "movedim", "chunk", "tensor_split", "unflatten", "flatten", "real", "imag", "conj", "_conj",
    "_neg_view", "resolve_conj", "resolve_neg", "numpy_T", "mT", "swapaxes",
    # allocations without initialisation and metadata queries move no data
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "_local_scalar_dense",
    "_assert_tensor_metadata", "_assert_async", "_functional_assert_async", "sym_constrain_range",
    "sym_constrain_range_for_size", "is_same_size", "resize_", "set_",
)


@_register(*(f"aten.{n}" for n in VIEW_OPS))
def _view(a: Arguments, out: Any) -> Cost:
    return FREE


# --------------------------------------------------------------------------- matmul class


def _matmul_cost(m: int, n: int, k: int, batch: int = 1, bias_adds: int = 0) -> Cost:
    macs = batch * m * n * k
    return Cost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(batch * m, n, k))


@_register("aten.mm")
def _mm(a: Arguments, out: Any) -> Cost:
    x, y = a["self"], a["mat2"]
    return _matmul_cost(x.shape[0], y.shape[1], x.shape[1])


@_register("aten.addmm")
def _addmm(a: Arguments, out: Any) -> Cost:
    x, y = a["mat1"], a["mat2"]
    m, n = x.shape[0], y.shape[1]
    return _matmul_cost(m, n, x.shape[1], bias_adds=m * n)


@_register("aten.bmm")
def _bmm(a: Arguments, out: Any) -> Cost:
    x, y = a["self"], a["mat2"]
    return _matmul_cost(x.shape[1], y.shape[2], x.shape[2], batch=x.shape[0])


@_register("aten.baddbmm")
def _baddbmm(a: Arguments, out: Any) -> Cost:
    x, y = a["batch1"], a["batch2"]
    bsz, m, n = x.shape[0], x.shape[1], y.shape[2]
    return _matmul_cost(m, n, x.shape[2], batch=bsz, bias_adds=bsz * m * n)


@_register("aten.matmul", "aten.mv", "aten.dot", "aten.vdot", "aten.addmv")
def _matmul_general(a: Arguments, out: Any) -> Cost:
    """Broadcasting matmul: every output element is one K-long dot product."""
    adds_self = "mat" in a  # addmv(self, mat, vec): self + mat @ vec
    k = (a["mat"] if adds_self else a["self"]).shape[-1]
    out_elems = out.numel()
    n = out.shape[-1] if out.dim() >= 1 else 1
    cost = _matmul_cost(out_elems // max(n, 1), n, k)
    if adds_self:
        cost.flops += out_elems
    return cost


@_register("aten.linear")
def _linear(a: Arguments, out: Any) -> Cost:
    x, w, bias = a["input"], a["weight"], a["bias"]
    n, k = (w.shape[0], w.shape[1]) if w.dim() == 2 else (1, w.shape[0])
    m = x.numel() // k
    return _matmul_cost(m, n, k, bias_adds=m * n if bias is not None else 0)


@_register("aten.convolution", "aten._convolution")
def _convolution(a: Arguments, out: Any) -> Cost:
    """Direct convolution: each output element of a group is a (Cin/groups x kernel) dot product."""
    x, w, bias = a["input"], a["weight"], a["bias"]
    transposed = bool(a["transposed"])
    groups = int(a["groups"])
    kernel = _prod(w.shape[2:])
    batch = x.shape[0]
    if not transposed:
        cin_g, cout = w.shape[1], w.shape[0]
        spatial = out.numel() // (batch * cout)
        m, n, k = batch * spatial * groups, cout // groups, cin_g * kernel
    else:  # weight is (Cin, Cout/groups, k...): each input element scatters into Cout/groups x kernel
        cin_g, cout_g = w.shape[0] // groups, w.shape[1]
        spatial_in = x.numel() // (batch * x.shape[1])
        m, n, k = batch * spatial_in * groups, cout_g * kernel, cin_g
    macs = m * n * k
    depthwise = groups > 1 and groups == x.shape[1] and cin_g == 1
    bias_adds = out.numel() if bias is not None else 0
    return Cost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(m, n, k), depthwise=depthwise)


# Softmax: max, subtract, exp, sum, divide = 5 FLOPs per element (see docs/counting.md).
SOFTMAX_FLOPS = 5


def attention_cost(q_shape: Sequence[int], k_shape: Sequence[int], v_shape: Sequence[int], masked: bool) -> Cost:
    """Scaled dot-product attention, counted as torch's reference (math) decomposition does it.

    q: (..., L, E), k: (..., S, E), v: (..., S, Ev); the leading dims of q are batch x heads
    (grouped-query k/v with fewer heads are broadcast to q's heads). FLOPs: scale q and k
    (1 per element each), QK^T and AV (2 per MAC), softmax (5 per score), mask add (1 per score).
    The fused kernels (flash, efficient, cudnn, CPU flash) get the same count, so a model
    counts the same whichever backend torch picks.
    """
    bh = _prod(q_shape[:-2])
    seq_q, e = q_shape[-2], q_shape[-1]
    seq_k, ev = k_shape[-2], v_shape[-1]
    scores = bh * seq_q * seq_k
    macs = scores * e + scores * ev
    scale = _prod(q_shape) + _prod(k_shape)
    flops = 2 * macs + scale + SOFTMAX_FLOPS * scores + (scores if masked else 0)
    return Cost(MATMUL, flops=flops, macs=macs, gemm_mnk=(bh * seq_q, seq_k, e + ev))


def _fused_attention(a: Arguments, out: Any, masked: bool) -> Cost:
    q, k, v = a["query"], a["key"], a["value"]
    cost = attention_cost(q.shape, k.shape, v.shape, masked)
    if isinstance(out, (tuple, list)):
        cost.output_elems = out[0].numel()  # logsumexp, rng state...: by-products kept for backward
    return cost


@_register("aten.scaled_dot_product_attention")
def _sdpa(a: Arguments, out: Any) -> Cost:
    return _fused_attention(a, out, a["attn_mask"] is not None or bool(a["is_causal"]))


@_register("aten._scaled_dot_product_flash_attention_for_cpu")
def _sdpa_cpu_flash(a: Arguments, out: Any) -> Cost:
    return _fused_attention(a, out, a["attn_mask"] is not None or bool(a["is_causal"]))


@_register("aten._scaled_dot_product_flash_attention")
def _sdpa_flash(a: Arguments, out: Any) -> Cost:
    return _fused_attention(a, out, bool(a["is_causal"]))


@_register(
    "aten._scaled_dot_product_efficient_attention", "aten._scaled_dot_product_cudnn_attention",
    "aten._scaled_dot_product_fused_attention_overrideable",
)
def _sdpa_with_bias(a: Arguments, out: Any) -> Cost:
    return _fused_attention(a, out, a["attn_bias"] is not None or bool(a["is_causal"]))


def _combine(parts: Sequence[Cost], category: Category = MATMUL) -> Cost:
    return Cost(category, flops=sum(p.flops for p in parts), macs=sum(p.macs for p in parts))


def _equivalent_gemm(cost: Cost, m: int, n: int) -> Cost:
    """One GEMM with the op's M, N and MACs, for fused multi-GEMM ops (K rounded)."""
    cost.gemm_mnk = (m, n, max(1, round(cost.macs / (m * n))))
    return cost


def mha_cost(query: torch.Tensor, key: torch.Tensor, embed_dim: int, num_heads: int, masked: bool) -> Cost:
    """Multi-head attention with packed in-projection and output projection (biases present).

    Counted like the unfused path (nn.MultiheadAttention -> linear in-projections, SDPA over
    num_heads heads, output linear), so the fused fast path and the reference path agree.
    """
    e = embed_dim
    seq_q, seq_k = query.shape[-2], key.shape[-2]
    tokens_q = query.numel() // e
    batch = tokens_q // seq_q
    tokens_k = batch * seq_k
    hd = e // num_heads
    in_q = _matmul_cost(tokens_q, e, e, bias_adds=tokens_q * e)
    in_kv = _matmul_cost(tokens_k, 2 * e, e, bias_adds=tokens_k * 2 * e)
    attn = attention_cost((batch, num_heads, seq_q, hd), (batch, num_heads, seq_k, hd), (batch, num_heads, seq_k, hd), masked)
    proj = _matmul_cost(tokens_q, e, e, bias_adds=tokens_q * e)
    return _equivalent_gemm(_combine([in_q, in_kv, attn, proj]), tokens_q, e)


@_register("aten._native_multi_head_attention")
def _native_mha(a: Arguments, out: Any) -> Cost:
    masked = a["mask"] is not None
    cost = mha_cost(a["query"], a["key"], int(a["embed_dim"]), int(a["num_head"]), masked)
    cost.output_elems = _first(out).numel()  # averaged attention weights are optional extras
    return cost


# Layer norm: statistics 4/elem, normalise 2/elem, affine 2/elem, eps add + rsqrt per row.
LAYER_NORM_FLOPS = 8
LAYER_NORM_ROW_FLOPS = 2
GELU_FLOPS = 5
GELU_TANH_FLOPS = 9


@_register("aten._transformer_encoder_layer_fwd")
def _encoder_layer(a: Arguments, out: Any) -> Cost:
    """nn.TransformerEncoderLayer's fused inference op: MHA + 2 residual adds + 2 layer norms + FFN."""
    src = a["src"]
    e, heads = int(a["embed_dim"]), int(a["num_heads"])
    use_gelu = bool(a["use_gelu"])
    f = a["ffn_weight_1"].shape[0]
    masked = a["mask"] is not None
    tokens = src.numel() // e
    attn = mha_cost(src, src, e, heads, masked)
    ffn1 = _matmul_cost(tokens, f, e, bias_adds=tokens * f)
    ffn2 = _matmul_cost(tokens, e, f, bias_adds=tokens * e)
    act = Cost(ELEMENTWISE, flops=tokens * f * (GELU_FLOPS if use_gelu else 1))
    residuals = Cost(ELEMENTWISE, flops=2 * tokens * e)
    norms = Cost(NORM, flops=2 * (LAYER_NORM_FLOPS * tokens * e + LAYER_NORM_ROW_FLOPS * tokens))
    cost = _combine([attn, ffn1, ffn2, act, residuals, norms])
    return _equivalent_gemm(cost, tokens, e)


def _packed_linear(a: Arguments, weight_bytes_per_elem: float) -> Cost:
    """quantized::linear_dynamic*: the int8/fp16 weight lives in a packed object, not a tensor."""
    x, packed = a["X"], a["W_prepack"]
    weight, bias = packed.unpack()
    n, k = weight.shape[0], weight.shape[1]
    m = x.numel() // k
    cost = _matmul_cost(m, n, k, bias_adds=m * n if bias is not None else 0)
    bias_elems = bias.numel() if bias is not None else 0
    cost.reads = (x,)
    cost.extra_weight_elems = n * k + bias_elems
    cost.stored_weight_bytes = n * k * weight_bytes_per_elem + bias_elems * 4.0  # fp32 bias
    return cost


@_register("quantized.linear_dynamic")
def _linear_dynamic(a: Arguments, out: Any) -> Cost:
    return _packed_linear(a, 1.0)


@_register("quantized.linear_dynamic_fp16")
def _linear_dynamic_fp16(a: Arguments, out: Any) -> Cost:
    return _packed_linear(a, 2.0)


# --------------------------------------------------------------------------- elementwise

#: FLOPs per output element. Transcendentals (exp, log, tanh, erf, rsqrt...) count 1 each.
ELEMENTWISE_FLOPS: dict[str, int] = {
    # arithmetic
    "add": 1, "sub": 1, "rsub": 1, "mul": 1, "div": 1, "neg": 1, "abs": 1, "reciprocal": 1,
    "pow": 1, "sqrt": 1, "rsqrt": 1, "exp": 1, "exp2": 1, "expm1": 1, "log": 1, "log2": 1,
    "log10": 1, "log1p": 1, "sin": 1, "cos": 1, "tan": 1, "erf": 1, "sign": 1, "floor": 1,
    "ceil": 1, "round": 1, "trunc": 1, "fmod": 1, "remainder": 1, "floor_divide": 1,
    "maximum": 1, "minimum": 1, "addcmul": 2, "addcdiv": 2, "lerp": 3, "square": 1,
    # comparisons, logic, selection
    "eq": 1, "ne": 1, "lt": 1, "le": 1, "gt": 1, "ge": 1, "logical_and": 1, "logical_or": 1,
    "logical_not": 1, "logical_xor": 1, "bitwise_and": 1, "bitwise_or": 1, "bitwise_not": 1,
    "bitwise_xor": 1, "isnan": 1, "isinf": 1, "where": 1, "masked_fill": 1, "threshold": 1,
    # activations
    "relu": 1,  # max(x, 0)
    "hardtanh": 2,  # min and max (relu6 too)
    "leaky_relu": 2,  # compare, multiply
    "prelu": 2, "_prelu_kernel": 2,
    "elu": 3,  # exp, subtract, multiply
    "tanh": 1,
    "sigmoid": 4,  # negate, exp, add 1, divide
    "silu": 5,  # sigmoid (4) + multiply
    "hardsigmoid": 4,  # add 3, clamp (2), divide by 6
    "hardswish": 5,  # hardsigmoid (4) + multiply
    "softplus": 3,  # exp, add 1, log
    "mish": 5,  # softplus (3), tanh, multiply
    "glu": 5,  # sigmoid of one half (4) + multiply
}


def _elementwise(per_elem: int) -> Formula:
    def formula(a: Arguments, out: Any) -> Cost:
        return Cost(ELEMENTWISE, flops=per_elem * _first(out).numel())

    return formula


for _name, _flops in ELEMENTWISE_FLOPS.items():
    register_formula(f"aten.{_name}", _elementwise(_flops))
    register_formula(f"aten.{_name}_", _elementwise(_flops))


@_register("aten.gelu", "aten.gelu_")
def _gelu(a: Arguments, out: Any) -> Cost:
    """erf form: x/sqrt2, erf, +1, x0.5, xx = 5; tanh form: 9 (cube 2, fma 2, scale, tanh, +1, 2 mul)."""
    tanh = a["approximate"] == "tanh"
    return Cost(ELEMENTWISE, flops=(GELU_TANH_FLOPS if tanh else GELU_FLOPS) * out.numel())


@_register("aten.clamp", "aten.clamp_", "aten.clip", "aten.clip_")
def _clamp(a: Arguments, out: Any) -> Cost:
    bounds = (a["min"] is not None) + (a["max"] is not None)
    return Cost(ELEMENTWISE, flops=bounds * out.numel())


@_register("aten.clamp_min", "aten.clamp_min_", "aten.clamp_max", "aten.clamp_max_")
def _clamp_one(a: Arguments, out: Any) -> Cost:
    return Cost(ELEMENTWISE, flops=out.numel())


# --------------------------------------------------------------------------- normalisation / reduction


def _reduction(per_in: int, per_out: int = 0) -> Formula:
    def formula(a: Arguments, out: Any) -> Cost:
        first = _first(out)
        cost = Cost(NORM, flops=per_in * a["self"].numel() + per_out * first.numel())
        if isinstance(out, (tuple, list)):
            cost.output_elems = first.numel()  # (values, indices): indices are a by-product
        return cost

    return formula


#: (FLOPs per input element, FLOPs per output element). A mean's divide is folded into its
#: per-input count (N-1 adds + 1 divide = N per output).
REDUCTION_FLOPS: dict[str, tuple[int, int]] = {
    "sum": (1, 0), "mean": (1, 0), "nansum": (1, 0), "prod": (1, 0),
    "amax": (1, 0), "amin": (1, 0), "max": (1, 0), "min": (1, 0), "argmax": (1, 0), "argmin": (1, 0),
    "any": (1, 0), "all": (1, 0), "cumsum": (1, 0), "cumprod": (1, 0), "topk": (1, 0),
    "var": (4, 0), "std": (4, 1), "var_mean": (4, 0), "std_mean": (4, 1),
    "logsumexp": (4, 1), "linalg_vector_norm": (2, 1), "norm": (2, 1),
    "_softmax": (SOFTMAX_FLOPS, 0), "_safe_softmax": (SOFTMAX_FLOPS, 0), "softmax": (SOFTMAX_FLOPS, 0),
    "_log_softmax": (SOFTMAX_FLOPS, 0),
}

for _name, (_per_in, _per_out) in REDUCTION_FLOPS.items():
    register_formula(f"aten.{_name}", _reduction(_per_in, _per_out))


def _window(kernel: Sequence[int], spatial_dims: int) -> int:
    kernel = list(kernel)
    if len(kernel) == 1:
        kernel = kernel * spatial_dims
    return _prod(kernel)


def _pool(spatial_dims: int) -> Formula:
    def formula(a: Arguments, out: Any) -> Cost:
        values = _first(out)
        window = _window(a["kernel_size"], spatial_dims)
        return Cost(NORM, flops=values.numel() * window, output_elems=values.numel())

    return formula


for _dims in (1, 2, 3):
    for _name in (f"max_pool{_dims}d", f"max_pool{_dims}d_with_indices", f"avg_pool{_dims}d"):
        register_formula(f"aten.{_name}", _pool(_dims))


@_register(
    "aten.adaptive_avg_pool1d", "aten.adaptive_avg_pool2d", "aten._adaptive_avg_pool2d",
    "aten.adaptive_avg_pool3d", "aten._adaptive_avg_pool3d", "aten.adaptive_max_pool2d",
    "aten.adaptive_max_pool1d", "aten.adaptive_max_pool3d",
)
def _adaptive_pool(a: Arguments, out: Any) -> Cost:
    """1 FLOP per input element (exact when the output size divides the input size)."""
    values = _first(out)
    return Cost(NORM, flops=a["self"].numel(), output_elems=values.numel())


BATCH_NORM_EVAL_FLOPS = 2  # y = x * a + b with per-channel a, b
BATCH_NORM_CHANNEL_FLOPS = 5  # a = w * rsqrt(var + eps) (3), b = bias - mean * a (2)
BATCH_NORM_STATS_FLOPS = 4  # training: mean (1) and variance (3) per element


def _batch_norm(a: Arguments, training: bool, out: Any) -> Cost:
    x = a["input"]
    y = _first(out)
    channels = x.shape[1] if x.dim() > 1 else x.shape[0]
    per_elem = BATCH_NORM_EVAL_FLOPS + (BATCH_NORM_STATS_FLOPS if training else 0)
    cost = Cost(NORM, flops=per_elem * x.numel() + BATCH_NORM_CHANNEL_FLOPS * channels)
    cost.output_elems = y.numel()  # saved mean / invstd are backward by-products
    return cost


@_register("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten.cudnn_batch_norm",
           "aten.miopen_batch_norm", "aten.batch_norm")
def _native_batch_norm(a: Arguments, out: Any) -> Cost:
    return _batch_norm(a, bool(a["training"]), out)


@_register("aten._native_batch_norm_legit_no_training")
def _batch_norm_eval(a: Arguments, out: Any) -> Cost:
    return _batch_norm(a, False, out)


def _row_norm(x: torch.Tensor, rows: int, out: Any, per_elem: int, per_row: int) -> Cost:
    """Row-wise normalisation; mean / rstd results are backward by-products, not counted as written."""
    return Cost(NORM, flops=per_elem * x.numel() + per_row * rows, output_elems=_first(out).numel())


@_register("aten.native_layer_norm", "aten.layer_norm")
def _layer_norm(a: Arguments, out: Any) -> Cost:
    x, normalized_shape, weight = a["input"], a["normalized_shape"], a["weight"]
    rows = x.numel() // max(1, _prod(normalized_shape))
    per_elem = LAYER_NORM_FLOPS if weight is not None else LAYER_NORM_FLOPS - 2
    return _row_norm(x, rows, out, per_elem, LAYER_NORM_ROW_FLOPS)


@_register("aten.native_group_norm")
def _native_group_norm(a: Arguments, out: Any) -> Cost:
    """native_group_norm(input, weight, bias, N, C, HxW, group, eps)."""
    x, weight, groups = a["input"], a["weight"], int(a["group"])
    per_elem = LAYER_NORM_FLOPS if weight is not None else LAYER_NORM_FLOPS - 2
    return _row_norm(x, x.shape[0] * groups, out, per_elem, LAYER_NORM_ROW_FLOPS)


@_register("aten.group_norm")
def _group_norm(a: Arguments, out: Any) -> Cost:
    """group_norm(input, num_groups, weight, bias, eps)."""
    x, groups, weight = a["input"], int(a["num_groups"]), a["weight"]
    per_elem = LAYER_NORM_FLOPS if weight is not None else LAYER_NORM_FLOPS - 2
    return _row_norm(x, x.shape[0] * groups, out, per_elem, LAYER_NORM_ROW_FLOPS)


RMS_NORM_FLOPS = 4  # square, sum, x * rstd, x * weight
RMS_NORM_ROW_FLOPS = 2  # eps add, rsqrt


@_register("aten._fused_rms_norm", "aten.rms_norm")
def _rms_norm(a: Arguments, out: Any) -> Cost:
    x, normalized_shape, weight = a["input"], a["normalized_shape"], a["weight"]
    rows = x.numel() // max(1, _prod(normalized_shape))
    per_elem = RMS_NORM_FLOPS if weight is not None else RMS_NORM_FLOPS - 1
    return _row_norm(x, rows, out, per_elem, RMS_NORM_ROW_FLOPS)


# --------------------------------------------------------------------------- data movement

DATA_OPS = (
    "cat", "stack", "clone", "_to_copy", "copy", "contiguous", "constant_pad_nd", "pad",
    "reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
    "replication_pad2d", "replication_pad3d", "upsample_nearest1d", "upsample_nearest2d",
    "upsample_nearest3d", "_upsample_nearest_exact1d", "_upsample_nearest_exact2d",
    "_upsample_nearest_exact3d", "repeat", "repeat_interleave", "roll", "flip", "tril", "triu",
    "tril_", "triu_", "slice_scatter", "select_scatter", "diagonal_scatter", "as_strided_scatter",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "im2col", "col2im", "lift_fresh_copy",
    "one_hot", "masked_scatter", "index_copy", "index_copy_", "scatter", "scatter_", "alias_copy",
    "narrow_copy", "view_copy", "permute_copy", "transpose_copy", "expand_copy", "unfold_copy",
)


@_register(*(f"aten.{n}" for n in DATA_OPS))
def _data(a: Arguments, out: Any) -> Cost:
    return Cost(DATA)


@_register("aten.copy_")
def _copy_(a: Arguments, out: Any) -> Cost:
    """dst.copy_(src): src is read, dst is overwritten (not read)."""
    return Cost(DATA, reads=(a["src"] if "src" in a else a["other"],))  # copy_.Tensor names it other


FILL_OPS = (
    "fill", "fill_", "zero_", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "new_zeros", "new_ones", "new_full", "arange", "linspace", "scalar_tensor", "eye",
)


@_register(*(f"aten.{n}" for n in FILL_OPS))
def _fill(a: Arguments, out: Any) -> Cost:
    """Creation and fill ops write their result and read nothing."""
    return Cost(DATA, reads=())


@_register("aten.embedding")
def _embedding(a: Arguments, out: Any) -> Cost:
    """A lookup reads only the rows it gathers, not the whole table."""
    table, indices = a["weight"], a["indices"]
    return Cost(DATA, reads=((table, out.numel()), indices))


@_register("aten.index_select", "aten.gather")
def _gather(a: Arguments, out: Any) -> Cost:
    source, index = a["self"], a["index"]
    return Cost(DATA, reads=((source, out.numel()), index))


@_register("aten.index", "aten._unsafe_index")
def _index(a: Arguments, out: Any) -> Cost:
    source, indices = a["self"], a["indices"]
    reads: list[Read] = [(source, out.numel())]
    reads.extend(i for i in indices if isinstance(i, torch.Tensor))
    return Cost(DATA, reads=reads)


@_register("aten.index_put", "aten.index_put_", "aten._index_put_impl_", "aten._unsafe_index_put")
def _index_put(a: Arguments, out: Any) -> Cost:
    """Writes the indexed values only (in place) or the whole copy (out of place)."""
    indices, values = a["indices"], a["values"]
    reads: list[Read] = [values, *(i for i in indices if isinstance(i, torch.Tensor))]
    inplace = _first(out) is a["self"]
    return Cost(DATA, reads=reads, output_elems=values.numel() if inplace else None)


@_register("aten.scatter_add", "aten.scatter_add_", "aten.index_add", "aten.index_add_", "aten.scatter_reduce")
def _scatter_add(a: Arguments, out: Any) -> Cost:
    src = a["src"] if "src" in a else a["source"]  # index_add names it source
    return Cost(DATA, flops=src.numel() if isinstance(src, torch.Tensor) else 0)


@_register("aten.upsample_bilinear2d", "aten._upsample_bilinear2d_aa")
def _bilinear(a: Arguments, out: Any) -> Cost:
    """4 weighted taps per output: 4 multiplies + 3 adds."""
    return Cost(DATA, flops=7 * out.numel())


@_register("aten.upsample_linear1d")
def _linear1d(a: Arguments, out: Any) -> Cost:
    return Cost(DATA, flops=3 * out.numel())


@_register("aten.upsample_bicubic2d", "aten._upsample_bicubic2d_aa")
def _bicubic(a: Arguments, out: Any) -> Cost:
    """16 weighted taps per output: 16 multiplies + 15 adds."""
    return Cost(DATA, flops=31 * out.numel())


#: The registry: overload-packet name ("aten.convolution") -> formula. A read-only view: add
#: formulas with register_formula.
FORMULAS: MappingProxyType[str, Formula] = MappingProxyType(_registry)
