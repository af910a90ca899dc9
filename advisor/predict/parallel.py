"""Tensor parallelism: what one rank computes, holds and exchanges, and what the exchange costs.

The one implementation that `advisor plan` (per pipeline stage of a served decoder) and
`advisor recommend` (a model that does not fit one device) both use.

Layout: Megatron-LM's (Shoeybi et al. 2019, section 3), which vLLM and TensorRT-LLM follow.
In each block the attention heads and the MLP's intermediate features are split across the
``n`` ranks. The first projections (q/k/v, gate/up) are column-parallel: every rank reads the
whole input and writes 1/n of the output. The last ones (o_proj, down_proj) are row-parallel:
each rank reads its 1/n slice and writes a full-size partial sum, which an all-reduce adds up.
Norms and residual adds run replicated on every rank. The LM head is split over the vocabulary
(its logits are gathered). Modules are recognised by the names Hugging Face decoders use; ops
outside them are replicated, which over-counts (never under-counts) a rank's work.

Memory: each rank holds 1/n of the weights (vLLM also splits the embedding over the
vocabulary: VocabParallelEmbedding) and the K/V heads of its attention heads (a whole
replicated head when there are fewer K/V heads than ranks, advisor.predict.kv_cache).

Collectives: ring algorithms, as NCCL and RCCL use inside a node; the cost is the textbook
alpha-beta model (Patarasuk & Yuan 2009; Thakur, Rabenseifner & Gropp 2005): an all-reduce
of ``B`` bytes over ``n`` ranks is a reduce-scatter plus an all-gather, 2(n-1) steps each
moving B/n bytes over every link, so

    time = 2(n-1)/n x B / link bandwidth + 2(n-1) x per-hop latency.

An all-gather is half of it. The all-reduces of one block are priced as one ring over the
block's row-parallel outputs, once per block; collectives are not overlapped with compute
(vLLM and TensorRT-LLM run them between the GEMMs of a block). The link figures are the
platform's ``interconnect`` (hardware_db/platforms, advisor.domain.serving.Interconnect).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from advisor.domain.serving import Interconnect
from advisor.precision import scheme as scheme_spec
from advisor.predict.kv_cache import kv_heads_per_device
from advisor.predict.types import Prediction
from advisor.profiling.types import Category, OpRecord, Profile

US = 1e-6

SHARDED_MODULES = frozenset({
    "self_attn", "attn", "attention", "self_attention", "mixer",
    "mlp", "feed_forward", "ffn", "block_sparse_moe", "moe", "experts",
})
ROW_PARALLEL = frozenset({"o_proj", "out_proj", "down_proj", "dense_4h_to_h", "c_proj", "fc2", "w2", "wo"})
VOCAB_PARALLEL = frozenset({"lm_head", "embed_out", "output"})
#: tensor-parallel degrees tried for a model that does not fit one device (powers of two:
#: what vLLM and TensorRT-LLM deployments use, and what divides the head counts of LLMs)
TENSOR_PARALLEL_DEGREES: tuple[int, ...] = (2, 4, 8)


# -- collectives -----------------------------------------------------------------------------


def ring_all_reduce_s(nbytes: float, ranks: int, bandwidth_gbs: float, latency_us: float) -> float:
    """Seconds for a ring all-reduce of ``nbytes`` over ``ranks`` devices (0 for one)."""
    if ranks <= 1 or nbytes <= 0:
        return 0.0
    steps = 2 * (ranks - 1)
    return steps / ranks * nbytes / (bandwidth_gbs * 1e9) + steps * latency_us * US


def ring_all_gather_s(nbytes: float, ranks: int, bandwidth_gbs: float, latency_us: float) -> float:
    """Seconds for a ring all-gather whose gathered result is ``nbytes`` (0 for one rank)."""
    if ranks <= 1 or nbytes <= 0:
        return 0.0
    steps = ranks - 1
    return steps / ranks * nbytes / (bandwidth_gbs * 1e9) + steps * latency_us * US


def point_to_point_s(nbytes: float, link: Interconnect) -> float:
    """One send between neighbouring pipeline stages."""
    if nbytes <= 0 or link.bandwidth_gbs is None:
        return 0.0
    return nbytes / (link.bandwidth_gbs * 1e9) + (link.latency_us or 0.0) * US


def comm_width(scheme: str) -> float:
    """Bytes per element of an all-reduce: 16-bit activations (fp8/int8 GEMM outputs are
    dequantized before the reduction), 32-bit for fp32/tf32 models."""
    return 4.0 if scheme_spec(scheme).activation in ("fp32", "tf32") else 2.0


def tensor_parallel_comm_s(reduce_elems_per_block: float, blocks: int, gather_elems: float, ranks: int,
                           link: Interconnect | None, scheme: str) -> float:
    """Seconds of collectives per forward of one rank: one ring all-reduce of each block's
    row-parallel outputs, per block, plus the gather of the vocabulary-parallel logits."""
    if ranks <= 1 or link is None or not link.bandwidth_gbs:
        return 0.0
    width = comm_width(scheme)
    latency = link.latency_us or 0.0
    return (blocks * ring_all_reduce_s(reduce_elems_per_block * width, ranks, link.bandwidth_gbs, latency)
            + ring_all_gather_s(gather_elems * width, ranks, link.bandwidth_gbs, latency))


# -- what one rank runs ----------------------------------------------------------------------


def _ceil_div(value: int, parts: int) -> int:
    return -(-value // parts)


def is_linear(op: OpRecord) -> bool:
    return op.category == Category.matmul and op.weight_elems > 0


def is_row_parallel(op: OpRecord) -> bool:
    components = op.module_path.split(".")
    return is_linear(op) and components[-1] in ROW_PARALLEL and bool(SHARDED_MODULES.intersection(components))


def is_vocab_parallel(op: OpRecord) -> bool:
    return is_linear(op) and op.module_path.split(".")[-1] in VOCAB_PARALLEL


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
    if is_vocab_parallel(op):
        return _column(op, n)
    return op


def weight_elems_per_device(params: int, block_params: int, tensor_parallel: int, pipeline_parallel: int = 1) -> float:
    """Weights one rank holds: its pipeline stage's share of the repeated blocks plus the rest
    (embeddings, final norm, LM head, kept on the end stages), split over the tensor ranks."""
    return (block_params / pipeline_parallel + (params - block_params)) / tensor_parallel


def kv_share(kv_heads: int, tensor_parallel: int) -> float:
    """The share of the K/V cache one tensor-parallel rank holds (and reads each decode step)."""
    return kv_heads_per_device(kv_heads, tensor_parallel) / kv_heads


# -- a whole profile split over ranks (recommend) --------------------------------------------

_BLOCK = re.compile(r"^(?P<block>.*?\.\d+)(\.|$)")


@dataclass(frozen=True)
class AttentionHeads:
    """Query heads and K/V heads of a decoder, read from its counted profile."""

    heads: int
    kv_heads: int


def attention_heads(profile: Profile) -> AttentionHeads | None:
    """Query heads from the attention products' output, [batch, heads, tokens, head_dim] or,
    grouped-query, [batch, kv_heads, group x tokens, head_dim] (so heads = dim1 x dim2 /
    tokens, tokens being 1 at decode and the prompt at prefill); K/V heads from the cache the
    profile holds (2 x layers x kv_heads x head_dim per token and sequence). None when the
    profile is not a language model's phase with attention."""
    attention = [op for op in profile.ops
                 if op.category == Category.matmul and op.weight_elems == 0 and "attention" in op.op]
    if profile.phase not in ("prefill", "decode") or not attention or len(attention[0].output_shape) != 4:
        return None
    _, dim1, dim2, head_dim = attention[0].output_shape
    tokens = 1 if profile.phase == "decode" else (profile.seq_len or dim2)
    heads = dim1 * dim2 // tokens if (dim1 * dim2) % tokens == 0 else dim1
    kv_heads = dim1
    if profile.kv_cache_elems > 0 and profile.context:
        per_token = profile.kv_cache_elems / (profile.batch * profile.context)
        kv_heads = max(1, round(per_token / (2 * len(attention) * head_dim)))
    return AttentionHeads(heads=heads, kv_heads=kv_heads)


