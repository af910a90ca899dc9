"""Bytes of an LLM's key/value cache per token and per page, on one device of a split model.

The width of one cached element is advisor.precision.kv_cache_bytes (the one width the
predictor, the memory estimate and the planner use); this module turns it into bytes per
token on a tensor-/pipeline-parallel rank and into whole pages. No torch import.
"""

from __future__ import annotations

import math


def kv_heads_per_device(kv_heads: int, tensor_parallel: int) -> int:
    """K/V heads each tensor-parallel rank holds: an even split, and a whole replicated
    head when there are fewer heads than ranks (Megatron-style GQA sharding)."""
    return max(1, math.ceil(kv_heads / tensor_parallel))


def kv_cache_bytes_per_token(
    layers: int,
    kv_heads: int,
    head_dim: int,
    width: float,
    *,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
) -> float:
    """Bytes one token's keys and values occupy on one device: 2 (K and V) x the layers of
    its pipeline stage x the K/V heads of its tensor-parallel rank x head_dim x width."""
    stage_layers = math.ceil(layers / pipeline_parallel)
    return 2.0 * stage_layers * kv_heads_per_device(kv_heads, tensor_parallel) * head_dim * width


def kv_block_bytes(bytes_per_token: float, block_tokens: int) -> float:
    """One page of a paged KV cache (vLLM blocks, TensorRT-LLM tokens_per_block)."""
    return bytes_per_token * block_tokens


def blocks_per_sequence(tokens: int, block_tokens: int) -> int:
    """Pages a sequence of ``tokens`` holds: the last page is allocated whole."""
    return math.ceil(tokens / block_tokens)
