"""Memory footprint of a deployment: weights + largest live activations (+ KV cache).

Why: "does it fit" is the first question on edge devices and for large language models.
Weights are stored at the scheme's weight width (with its group scales and zero points);
activations at its activation width; the KV cache of a decode step at its own dtype (by
default the model's 16-bit dtype whatever the weight scheme, advisor.precision.default_kv_cache).
The largest live activation set is approximated by the op with the largest input + output,
the peak a runtime that frees tensors as soon as their last consumer ran would reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.precision import BYTES_PER_ELEMENT, kv_cache_bytes, scheme as scheme_spec
from advisor.profiling.types import Profile

MB = 1e6
GB = 1e9


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: float
    activations_bytes: float
    kv_cache_bytes: float
    runtime_bytes: float = 0.0

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.activations_bytes + self.kv_cache_bytes + self.runtime_bytes

    @property
    def total_mb(self) -> float:
        return self.total_bytes / MB


def estimate_memory(
    profile: Profile,
    scheme: str,
    runtime_mb: float = 0.0,
    *,
    kv_cache: str | None = None,
    float_weight_elems: int = 0,
) -> MemoryEstimate:
    """Weights at the scheme's stored width (group scales included), ``float_weight_elems`` of
    them kept at the model's float dtype by the runtime, the KV cache at ``kv_cache`` (None: the
    scheme's default dtype) and the largest live activation set."""
    s = scheme_spec(scheme)
    largest_live = max((op.input_elems + op.output_elems for op in profile.ops), default=0)
    float_elems = min(float_weight_elems, profile.params)
    return MemoryEstimate(
        weights_bytes=(profile.params - float_elems) * s.weight_bytes + float_elems * BYTES_PER_ELEMENT[s.float_dtype],
        activations_bytes=largest_live * s.activation_bytes,
        kv_cache_bytes=profile.kv_cache_elems * kv_cache_bytes(scheme, kv_cache),
        runtime_bytes=runtime_mb * MB,
    )
