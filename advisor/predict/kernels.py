"""Ops become kernels according to a framework's fusion traits.

Why: a roofline per *op* overstates both launch costs and memory traffic for frameworks that
fuse. TensorRT, ONNX Runtime, TFLite and torch.compile fold batch norm into the preceding
convolution at build time, run elementwise epilogues (bias, activation, residual add) inside
the matmul-class kernel and fuse chains of pointwise ops, so the intermediate tensors are
never written to memory. Eager PyTorch runs one kernel per op. Views are free everywhere;
build-time compilers (the frameworks that fold batch norm) also fold constant-producing ops.

The profile lists ops in execution order; fusion here is the greedy, order-based version of
what those compilers do: an op joins the previous kernel when it is a pointwise consumer of
that kernel's output (same number of output elements).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from advisor.domain.curve import interpolate_curve
from advisor.domain.specs import Fusion
from advisor.precision import scheme as scheme_spec
from advisor.profiling.types import Category, OpRecord, short_op_name


@dataclass
class Kernel:
    """One launched kernel: a main op plus whatever the framework fused into it."""

    name: str
    kind: str
    category: Category
    ops: list[OpRecord]
    flops: int
    weight_elems: int
    input_elems: int
    output_elems: int
    parallel_work: int
    gemm_mnk: tuple[int, int, int] | None
    depthwise: bool = False
    #: ops folded away at build time (batch norm into conv weights): no time, no bytes
    folded: list[OpRecord] = field(default_factory=list)
    #: bytes moved whatever the scheme (a quantize kernel: 16-bit in, 8-bit out); None:
    #: derived from the element counts at the scheme's widths
    fixed_bytes: float | None = None
    #: the precision whose vector figure ``flops`` are stated in, whatever the scheme: the
    #: measured onnxruntime int8 node costs are fp32 vector-op equivalents (QUANTIZED_NODE_OPS);
    #: None: the scheme's own vector precision
    priced_at: str | None = None
    #: utilisation per (platform, engine, constants, curve): kernels are shared between the
    #: frameworks and schemes the recommender predicts, and utilisation depends on none of them
    util_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def all_ops(self) -> list[OpRecord]:
        return self.ops + self.folded

    @classmethod
    def from_op(cls, op: OpRecord) -> Kernel:
        return cls(
            name=op.module_path or "<root>",
            kind=_short(op.op),
            category=op.category,
            ops=[op],
            flops=op.flops,
            weight_elems=op.weight_elems,
            input_elems=op.input_elems,
            output_elems=op.output_elems,
            parallel_work=op.parallel_work or op.output_elems,
            gemm_mnk=op.gemm_mnk,
            depthwise=op.depthwise,
        )

    @property
    def matmul(self) -> bool:
        return self.category == Category.matmul

    @property
    def uses_matrix_engine(self) -> bool:
        """Depthwise convolutions have no reduction over channels to feed a tensor/matrix
        engine; cuDNN, oneDNN and XNNPACK run them on the vector units."""
        return self.matmul and not self.depthwise

    @property
    def convolution(self) -> bool:
        """A dense (not depthwise) convolution: the kernels a calibration's ``conv_tflops``
        prices when the framework runs them in a library other than its GEMMs'."""
        return self.uses_matrix_engine and bool(self.ops) and _short(self.ops[0].op) == "convolution"

    @property
    def activation_matmul(self) -> bool:
        """A product of two activations (attention scores, attention x values)."""
        return self.matmul and self.weight_elems == 0

    def bytes(self, scheme: str) -> float:
        s = scheme_spec(scheme)
        return self.bytes_at(s.weight_bytes, s.activation_bytes)

    def bytes_at(self, weight_width: float, activation_width: float) -> float:
        if self.fixed_bytes is not None:
            return self.fixed_bytes
        plain, stored = self._weight_split
        return plain * weight_width + stored + (self.input_elems + self.output_elems) * activation_width

    def weight_bytes(self, scheme: str) -> float:
        """Weights at the scheme's width, except those whose storage the model fixes."""
        plain, stored = self._weight_split
        return plain * scheme_spec(scheme).weight_bytes + stored

    @property
    def scheme_weight_elems(self) -> int:
        """Weight elements stored at the scheme's width (not fixed by the model file)."""
        return self._weight_split[0]

    @cached_property
    def _weight_split(self) -> tuple[int, float]:
        """(weight elements stored at the scheme's width, bytes of weights with a fixed
        storage). Read only after fusion is complete."""
        plain, stored = 0, 0.0
        for op in self.ops:
            fixed = getattr(op, "stored_weight_bytes", None)
            if fixed is None:
                plain += op.weight_elems
            else:
                stored += fixed
        return plain, stored

    def absorb_folded(self, op: OpRecord) -> None:
        """Batch norm folded into the conv weights at build time: no time, no traffic."""
        self.folded.append(op)
        self.kind += "+" + _short(op.op)

    def absorb_pointwise(self, op: OpRecord) -> None:
        """A pointwise consumer of this kernel's output runs in its epilogue: its FLOPs
        stay, the intermediate tensor is neither written nor read back; other operands
        (a residual, a bias) are still read."""
        self.ops.append(op)
        self.kind += "+" + _short(op.op)
        self.flops += op.flops
        self.input_elems += max(0, op.input_elems - self.output_elems)
        self.output_elems = op.output_elems


