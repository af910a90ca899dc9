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

from dataclasses import dataclass, field
from functools import cached_property

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
    kernels: list[Kernel] = []
    for op in ops:
        if op.category == Category.view:
            continue
        if fusion.bn_folding and op.category == Category.data_movement and op.input_elems == 0:
            continue  # constants (arange, full, empty) are folded when the engine is built
        last = kernels[-1] if kernels else None
        if unfused and _short(op.op).rstrip("_") in unfused:
            kernels.extend(_quantized_nodes(op))
        elif last is not None and _folds_into(op, last, fusion):
            last.absorb_folded(op)
        elif last is not None and _fuses_pointwise(op, last, fusion):
            last.absorb_pointwise(op)
        else:
            kernels.append(Kernel.from_op(op))
    if fusion.attention_fusion:
        kernels = _fuse_attention(kernels)
    return kernels


#: how a quantized graph decomposes an activation it does not fuse: (node, FLOPs per element,
#: operand tensors read). SiLU(x) = x * sigmoid(x): the QDQ quantizer emits QLinearSigmoid
#: (reads x, writes s) then QLinearMul (reads x and s, writes y); see onnxruntime's
#: quantization operator registry (onnxruntime/python/tools/quantization/registry.py).
QUANTIZED_DECOMPOSITION: dict[str, tuple[tuple[str, int, int], ...]] = {
    "silu": (("qlinear_sigmoid", 4, 1), ("qlinear_mul", 1, 2)),
    "sigmoid": (("qlinear_sigmoid", 4, 1),),
    "hardswish": (("qlinear_hardsigmoid", 4, 1), ("qlinear_mul", 1, 2)),
    # QLinearConcat requantizes every input element to the output's scale and zero point:
    # subtract zero point, multiply by the scale ratio, round, add zero point and clamp
    # (com.microsoft QLinearConcat, onnxruntime ContribOperators.md)
    "cat": (("qlinear_concat", 4, 1),),
}


def _quantized_nodes(op: OpRecord) -> list[Kernel]:
    """The separate quantized nodes an unfused activation runs as, each a full pass."""
    n = op.output_elems
    parts = QUANTIZED_DECOMPOSITION.get(_short(op.op).rstrip("_"), ((_short(op.op), op.flops // max(n, 1), 1),))
    nodes = []
    for kind, flops_per_elem, reads in parts:
        k = Kernel.from_op(op)
        k.kind, k.flops, k.input_elems = kind, flops_per_elem * n, reads * n
        nodes.append(k)
    return nodes


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