@dataclass(frozen=True)
class ShardedProfile:
    """One rank's share of a profile, and what its collectives move per forward."""

    profile: Profile
    ranks: int
    reduce_elems_per_block: float
    blocks: int
    gather_elems: int

    def comm_s(self, link: Interconnect | None, scheme: str) -> float:
        return tensor_parallel_comm_s(self.reduce_elems_per_block, self.blocks, self.gather_elems, self.ranks,
                                      link, scheme)


def shard_profile(profile: Profile, heads: AttentionHeads, ranks: int) -> ShardedProfile:
    """``profile`` as one of ``ranks`` tensor-parallel devices runs it: sharded ops, its share
    of the weights and of the K/V cache; the all-reduce sizes are the full row-parallel outputs
    of each block (a block is the indexed container a row-parallel op sits in: layers.N)."""
    row = [op for op in profile.ops if is_row_parallel(op)]
    blocks = {m["block"] for op in row if (m := _BLOCK.match(op.module_path))}
    count = len(blocks) or (1 if row else 0)
    reduce_per_block = sum(op.output_elems for op in row) / count if count else 0.0
    gather = sum(op.output_elems for op in profile.ops if is_vocab_parallel(op))
    sharded = profile.model_copy(update={
        "ops": [shard_op(op, ranks) for op in profile.ops],
        "params": math.ceil(weight_elems_per_device(profile.params, profile.params, ranks)),
        "active_params": (math.ceil(profile.active_params / ranks) if profile.active_params is not None else None),
        "kv_cache_elems": round(profile.kv_cache_elems * kv_share(heads.kv_heads, ranks)),
    })
    return ShardedProfile(profile=sharded, ranks=ranks, reduce_elems_per_block=reduce_per_block, blocks=count,
                          gather_elems=gather)