def _short(op_name: str) -> str:
    """aten.convolution.default -> convolution (ONNX nodes by their aten equivalent)."""
    return short_op_name(op_name)


def is_batch_norm(op: OpRecord) -> bool:
    return "batch_norm" in _short(op.op) or "BatchNorm" in op.module_type


def is_softmax(op: OpRecord) -> bool:
    return "softmax" in _short(op.op)


def quantized_activations(scheme: str | None) -> bool:
    """Whether the scheme quantizes activations (the graph runs quantized operators)."""
    return scheme is not None and scheme_spec(scheme).activation == "int8"


def fusion_key(fusion: Fusion, scheme: str | None) -> tuple:
    """Frameworks with equal keys launch the same kernels for a profile (the recommender
    shares them): the fusion traits, plus whether quantized-graph traits apply."""
    traits = tuple(sorted((k, str(v)) for k, v in fusion.model_dump(exclude={"source", "note"}).items()))
    return traits, bool(fusion.quantized_unfused) and quantized_activations(scheme)


def fuse(ops: list[OpRecord], fusion: Fusion, scheme: str | None = None) -> list[Kernel]:
    """Group ops into the kernels the framework launches, in execution order.

    ``scheme`` matters only for frameworks whose quantized graph leaves some activations
    unfused (``fusion.quantized_unfused``)."""
    unfused = set(fusion.quantized_unfused) if quantized_activations(scheme) else set()
    if fusion.fused_qkv is not None:
        ops = merge_sibling_projections(ops)
    kernels: list[Kernel] = []
    for i, op in enumerate(ops):
        if op.category == Category.view:
            continue
        if fusion.bn_folding and op.category == Category.data_movement and op.input_elems == 0:
            continue  # constants (arange, full, empty) are folded when the engine is built
        last = kernels[-1] if kernels else None
        if unfused and _unfused_name(op) in unfused:
            kernels.extend(_quantized_nodes(op))
        elif "im2col" in unfused and _short(op.op) == "convolution" and not op.depthwise:
            patch = _im2col(op, conv_taps_per_pixel(op, ops, i))
            kernels.extend([patch, Kernel.from_op(op)] if patch is not None else [Kernel.from_op(op)])
        elif last is not None and _folds_into(op, last, fusion):
            last.absorb_folded(op)
        elif last is not None and _fuses_pointwise(op, last, fusion):
            last.absorb_pointwise(op)
        else:
            kernels.append(Kernel.from_op(op))
    if fusion.attention_fusion and not unfused & {"softmax", "_safe_softmax", "_softmax"}:
        kernels = _fuse_attention(kernels)  # a quantized softmax node breaks the fused attention
    if fusion.attention_prologue_fusion is not None:
        kernels = _fuse_attention_prologue(kernels)
    if fusion.fused_norm is not None:
        kernels = _fuse_norm_modules(kernels)
    return kernels


