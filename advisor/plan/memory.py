"""Device memory of a served decoder: weights shard, activation workspace, framework
reserve, and the KV cache in whole pages; the largest concurrency that fits.

How the serving frameworks size their KV pool, which this follows:
* vLLM profiles a forward pass at ``max_num_batched_tokens`` to find the activation peak,
  then gives the KV cache what is left of ``gpu_memory_utilization`` x device memory after
  weights and that peak (``fraction_of: total``);
* TensorRT-LLM gives the KV cache ``free_gpu_memory_fraction`` of the memory still free
  after weights and activations (``fraction_of: free``).
A request holds pages for its prompt and all its output (the planner sizes for the full
``input + output`` tokens, so no request is preempted at steady state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.domain.serving import ServingTraits
from advisor.errors import InputError
from advisor.plan.stack import LayerStack, collapse
from advisor.precision import scheme as scheme_spec
from advisor.predict.kv_cache import blocks_per_sequence, kv_block_bytes, kv_cache_bytes_per_token
from advisor.predict.parallel import weight_elems_per_device
from advisor.profiling.types import Category, Profile

GB = 1e9


@dataclass(frozen=True)
class ServingShape:
    """The facts of a decoder the memory plan needs, read from its profiles."""

    params: int
    #: parameters inside the repeated blocks (what pipeline stages divide)
    block_params: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    #: largest live activation (input + output elements of one op) per prompt token
    live_elems_per_token: float


def _attention_op(stack: LayerStack):
    for op in stack.block or stack.head:
        if op.category == Category.matmul and op.weight_elems == 0 and "attention" in op.op:
            return op
    return None


def serving_shape(model: str, decode: Profile, stack: LayerStack, prefill: Profile) -> ServingShape:
    """Layers from the repeated blocks, head_dim from the decode attention's output, query
    heads from the prefill attention's output ([batch, heads, tokens, head_dim]), K/V heads
    from the cache size the profile reports (2 x layers x kv_heads x head_dim per token)."""
    if decode.kv_cache_elems <= 0 or not decode.context:
        raise InputError(f"model '{model}' has no KV cache in its decode profile: plan serves decoder language models")
    attention = _attention_op(stack)
    layers = stack.count or 1
    if attention is None or not attention.output_shape:
        raise InputError(f"model '{model}': no attention op found in its decode profile; cannot size its KV cache")
    head_dim = attention.output_shape[-1]
    per_token = decode.kv_cache_elems / (decode.batch * decode.context)
    kv_heads = max(1, round(per_token / (2 * layers * head_dim)))
    prefill_attention = _attention_op(collapse(prefill))
    heads = prefill_attention.output_shape[1] if prefill_attention is not None and len(prefill_attention.output_shape) == 4 \
        else kv_heads
    tokens = max(1, prefill.seq_len or 1) * prefill.batch
    live = max((op.input_elems + op.output_elems for op in prefill.ops), default=0) / tokens
    block_params = stack.count * stack.block_weight_elems()
    return ServingShape(params=decode.params, block_params=min(block_params, decode.params), layers=layers,
                        heads=heads, kv_heads=kv_heads, head_dim=head_dim, live_elems_per_token=live)


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes per device of each part, and how many requests' KV pages fit."""

    capacity_gb: float
    weights_gb: float
    workspace_gb: float
    reserve_gb: float  # runtime overhead plus memory the framework leaves unused
    kv_budget_gb: float
    kv_bytes_per_token: float
    block_tokens: int
    pages_per_sequence: int
    max_concurrency: int

    @property
    def page_gb(self) -> float:
        return kv_block_bytes(self.kv_bytes_per_token, self.block_tokens) / GB

    @property
    def fits(self) -> bool:
        return self.max_concurrency >= 1

    @property
    def needed_for_one_gb(self) -> float:
        """Device memory one request needs (weights, workspace, reserve, its KV pages)."""
        return self.weights_gb + self.workspace_gb + self.reserve_gb + self.pages_per_sequence * self.page_gb

    def used_gb(self, concurrency: int) -> float:
        """Memory in use per device with ``concurrency`` requests' pages allocated."""
        return self.weights_gb + self.workspace_gb + self.reserve_gb + concurrency * self.pages_per_sequence * self.page_gb


def plan_memory(
    shape: ServingShape,
    capacity_gb: float,
    traits: ServingTraits,
    scheme: str,
    kv_width: float,
    *,
    tensor_parallel: int,
    pipeline_parallel: int,
    sequence_tokens: int,
) -> MemoryPlan:
    """The memory plan of one device of a ``tensor_parallel`` x ``pipeline_parallel`` group."""
    s = scheme_spec(scheme)
    tp, pp = tensor_parallel, pipeline_parallel
    weights = weight_elems_per_device(shape.params, shape.block_params, tp, pp) * s.weight_bytes
    workspace = shape.live_elems_per_token * traits.max_batch_tokens * s.activation_bytes / tp
    runtime = traits.runtime_overhead_gb * GB
    capacity = capacity_gb * GB
    if traits.fraction_of == "total":
        budget = capacity * traits.memory_fraction - runtime - weights - workspace
        reserve = runtime + capacity * (1 - traits.memory_fraction)
    else:
        free = capacity - runtime - weights - workspace
        budget = free * traits.memory_fraction
        reserve = runtime + max(0.0, free) * (1 - traits.memory_fraction)
    per_token = kv_cache_bytes_per_token(shape.layers, shape.kv_heads, shape.head_dim, kv_width,
                                         tensor_parallel=tp, pipeline_parallel=pp)
    pages = math.floor(max(0.0, budget) / kv_block_bytes(per_token, traits.kv_block_tokens))
    per_sequence = blocks_per_sequence(sequence_tokens, traits.kv_block_tokens)
    concurrency = min(pages // per_sequence, traits.max_sequences)
    return MemoryPlan(
        capacity_gb=capacity_gb, weights_gb=weights / GB, workspace_gb=workspace / GB, reserve_gb=reserve / GB,
        kv_budget_gb=budget / GB, kv_bytes_per_token=per_token, block_tokens=traits.kv_block_tokens,
        pages_per_sequence=per_sequence, max_concurrency=int(concurrency),
    )
