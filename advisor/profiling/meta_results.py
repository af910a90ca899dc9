"""Results of the most common aten ops on meta tensors, built from shapes alone.

Why: in torch 2.14 most meta kernels are Python reference implementations; the first one
to run imports torch._dynamo (about 2 s, more than counting a whole CNN) and each call
is slow. On meta tensors an op's result is only a shape, dtype and layout, so for the ops
that make up almost every model (convolution, matmul, batch/layer norm, activations,
broadcasting arithmetic, cat, pooling, nearest upsampling) the counter builds the result
with C++ factory functions instead.

Each builder returns None whenever its inputs are outside the simple case it handles
(non-meta tensors, integer dtypes, shapes that do not match...): the counter then runs
torch's own kernel, which also raises torch's own error for invalid inputs. The test suite
checks that every zoo model profiles identically with and without these builders.

A builder reads the call's arguments by their schema names (see advisor.profiling.arguments),
with the schema's defaults filled in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from advisor.profiling.arguments import Arguments

aten = torch.ops.aten
Tensor = torch.Tensor
#: ``build(a) -> result | None``: the op's result from its arguments by schema name.
Builder = Callable[[Arguments], Any]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _is_meta_float(t: Any) -> bool:
    return isinstance(t, Tensor) and t.device.type == "meta" and t.is_floating_point()


def _channels_last(t: Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def _strides_like_channels_last(t: Tensor) -> bool:
    """torch's stride-order test behind suggest_memory_format (NHWC / NDHWC-like strides)."""
    order = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}.get(t.dim())
    sizes, strides = t.shape, t.stride()
    if order is None or strides[1] == 0:
        return False
    smallest = 0
    for d in order:
        if sizes[d] == 0 or strides[d] < smallest:
            return False
        if d == 0 and smallest == strides[1]:
            return False
        smallest = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def _empty(shape: Sequence[int], dtype: torch.dtype, channels_last: bool = False) -> Tensor:
    fmt = torch.channels_last if channels_last and len(shape) == 4 else torch.contiguous_format
    return torch.empty(tuple(shape), dtype=dtype, device="meta", memory_format=fmt)


def _dense(t: Tensor) -> bool:
    """True if t's elements fill its storage span exactly once in some dimension order."""
    expected = 1
    for size, stride in sorted(zip(t.shape, t.stride()), key=lambda p: p[1]):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