def tensor_parallel_degrees(link: Interconnect | None, heads: AttentionHeads, cap: int | None) -> list[int]:
    """The degrees a model may be split over on this platform: the interconnect links that many
    devices, they divide the attention heads (vLLM and TensorRT-LLM refuse otherwise), and the
    user's ``--devices`` cap allows them."""
    if link is None or link.kind == "none":
        return []
    most = min(link.max_devices, cap) if cap is not None else link.max_devices
    return [n for n in TENSOR_PARALLEL_DEGREES if n <= most and heads.heads % n == 0]


def with_collectives(prediction: Prediction, comm_s: float, ranks: int) -> Prediction:
    """A rank's prediction with its collectives added: the latency (and its p10-p90 range, by
    the same ratio: the intervals are ratios) grows by ``comm_s``, the throughput shrinks by as
    much; memory stays per device."""
    if comm_s <= 0 or prediction.latency_ms <= 0:
        return prediction
    total_ms = prediction.latency_ms + comm_s * 1e3
    ratio = total_ms / prediction.latency_ms
    return prediction.model_copy(update={
        "latency_ms": total_ms, "latency_ms_low": prediction.latency_ms_low * ratio,
        "latency_ms_high": prediction.latency_ms_high * ratio,
        "throughput_per_s": prediction.throughput_per_s / ratio,
        "provenance": prediction.provenance | {
            "tensor_parallel": f"{ranks} ranks: ring all-reduce per block + logits gather, {comm_s * 1e3:.3g} ms "
                               "per forward (advisor.predict.parallel)"},
    })
