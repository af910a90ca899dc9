"""Bytes of an LLM's key/value cache: the one place that computes them.

The planner sizes its KV pages with it, and the predictor's decode cost model can read
the cache at the same width (a KV-cache dtype independent of the weight scheme, e.g. an
fp8 cache under fp16 weights). No torch import.
"""

from __future__ import annotations

import math

from advisor.precision import kv_cache_bytes


def kv_cache_width(scheme: str, kv_cache: str | None = None) -> float:
    """Bytes per cached element: ``kv_cache`` (a precision name) when given, else the
    framework default for the scheme (16-bit whatever the weights; fp32 for fp32 models).
    One definition shared with the predictor: advisor.precision.kv_cache_bytes."""
    return kv_cache_bytes(scheme, kv_cache)


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