#: what onnxruntime's int8 (QDQ) CPU graph spends per element in each node that is not a
#: GEMM, in vector-op equivalents: measured time per element x onnxruntime's fp32 vector
#: figure as `advisor calibrate` states it, so the engine, which prices these kernels at the
#: calibrated vector figure, gives each node its measured time on the calibrated CPU.
#: Measured by `python benchmarks/ort_int8_ops.py costs` (single-node QDQ graphs at YOLO /
#: ViT-B/16 sizes, onnxruntime 1.32.0, 2 threads, AMD EPYC with AVX-512 VNNI, quiet machine,
#: 2026-12-01, re-run after the script took calibrate's own vector-figure function,
#: microbench.ort_fp32_figures): the median of three runs, whose vector figures were 92.0 /
#: 92.2 / 93.7 GFLOP/s and whose per-node figures agree within 5% except softmax (84.5-94.8)
#: (the runs before that change measured 90.3 / 91.2 / 94.5 GFLOP/s and per-node figures within
#: 8% of these; an earlier run on the same VM measured 58.7 GFLOP/s: this shared VM's speed
#: drifts, see docs/validation.md).
#: The quantized nodes dequantize, compute in float and requantize every element (MLAS
#: QLinearAdd/Mul), or look each element up in a table (QLinearSigmoid, QLinearLookupBase),
#: so they cost about what the fp32 node costs per element (0.06-0.13 ns), not a quarter of
#: it: they are bound by per-element work, not by their 1-byte traffic.
QUANTIZED_NODE_OPS: dict[str, float] = {
    "qlinear_add": 5.3,  # 0.056 ns/elem
    "qlinear_mul": 9.2,  # 0.10 ns/elem
    "qlinear_sigmoid": 12.1,  # 0.13 ns/elem (the hard-sigmoid of hardswish is assumed alike)
    "qlinear_concat": 12.3,  # 0.13 ns/elem: requantizes every input element to the output scale
    "qlinear_softmax": 93.8,  # 1.02 ns/elem: per row a max, a table of exps, a sum, a scale
    "dequantize_linear": 8.5,  # 0.090 ns/elem: u8 -> f32 before an op that stays float
    "quantize_linear": 3.7,  # 0.039 ns/elem: f32 -> u8 after it
    "layer_norm": 18.3,  # 0.20 ns/elem: LayerNormalization stays float in the QDQ graph
    "div": 7.7,  # 0.083 ns/elem: GELU's x / sqrt(2), float
    "erf": 14.9,  # 0.16 ns/elem: GELU's erf, float
}

#: per im2col tap (one copy of C input bytes per kernel position per output pixel) of a
#: QLinearConv with a spatial kernel, by C: 0.34 / 0.24 / 0.21 ns per tap at C = 4 / 16 / 64
#: (a 3x3 conv over C channels minus a 1x1 conv over 9C channels: the same GEMM; same runs as
#: QUANTIZED_NODE_OPS, median of three), in vector-op equivalents; interpolated in log C, held
#: outside. onnxruntime's quantized conv gathers NHWC patches into a per-thread buffer before
#: its GEMM (qlinearconv.cc, Im2col<uint8_t, NHWC>); its fp32 NCHWc convolutions gather nothing.
#: The calibrated int8 peak comes from GEMM-shaped kernels only (advisor calibrate), so this
#: pass is not counted twice.
IM2COL_TAP_OPS: tuple[tuple[int, float], ...] = ((4, 32.1), (16, 22.4), (64, 19.2))


def im2col_tap_ops(channels: int) -> float:
    """Vector-op equivalents of one im2col tap over ``channels`` input channels
    (IM2COL_TAP_OPS read like a utilisation curve: linear in log C, flat outside)."""
    return interpolate_curve(IM2COL_TAP_OPS, channels)


