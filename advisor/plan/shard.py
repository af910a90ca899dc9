"""Tensor parallelism applied to a profile: what one rank computes, holds and exchanges.

Megatron-LM's layout (Shoeybi et al. 2019, section 3), which vLLM and TensorRT-LLM follow:
in each block the attention heads and the MLP's intermediate features are split across
the ``n`` ranks. The first projections (q/k/v, gate/up) are column-parallel: every rank
reads the whole input and writes 1/n of the output. The last ones (o_proj, down_proj) are
row-parallel: each rank reads its 1/n slice and writes a full-size partial sum, which an
all-reduce adds up (two all-reduces per block). Norms and residual adds run replicated on
every rank. The LM head is split over the vocabulary (its logits are gathered).

Modules are recognised by the names Hugging Face decoders use; ops outside them are
replicated, which over-counts (never under-counts) a rank's work for unknown layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.plan.stack import LayerStack
from advisor.profiling.types import Category, OpRecord

SHARDED_MODULES = frozenset({
    "self_attn", "attn", "attention", "self_attention", "mixer",
    "mlp", "feed_forward", "ffn", "block_sparse_moe", "moe", "experts",
})
ROW_PARALLEL = frozenset({"o_proj", "out_proj", "down_proj", "dense_4h_to_h", "c_proj", "fc2", "w2", "wo"})
VOCAB_PARALLEL = frozenset({"lm_head", "embed_out", "output"})


def _ceil_div(value: int, parts: int) -> int:
    return -(-value // parts)


def is_linear(op: OpRecord) -> bool:
    return op.category == Category.matmul and op.weight_elems > 0


def is_row_parallel(op: OpRecord) -> bool:
    components = op.module_path.split(".")
    return is_linear(op) and components[-1] in ROW_PARALLEL and bool(SHARDED_MODULES.intersection(components))


def _column(op: OpRecord, n: int) -> OpRecord:
    mnk = op.gemm_mnk
    return op.model_copy(update={
        "flops": _ceil_div(op.flops, n), "macs": _ceil_div(op.macs, n), "weight_elems": _ceil_div(op.weight_elems, n),
        "output_elems": _ceil_div(op.output_elems, n), "parallel_work": _ceil_div(op.parallel_work, n),
        "gemm_mnk": (mnk[0], _ceil_div(mnk[1], n), mnk[2]) if mnk else None,
    })


def _row(op: OpRecord, n: int) -> OpRecord:
    mnk = op.gemm_mnk
    return op.model_copy(update={
        "flops": _ceil_div(op.flops, n), "macs": _ceil_div(op.macs, n), "weight_elems": _ceil_div(op.weight_elems, n),
        "input_elems": _ceil_div(op.input_elems, n),
        "gemm_mnk": (mnk[0], mnk[1], _ceil_div(mnk[2], n)) if mnk else None,
    })


def _per_head(op: OpRecord, n: int) -> OpRecord:
    """Attention products, rotary and activation ops: each rank does its heads' share."""
    mnk = op.gemm_mnk
    update = {name: _ceil_div(getattr(op, name), n)
              for name in ("flops", "macs", "weight_elems", "input_elems", "output_elems", "parallel_work")}
    update["gemm_mnk"] = (_ceil_div(mnk[0], n), mnk[1], mnk[2]) if mnk else None
    return op.model_copy(update=update)


def shard_op(op: OpRecord, n: int) -> OpRecord:
    """What one of ``n`` tensor-parallel ranks runs of ``op``."""
    if n == 1 or op.category == Category.view:
        return op
    components = op.module_path.split(".")
    if SHARDED_MODULES.intersection(components):
        if is_linear(op):
            return _row(op, n) if components[-1] in ROW_PARALLEL else _column(op, n)
        return _per_head(op, n)
    if components[-1] in VOCAB_PARALLEL and is_linear(op):
        return _column(op, n)
    return op


@dataclass(frozen=True)
class ShardedStack:
    """One rank's ops, and the elements its collectives move per step."""

    stack: LayerStack
    #: elements all-reduced after each block (the row-parallel outputs), per block
    all_reduce_elems_per_block: int
    #: elements gathered after the tail (vocab-parallel logits)
    gather_elems: int
    ranks: int


def shard(stack: LayerStack, n: int) -> ShardedStack:
    """Split ``stack`` over ``n`` ranks; the all-reduce sizes are the full row-parallel outputs."""
    reduce_elems = sum(op.output_elems for op in stack.block if is_row_parallel(op))
    gather = sum(op.output_elems for op in stack.tail + stack.head
                 if is_linear(op) and op.module_path.split(".")[-1] in VOCAB_PARALLEL)
    if n == 1:
        return ShardedStack(stack, reduce_elems, gather, 1)
    sharded = LayerStack(
        head=[shard_op(op, n) for op in stack.head], block=[shard_op(op, n) for op in stack.block],
        count=stack.count, tail=[shard_op(op, n) for op in stack.tail], block_prefix=stack.block_prefix,
    )
    return ShardedStack(sharded, reduce_elems, gather, n)
