"""A decoder's profile as head + one repeated block x count + tail, and profiles at any batch.

Why: a 70B decoder is 80 identical blocks of ~70 ops; the planner predicts thousands of
(batch, parallelism, framework, scheme) points and cannot count or predict 5,700 ops for
each. Identical blocks give identical kernel times, so one block is predicted and
multiplied (checked op by op: a model whose blocks differ is kept whole).

Every count of a decode step is affine in the batch at a fixed context (weights are read
once, activations and the KV cache grow with each sequence), so two counted profiles
(batch 1 and 2) give the exact counts at any batch: ``counts(B) = c1 + (B - 1) (c2 - c1)``
(tests compare it with a profile counted at the batch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.profiling.types import OpRecord, Profile

_INDEXED = re.compile(r"^(?P<prefix>.*?)\.(?P<index>\d+)(?P<rest>\..*)?$")
_NUMERIC = ("flops", "macs", "weight_elems", "input_elems", "output_elems", "parallel_work")


def _split_path(path: str) -> tuple[str, int, str] | None:
    """"layers.5.self_attn.q_proj" -> ("layers", 5, "self_attn.q_proj")."""
    match = _INDEXED.match(path)
    if match is None:
        return None
    return match["prefix"], int(match["index"]), (match["rest"] or "").lstrip(".")


def _signature(op: OpRecord, rel_path: str) -> tuple:
    return (op.op, op.category, rel_path, op.module_type, op.flops, op.macs, op.weight_elems,
            op.input_elems, op.output_elems, op.parallel_work, op.gemm_mnk, op.depthwise,
            op.stored_weight_bytes)


@dataclass(frozen=True)
class LayerStack:
    """Ops before the repeated blocks, the ops of one block (paths relative to the block),
    how many blocks there are, and the ops after them."""

    head: list[OpRecord]
    block: list[OpRecord]
    count: int
    tail: list[OpRecord]
    block_prefix: str = ""

    @property
    def ops(self) -> list[OpRecord]:
        return self.head + self.block + self.tail

    def block_weight_elems(self) -> int:
        return sum(op.weight_elems for op in self.block)


def collapse(profile: Profile) -> LayerStack:
    """Split the profile's ops into head, identical blocks and tail.

    The block stack is the indexed container (``layers.N``) with the most indices whose ops
    are contiguous; when the blocks are not all identical (or there is none) the whole
    model is returned as the head with ``count`` 0, which the planner predicts as it is.
    """
    ops = profile.ops
    prefixes: dict[str, set[int]] = {}
    for op in ops:
        split = _split_path(op.module_path)
        if split is not None:
            prefixes.setdefault(split[0], set()).add(split[1])
    if not prefixes:
        return LayerStack(head=list(ops), block=[], count=0, tail=[])
    prefix = max(prefixes, key=lambda p: len(prefixes[p]))
    indices = sorted(prefixes[prefix])
    members = [i for i, op in enumerate(ops) if (s := _split_path(op.module_path)) is not None and s[0] == prefix]
    first, last = members[0], members[-1]
    if len(members) != last - first + 1 or indices != list(range(len(indices))):
        return LayerStack(head=list(ops), block=[], count=0, tail=[])
    blocks: dict[int, list[tuple]] = {}
    block_ops: list[OpRecord] = []
    for op in ops[first:last + 1]:
        _, index, rest = _split_path(op.module_path)  # type: ignore[misc]
        blocks.setdefault(index, []).append(_signature(op, rest))
        if index == 0:
            block_ops.append(op)
    reference = blocks[0]
    if any(sig != reference for sig in blocks.values()):
        return LayerStack(head=list(ops), block=[], count=0, tail=[])
    return LayerStack(head=list(ops[:first]), block=block_ops, count=len(indices), tail=list(ops[last + 1:]),
                      block_prefix=prefix)


def _same_structure(a: list[OpRecord], b: list[OpRecord]) -> bool:
    return len(a) == len(b) and all(
        x.op == y.op and x.module_path == y.module_path and x.category == y.category for x, y in zip(a, b)
    )


def _affine_op(one: OpRecord, two: OpRecord, batch: int) -> OpRecord:
    step = batch - 1
    values = {name: getattr(one, name) + step * (getattr(two, name) - getattr(one, name)) for name in _NUMERIC}
    mnk = None
    if one.gemm_mnk is not None and two.gemm_mnk is not None:
        mnk = tuple(x + step * (y - x) for x, y in zip(one.gemm_mnk, two.gemm_mnk))
    shape = [x + step * (y - x) for x, y in zip(one.output_shape, two.output_shape)] \
        if len(one.output_shape) == len(two.output_shape) else list(one.output_shape)
    return one.model_copy(update={**values, "gemm_mnk": mnk, "output_shape": shape})


@dataclass(frozen=True)
class BatchedStack:
    """A decode step's collapsed profile at any batch, from counts at batch 1 and batch 2."""

    one: LayerStack
    two: LayerStack
    profile_one: Profile
    profile_two: Profile

    @classmethod
    def of(cls, profile_one: Profile, profile_two: Profile) -> BatchedStack | None:
        """None when the two profiles do not line up op for op (then count each batch)."""
        one, two = collapse(profile_one), collapse(profile_two)
        if one.count != two.count or not all(
            _same_structure(x, y) for x, y in ((one.head, two.head), (one.block, two.block), (one.tail, two.tail))
        ):
            return None
        return cls(one, two, profile_one, profile_two)

    def at(self, batch: int) -> LayerStack:
        if batch == 1:
            return self.one
        if batch == 2:
            return self.two

        def interp(a: list[OpRecord], b: list[OpRecord]) -> list[OpRecord]:
            return [_affine_op(x, y, batch) for x, y in zip(a, b)]

        return LayerStack(
            head=interp(self.one.head, self.two.head), block=interp(self.one.block, self.two.block),
            count=self.one.count, tail=interp(self.one.tail, self.two.tail), block_prefix=self.one.block_prefix,
        )

    def kv_cache_elems(self, batch: int) -> int:
        a, b = self.profile_one.kv_cache_elems, self.profile_two.kv_cache_elems
        return a + (batch - 1) * (b - a)