#: how onnxruntime's int8 graph runs an op that it does not fuse: (node, operand tensors
#: read, bytes per element moved or None for 1-byte tensors). The QDQ quantizer's operator
#: registry (onnxruntime/python/tools/quantization/registry.py) and the optimized graph that
#: `python benchmarks/ort_int8_ops.py graph MODEL` prints: SiLU(x) = x * sigmoid(x) becomes
#: QLinearSigmoid + QLinearMul; Concat a requantizing QLinearConcat; Add/Mul of activations
#: QLinearAdd/QLinearMul (residual adds too: they do not fuse into QLinearConv); Softmax
#: QLinearSoftmax (then no fused attention: QLinearMatMul, QLinearSoftmax, QLinearMatMul);
#: LayerNormalization and GELU's Div/Erf are not quantized, so they run in float between a
#: DequantizeLinear and a QuantizeLinear (GELU as torch exports it at opset 17: Div, Erf,
#: Add, Mul, Mul).
QUANTIZED_DECOMPOSITION: dict[str, tuple[tuple[str, int, float | None], ...]] = {
    "silu": (("qlinear_sigmoid", 1, None), ("qlinear_mul", 2, None)),
    "sigmoid": (("qlinear_sigmoid", 1, None),),
    "hardswish": (("qlinear_sigmoid", 1, None), ("qlinear_mul", 2, None)),
    "cat": (("qlinear_concat", 1, None),),
    "add": (("qlinear_add", 2, None),),
    "mul": (("qlinear_mul", 2, None),),
    "_safe_softmax": (("qlinear_softmax", 1, None),),
    "softmax": (("qlinear_softmax", 1, None),),
    "_softmax": (("qlinear_softmax", 1, None),),
    "native_layer_norm": (("dequantize_linear", 1, 5.0), ("layer_norm", 1, 8.0), ("quantize_linear", 1, 5.0)),
    "layer_norm": (("dequantize_linear", 1, 5.0), ("layer_norm", 1, 8.0), ("quantize_linear", 1, 5.0)),
    "gelu": (("dequantize_linear", 1, 5.0), ("div", 1, 8.0), ("erf", 1, 8.0), ("quantize_linear", 1, 5.0),
             ("qlinear_add", 1, None), ("qlinear_mul", 2, None), ("qlinear_mul", 1, None)),
}


def _unfused_name(op: OpRecord) -> str:
    """aten short name without the in-place suffix (add_ -> add); _safe_softmax kept."""
    name = _short(op.op)
    return name if name.startswith("_") else name.rstrip("_")


def _quantized_nodes(op: OpRecord) -> list[Kernel]:
    """The separate quantized nodes an unfused op runs as, each a full pass over its output."""
    n = op.output_elems
    parts = QUANTIZED_DECOMPOSITION.get(_unfused_name(op))
    if parts is None:  # a listed op without a known decomposition: one node at the op's own FLOPs
        return [Kernel.from_op(op)]
    nodes = []
    for kind, reads, width in parts:
        k = Kernel.from_op(op)
        k.kind, k.flops, k.input_elems = kind, round(QUANTIZED_NODE_OPS[kind] * n), reads * n
        k.category = Category.elementwise
        k.weight_elems = 0
        k.priced_at = "fp32"
        if width is not None:
            k.fixed_bytes = width * n
        nodes.append(k)
    return nodes


def conv_taps_per_pixel(op: OpRecord, ops: list[OpRecord], index: int) -> int:
    """Kernel positions (kh x kw) of a convolution, from its GEMM K = C_in x kh x kw.

    C_in is the channel count of the tensor it reads: the latest earlier op whose output has
    the conv's input size. A network's first conv (no such op) reads the image: read as
    stride 2 when that gives an image's 1-4 channels (ResNet's 7x7, YOLOv5's 6x6 and
    EfficientNet's 3x3 stems), else stride 1. 1 when it cannot tell."""
    if op.gemm_mnk is None or op.input_elems <= 0:
        return 1
    m, _, k = op.gemm_mnk
    for prev in reversed(ops[:index]):
        if prev.output_elems == op.input_elems and len(prev.output_shape) == 4 and prev.output_shape[1] > 0:
            cin = prev.output_shape[1]
            return k // cin if k % cin == 0 and _square(k // cin) else 1
    stride1 = k * m / op.input_elems  # taps if the input is as large as the output
    for taps, max_cin in ((stride1 * 4, 4), (stride1, k)):
        t = round(taps)
        if abs(taps - t) < 1e-9 and _square(t) and k % t == 0 and k // t <= max_cin:
            return t
    return 1


