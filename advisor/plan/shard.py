"""Tensor parallelism applied to a collapsed profile (head + one block x count + tail).

What one rank runs of each op, and which ops are all-reduced or gathered, is
advisor.predict.parallel (Megatron-LM's layout; recommend splits whole profiles with it too);
this module applies it to the planner's LayerStack.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.plan.stack import LayerStack
from advisor.predict.parallel import is_row_parallel, is_vocab_parallel, shard_op


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
    gather = sum(op.output_elems for op in stack.tail + stack.head if is_vocab_parallel(op))
    if n == 1:
        return ShardedStack(stack, reduce_elems, gather, 1)
    sharded = LayerStack(
        head=[shard_op(op, n) for op in stack.head], block=[shard_op(op, n) for op in stack.block],
        count=stack.count, tail=[shard_op(op, n) for op in stack.tail], block_prefix=stack.block_prefix,
    )
    return ShardedStack(sharded, reduce_elems, gather, n)