def _infer_dense_strides(sizes: Sequence[int], *operand_strides: Sequence[int]) -> tuple[int, ...]:
    """Dense strides in the dimension order of the operands, as torch's TensorIterator and
    empty_like choose them.

    Dimensions are insertion-sorted from innermost outwards: the first operand whose strides
    differ for two dimensions decides (a zero, i.e. broadcast, stride abstains); on equal
    strides the smaller size goes inside; if no operand decides, the natural order stays.
    """
    ndim = len(sizes)
    perm = list(range(ndim - 1, -1, -1))  # innermost first

    def should_swap(d0: int, d1: int) -> int:
        for strides in operand_strides:
            s0, s1 = strides[d0], strides[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if sizes[d0] > sizes[d1]:
                return 1
        return 0

    for i in range(1, ndim):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            comparison = should_swap(perm[d0], perm[d1])
            if comparison > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif comparison < 0:
                break
    out = [0] * ndim
    current = 1
    for d in perm:
        out[d] = current
        current *= max(sizes[d], 1)
    return tuple(out)


def _broadcast_strides(t: Tensor, shape: Sequence[int]) -> list[int]:
    """t's strides as an operand broadcast to ``shape`` (0 where t is broadcast)."""
    lead = len(shape) - t.dim()
    out = [0] * lead
    for size, stride, target in zip(t.shape, t.stride(), shape[lead:]):
        out.append(0 if size == 1 and target != 1 else stride)
    return out


def _like(t: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """What torch allocates for a result shaped like t (empty_like with preserve_format, and
    elementwise ops with one tensor operand): t's strides if t is dense, else dense strides in
    t's dimension order."""
    dtype = dtype or t.dtype
    if t.is_contiguous():
        return torch.empty(tuple(t.shape), dtype=dtype, device="meta")
    strides = t.stride() if _dense(t) else _infer_dense_strides(t.shape, t.stride())
    return torch.empty_strided(tuple(t.shape), strides, dtype=dtype, device="meta")


def _broadcast(a: Sequence[int], b: Sequence[int]) -> list[int] | None:
    """The broadcast shape of a and b, or None if they do not broadcast."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return out


def _unary(args: Arguments) -> Tensor | None:
    x = args["self"]
    return _like(x) if _is_meta_float(x) else None


def _unary_inplace(args: Arguments) -> Tensor | None:
    x = args["self"]
    return x if _is_meta_float(x) else None


def _binary_result(args: Arguments) -> tuple[Tensor, list[int], torch.dtype] | None:
    a, b = args["self"], args["other"]
    if not _is_meta_float(a):
        return None
    if isinstance(b, Tensor):
        if b.device.type != "meta" and b.dim() != 0:
            return None
        shape = list(a.shape) if b.shape == a.shape else _broadcast(a.shape, b.shape)
        if shape is None:
            return None
        return a, shape, torch.result_type(a, b)
    if isinstance(b, (int, float, bool)):
        return a, list(a.shape), a.dtype  # a float tensor with a Python scalar keeps its dtype
    return None


def _binary(args: Arguments) -> Tensor | None:
    found = _binary_result(args)
    if found is None:
        return None
    a, shape, dtype = found
    b = args["other"]
    if not isinstance(b, Tensor) or b.dim() == 0:
        return _like(a, dtype) if shape == list(a.shape) else None
    if a.is_contiguous() and b.is_contiguous():
        return _empty(shape, dtype)
    strides = _infer_dense_strides(shape, _broadcast_strides(a, shape), _broadcast_strides(b, shape))
    return torch.empty_strided(tuple(shape), strides, dtype=dtype, device="meta")


def _binary_inplace(args: Arguments) -> Tensor | None:
    found = _binary_result(args)
    if found is None:
        return None
    a, shape, dtype = found
    return a if shape == list(a.shape) and dtype == a.dtype else None


def _expand(values: Sequence[int], n: int) -> list[int]:
    values = list(values)
    return values * n if len(values) == 1 else values


def _convolution(args: Arguments) -> Tensor | None:
    x, w = args["input"], args["weight"]
    stride, padding, dilation = args["stride"], args["padding"], args["dilation"]
    transposed, output_padding, groups = args["transposed"], args["output_padding"], args["groups"]
    if not (_is_meta_float(x) and isinstance(w, Tensor) and w.device.type == "meta") or x.dim() != w.dim() or x.dim() < 3:
        return None
    n = x.dim() - 2
    stride, padding, dilation = _expand(stride, n), _expand(padding, n), _expand(dilation, n)
    kernel, spatial = w.shape[2:], x.shape[2:]
    if not transposed:
        if x.shape[1] != w.shape[1] * groups:
            return None
        cout = w.shape[0]
        out = [(i + 2 * p - d * (k - 1) - 1) // s + 1 for i, p, d, k, s in zip(spatial, padding, dilation, kernel, stride)]
    else:
        if x.shape[1] != w.shape[0]:
            return None
        cout = w.shape[1] * groups
        output_padding = _expand(output_padding, n)
        out = [
            (i - 1) * s - 2 * p + d * (k - 1) + op + 1
            for i, p, d, k, s, op in zip(spatial, padding, dilation, kernel, stride, output_padding)
        ]
    if any(o <= 0 for o in out):
        return None
    return _empty((x.shape[0], cout, *out), x.dtype, _channels_last(x) or _channels_last(w))


def _matrix_product(a: Any, b: Any) -> Tensor | None:
    if not (_is_meta_float(a) and _is_meta_float(b)) or a.dtype != b.dtype or a.dim() != 2 or b.dim() != 2:
        return None
    if a.shape[1] != b.shape[0]:
        return None
    return _empty((a.shape[0], b.shape[1]), a.dtype)


def _mm(args: Arguments) -> Tensor | None:
    return _matrix_product(args["self"], args["mat2"])


def _addmm(args: Arguments) -> Tensor | None:
    bias = args["self"]
    if not (isinstance(bias, Tensor) and bias.device.type == "meta" and bias.dtype == args["mat1"].dtype):
        return None
    return _matrix_product(args["mat1"], args["mat2"])


def _bmm(args: Arguments) -> Tensor | None:
    a, b = args["self"], args["mat2"]
    if not (_is_meta_float(a) and _is_meta_float(b)) or a.dtype != b.dtype or a.dim() != 3 or b.dim() != 3:
        return None
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    return _empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)


def _cat(args: Arguments) -> Tensor | None:
    tensors = list(args["tensors"])
    dim = args["dim"]
    tensors = [t for t in tensors if not (t.dim() == 1 and t.numel() == 0)]  # legacy: empty 1-D skipped
    if not tensors or not all(_is_meta_float(t) for t in tensors):
        return None

    ref = tensors[0]
    rank = ref.dim()
    if rank == 0 or any(t.dim() != rank for t in tensors):
        return None
    # torch keeps the inputs' common suggested memory format (channels-last only for 4-D)
    suggested = {_strides_like_channels_last(t) for t in tensors}
    channels_last = suggested == {True}
    if channels_last and rank != 4:
        return None
    d = dim % rank
    for t in tensors[1:]:
        if any(t.shape[i] != ref.shape[i] for i in range(rank) if i != d):
            return None
    shape = list(ref.shape)
    shape[d] = sum(t.shape[d] for t in tensors)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return _empty(shape, dtype, channels_last)


def _stack(args: Arguments) -> Tensor | None:
    tensors = list(args["tensors"])
    dim = args["dim"]
    if not tensors or not all(_is_meta_float(t) for t in tensors):
        return None
    if any(t.shape != tensors[0].shape for t in tensors):
        return None
    if tensors[0].dim() + 1 in (4, 5) and not all(t.is_contiguous() for t in tensors):
        return None  # a 4-D/5-D result may follow the inputs' memory format: ask torch
    shape = list(tensors[0].shape)
    shape.insert(dim % (len(shape) + 1), len(tensors))
    return _empty(shape, functools.reduce(torch.promote_types, (t.dtype for t in tensors)))


def _batch_norm(args: Arguments) -> tuple[Tensor, Tensor, Tensor] | None:
    x = args["input"]
    if not _is_meta_float(x) or x.dim() < 2:
        return None
    stats = torch.float32 if x.dtype in _LOW_PRECISION else x.dtype
    c = x.shape[1]
    out = _like(x)
    return None if out is None else (out, _empty((c,), stats), _empty((c,), stats))


def _layer_norm(args: Arguments) -> tuple[Tensor, Tensor, Tensor] | None:
    x, normalized = args["input"], list(args["normalized_shape"])
    axis = x.dim() - len(normalized) if isinstance(x, Tensor) else -1
    if not _is_meta_float(x) or axis < 0 or list(x.shape[axis:]) != normalized:
        return None  # (torch's layer norm result is contiguous whatever the input layout)
    stats = torch.float32 if x.dtype in _LOW_PRECISION else x.dtype
    stat_shape = list(x.shape[:axis]) + [1] * len(normalized)
    return _empty(x.shape, x.dtype), _empty(stat_shape, stats), _empty(stat_shape, stats)


def _softmax(args: Arguments) -> Tensor | None:
    """_softmax(self, dim, half_to_float) and _safe_softmax(self, dim, dtype=None)."""
    x = args["self"]
    if not _is_meta_float(x):
        return None
    if args.get("half_to_float") or args.get("dtype") is not None:
        return None
    return _empty(x.shape, x.dtype)  # softmax results are contiguous whatever the input layout


def _reduce_dims(x: Tensor, dims: Any, keepdim: bool) -> list[int]:
    rank = x.dim()
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        reduced = set(range(rank))
    else:
        reduced = {d % rank for d in (dims if isinstance(dims, (list, tuple)) else [dims])}
    if keepdim:
        return [1 if i in reduced else s for i, s in enumerate(x.shape)]
    return [s for i, s in enumerate(x.shape) if i not in reduced]


def _mean_sum(args: Arguments) -> Tensor | None:
    x = args["self"]
    if not _is_meta_float(x) or x.dim() == 0 or not x.is_contiguous() or args["dtype"] is not None:
        return None
    return _empty(_reduce_dims(x, args["dim"], args["keepdim"]), x.dtype)


def _pool_size(i: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = i + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= i + p:
        out -= 1
    return out


def _max_pool2d(args: Arguments) -> tuple[Tensor, Tensor] | None:
    x = args["self"]
    if not _is_meta_float(x) or x.dim() not in (3, 4):
        return None
    kernel = _expand(args["kernel_size"], 2)
    stride = _expand(args["stride"], 2) if len(args["stride"]) else kernel  # [] means "= kernel"
    padding = _expand(args["padding"], 2)
    dilation = _expand(args["dilation"], 2)
    ceil_mode = bool(args["ceil_mode"])
    out = [_pool_size(i, k, s, p, d, ceil_mode) for i, k, s, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation)]
    if any(o <= 0 for o in out):
        return None
    shape = [*x.shape[:-2], *out]
    cl = _channels_last(x)
    return _empty(shape, x.dtype, cl), _empty(shape, torch.int64, cl)


def _nearest2d(x: Any, size: Sequence[int] | None, scales: Sequence[float] | None) -> Tensor | None:
    if not _is_meta_float(x) or x.dim() != 4:
        return None
    if size is None:
        if scales is None:
            return None
        size = [int(math.floor(i * s)) for i, s in zip(x.shape[2:], _expand(scales, 2))]
    return _empty((*x.shape[:2], *size), x.dtype, _channels_last(x))


def _upsample_nearest2d(args: Arguments) -> Tensor | None:
    """upsample_nearest2d(self, output_size, scales_h=None, scales_w=None): the size decides."""
    return _nearest2d(args["self"], args["output_size"], None)


def _upsample_nearest2d_vec(args: Arguments) -> Tensor | None:
    """upsample_nearest2d.vec(input, output_size, scale_factors): a size, else the scales."""
    return _nearest2d(args["input"], args["output_size"], args["scale_factors"])


def _embedding(args: Arguments) -> Tensor | None:
    weight, indices = args["weight"], args["indices"]
    if not (_is_meta_float(weight) and isinstance(indices, Tensor) and indices.device.type == "meta") or weight.dim() != 2:
        return None
    return _empty((*indices.shape, weight.shape[1]), weight.dtype)


def _unsafe_view(args: Arguments) -> Tensor | None:
    x = args["self"]
    if not (isinstance(x, Tensor) and x.device.type == "meta" and x.is_contiguous()):
        return None
    return x.view(args["size"])


def _factory_dtype(args: Arguments, values: Sequence[Any]) -> torch.dtype | None:
    """dtype of a factory op on meta, or None when it is not a plain meta factory call."""
    device = args.get("device")
    if device is None or torch.device(device).type != "meta" or args.get("layout") not in (None, torch.strided):
        return None
    dtype = args.get("dtype")
    if dtype is not None:
        return dtype
    if any(isinstance(v, bool) for v in values):
        return None
    if all(isinstance(v, int) for v in values):
        return torch.int64
    if all(isinstance(v, (int, float)) for v in values):
        return torch.get_default_dtype()
    return None


def _fill_like(args: Arguments) -> Tensor | None:
    """zeros_like / ones_like / full_like: empty_like's layout with an optional new dtype."""
    x = args["self"]
    if not (isinstance(x, Tensor) and x.device.type == "meta"):
        return None
    if args["memory_format"] not in (None, torch.preserve_format) or args["layout"] not in (None, torch.strided):
        return None
    if args["device"] is not None and torch.device(args["device"]).type != "meta":
        return None
    return _like(x, args["dtype"] or x.dtype)


def _arange(args: Arguments) -> Tensor | None:
    """arange(end) / arange(start, end) / arange(start, end, step=1)."""
    start, end, step = args.get("start", 0), args["end"], args.get("step", 1)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, end, step)):
        return None
    dtype = _factory_dtype(args, (start, end, step))
    if dtype is None or step == 0:
        return None
    length = math.ceil((end - start) / step)
    return _empty((max(length, 0),), dtype)