def _square(n: int) -> bool:
    return n >= 1 and round(n**0.5) ** 2 == n


def _im2col(op: OpRecord, taps_per_pixel: int) -> Kernel | None:
    """The im2col pass of a quantized conv with a spatial kernel: one gathered copy of C_in
    bytes per tap, written to a buffer the GEMM then reads (``IM2COL_TAP_OPS``)."""
    if taps_per_pixel <= 1 or op.gemm_mnk is None:
        return None
    m, _, k = op.gemm_mnk
    taps = m * taps_per_pixel
    kernel = Kernel.from_op(op)
    kernel.kind, kernel.category, kernel.priced_at = "im2col", Category.elementwise, "fp32"
    kernel.flops, kernel.weight_elems = round(im2col_tap_ops(k // taps_per_pixel) * taps), 0
    kernel.input_elems, kernel.output_elems, kernel.parallel_work, kernel.gemm_mnk = m * k, m * k, m * k, None
    # the buffer is a per-thread tile that stays in cache; its traffic is inside the
    # measured cost per tap, so no DRAM bytes are charged
    kernel.fixed_bytes = 0.0
    return kernel


def _folds_into(op: OpRecord, last: Kernel, fusion: Fusion) -> bool:
    return (
        fusion.bn_folding
        and is_batch_norm(op)
        and last.matmul
        and not last.activation_matmul
        and op.output_elems == last.output_elems
    )


def _fuses_pointwise(op: OpRecord, last: Kernel, fusion: Fusion) -> bool:
    """An elementwise consumer of the previous kernel's output joins it: as an epilogue of a
    matmul-class kernel (``epilogue_fusion``), or into a preceding elementwise/normalisation
    kernel when the framework fuses pointwise chains (``elementwise_fusion``: TensorRT
    pointwise fusion, ORT elementwise fusions, inductor)."""
    if op.category != Category.elementwise or op.output_elems != last.output_elems:
        return False
    if last.category == Category.matmul:
        return fusion.epilogue_fusion
    chains = getattr(fusion, "elementwise_fusion", False)
    return chains and last.category in (Category.elementwise, Category.norm_reduction)


def _fuse_attention(kernels: list[Kernel]) -> list[Kernel]:
    """scores = Q K^T -> softmax -> scores V becomes one flash-attention-style kernel: the
    score matrix stays on chip (Dao et al. 2022, FlashAttention, arXiv:2205.14135)."""
    out: list[Kernel] = []
    i = 0
    while i < len(kernels):
        window = kernels[i : i + 3]
        if (
            len(window) == 3
            and window[0].activation_matmul
            and window[1].category == Category.norm_reduction
            and any(is_softmax(o) for o in window[1].ops)
            and window[2].activation_matmul
        ):
            qk, sm, pv = window
            scores = qk.output_elems
            merged = Kernel(
                name=pv.name,
                kind="attention",
                category=Category.matmul,
                ops=qk.ops + sm.ops + pv.ops,
                folded=qk.folded + sm.folded + pv.folded,
                flops=qk.flops + sm.flops + pv.flops,
                weight_elems=0,
                input_elems=qk.input_elems + max(0, pv.input_elems - scores),
                output_elems=pv.output_elems,
                parallel_work=pv.parallel_work,
                gemm_mnk=pv.gemm_mnk,
            )
            out.append(merged)
            i += 3
        else:
            out.append(kernels[i])
            i += 1
    return out


def _parent(module_path: str) -> str:
    """model.layers.0.self_attn.q_proj -> model.layers.0.self_attn"""
    return module_path.rsplit(".", 1)[0] if "." in module_path else ""


def _projection(op: OpRecord) -> bool:
    return op.category == Category.matmul and op.weight_elems > 0 and op.gemm_mnk is not None and not op.depthwise


def _siblings(a: OpRecord, a_module: str, b: OpRecord) -> bool:
    """``b`` is another projection of module ``a_module`` reading ``a``'s input: same parent
    module, same rows and reduction depth, same activation input, same kind of storage."""
    if not (_projection(a) and _projection(b)) or _parent(b.module_path) != a_module:
        return False
    (ma, _, ka), (mb, _, kb) = a.gemm_mnk, b.gemm_mnk
    stored = (a.stored_weight_bytes is None) == (b.stored_weight_bytes is None)
    return ma == mb and ka == kb and a.input_elems == b.input_elems and stored


def merge_sibling_projections(ops: list[OpRecord]) -> list[OpRecord]:
    """Adjacent q, k and v projections (views between them do not count) become one GEMM over
    the concatenated weights: the input is read once, weights and outputs add up
    (``Fusion.fused_qkv``). Done on ops, before the pointwise rules, so that an op after the
    last projection (the rotary embedding's first product) is not taken for its epilogue."""
    out: list[OpRecord] = []
    last: int | None = None  # index in ``out`` of the previous non-view op
    group = ""  # the module whose projections that op holds (merged ones are named after it)
    for op in ops:
        if op.category == Category.view:
            out.append(op)
            continue
        prev = out[last] if last is not None else None
        if prev is not None and _siblings(prev, group, op):
            m, n, k = prev.gemm_mnk
            stored = None if prev.stored_weight_bytes is None else prev.stored_weight_bytes + op.stored_weight_bytes
            out[last] = prev.model_copy(update={
                "module_path": group, "flops": prev.flops + op.flops,
                "macs": prev.macs + op.macs, "weight_elems": prev.weight_elems + op.weight_elems,
                "output_elems": prev.output_elems + op.output_elems,
                "output_shape": [*prev.output_shape[:-1], prev.output_shape[-1] + op.output_shape[-1]]
                if prev.output_shape and op.output_shape else [],
                "parallel_work": prev.parallel_work + op.parallel_work,
                "gemm_mnk": (m, n + op.gemm_mnk[1], k), "stored_weight_bytes": stored,
            })
            continue
        out.append(op)
        last, group = len(out) - 1, _parent(op.module_path)
    return out


def _is_attention(k: Kernel) -> bool:
    return k.kind == "attention" or any("scaled_dot_product" in _short(o.op) for o in k.ops)


def _fuse_attention_prologue(kernels: list[Kernel]) -> list[Kernel]:
    """The pointwise and copy kernels of an attention module just before its attention
    kernel (the rotary embedding of q and k, the KV-cache writes) run inside it: their
    operations stay, their tensors never leave the chip (``Fusion.attention_prologue_fusion``)."""
    out: list[Kernel] = []
    for k in kernels:
        if not _is_attention(k):
            out.append(k)
            continue
        scope = k.ops[0].module_path
        prologue: list[Kernel] = []
        while (out and out[-1].category in (Category.elementwise, Category.data_movement)
               and out[-1].ops and all(o.module_path == scope for o in out[-1].ops)):
            prologue.insert(0, out.pop())
        if prologue:
            k = replace(k, ops=[o for p in prologue for o in p.ops] + k.ops,
                        flops=k.flops + sum(p.flops for p in prologue),
                        kind="prologue+" + k.kind, util_cache={})  # the ops stay listed in ``ops``
        out.append(k)
    return out


def _norm_scope(k: Kernel) -> str | None:
    """The normalisation module whose ops end this kernel, if any."""
    last = k.ops[-1] if k.ops else None
    return last.module_path if last is not None and "Norm" in last.module_type else None


def _fuse_norm_modules(kernels: list[Kernel]) -> list[Kernel]:
    """Consecutive non-matmul kernels whose ops belong to one normalisation module (the
    first may start with a residual add before it) become one kernel: it reads the input
    once and writes the normalised output once (``Fusion.fused_norm``)."""
    out: list[Kernel] = []
    for k in kernels:
        last = out[-1] if out else None
        scope = _norm_scope(last) if last is not None and not last.matmul else None
        if (scope is not None and not k.matmul and k.ops
                and all(o.module_path == scope for o in k.ops)):
            out[-1] = replace(last, ops=last.ops + k.ops, flops=last.flops + k.flops,
                              weight_elems=last.weight_elems + k.weight_elems,
                              output_elems=k.output_elems, kind=last.kind + "+" + k.kind,
                              parallel_work=max(last.parallel_work, k.parallel_work), util_cache={})
        else:
            out.append(k)
    return out
