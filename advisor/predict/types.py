"""What the predictor returns: one Prediction per model x scheme x framework on a target."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Bound = Literal["compute", "memory", "overhead"]


class KernelPrediction(BaseModel):
    """One kernel after fusion: the ops it holds and why it takes the time it takes."""

    name: str  # module path of the kernel's main op
    kind: str  # e.g. "conv+bn+silu", "linear", "elementwise"
    ops: list[str]
    flops: int
    bytes: float
    intensity: float
    compute_ms: float
    memory_ms: float
    overhead_ms: float
    utilisation: float  # fraction of the device the kernel fills (0..1]
    time_ms: float
    bound: Bound
    achieved_tflops: float


class Prediction(BaseModel):
    model: str
    target: str
    framework: str
    precision: str
    batch: int
    phase: str | None = None
    latency_ms: float
    #: p10-p90 range of the measured latency (advisor.predict.intervals, configs/intervals.yaml)
    latency_ms_low: float = 0.0
    latency_ms_high: float = 0.0
    #: the interval class the range comes from and its evidence: what dominates the uncertainty
    uncertainty: str = ""
    throughput_per_s: float  # items/s, tokens/s for LLM decode and prefill
    bound: Bound
    memory_mb: float
    flops: int
    macs: int
    params: int
    layers: list[KernelPrediction] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    #: where each factor came from: "calibration <date>" or "datasheet x framework efficiency"
    provenance: dict[str, str] = Field(default_factory=dict)