def _full(args: Arguments) -> Tensor | None:
    """full(size, fill_value) / ones(size) / zeros(size)."""
    size = args["size"]
    if not all(isinstance(d, int) for d in size):
        return None
    if "fill_value" in args:  # full: the dtype follows the fill value unless given
        dtype = _factory_dtype(args, (args["fill_value"],))
    else:
        dtype = _factory_dtype({**args, "dtype": args["dtype"] or torch.get_default_dtype()}, ())
    if dtype is None:
        return None
    return _empty(size, dtype)


UNARY = (
    "relu", "silu", "sigmoid", "gelu", "tanh", "hardswish", "hardsigmoid", "hardtanh", "leaky_relu",
    "elu", "mish", "softplus", "neg", "rsqrt", "sqrt", "exp", "erf", "log", "abs", "reciprocal",
    "sin", "cos",
)
BINARY = ("add", "sub", "mul", "div")


def _table() -> dict[Any, Builder]:
    table: dict[Any, Builder] = {}
    for name in UNARY:
        table[getattr(aten, name).default] = _unary
        inplace = getattr(aten, f"{name}_", None)
        if inplace is not None:
            table[inplace.default] = _unary_inplace
    table[aten.pow.Tensor_Scalar] = _unary
    for name in BINARY:
        table[getattr(aten, name).Tensor] = _binary
        table[getattr(aten, name).Scalar] = _binary
        table[getattr(aten, f"{name}_").Tensor] = _binary_inplace
        table[getattr(aten, f"{name}_").Scalar] = _binary_inplace
    table.update({
        aten.convolution.default: _convolution,
        aten.mm.default: _mm,
        aten.addmm.default: _addmm,
        aten.bmm.default: _bmm,
        aten.cat.default: _cat,
        aten.stack.default: _stack,
        aten.native_batch_norm.default: _batch_norm,
        aten._native_batch_norm_legit_no_training.default: _batch_norm,
        aten.native_layer_norm.default: _layer_norm,
        aten._softmax.default: _softmax,
        aten._safe_softmax.default: _softmax,
        aten.mean.dim: _mean_sum,
        aten.sum.dim_IntList: _mean_sum,
        aten.max_pool2d_with_indices.default: _max_pool2d,
        aten.upsample_nearest2d.default: _upsample_nearest2d,
        aten.upsample_nearest2d.vec: _upsample_nearest2d_vec,
        aten.embedding.default: _embedding,
        aten._unsafe_view.default: _unsafe_view,
        aten.arange.default: _arange,
        aten.arange.start: _arange,
        aten.arange.start_step: _arange,
        aten.full.default: _full,
        aten.ones.default: _full,
        aten.zeros.default: _full,
        aten.zeros_like.default: _fill_like,
        aten.ones_like.default: _fill_like,
        aten.full_like.default: _fill_like,
    })
    return table


#: OpOverload -> builder. Built once at import; read-only by convention.
META_RESULTS: dict[Any, Builder] = _table()
