"""Validated shapes of platform and framework data (pydantic v2).

These are the contract between the YAML seed files, the database tables, the CLI, the
service and the predictor. Every figure carries its source. No torch import.

The database issue owns this module and may add fields; the predictor relies on the
names below, so renaming any of them is a breaking change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DeviceClass = Literal["edge_gpu_soc", "datacenter_gpu", "desktop_gpu", "cpu", "npu", "mobile_soc"]
DEVICE_CLASSES: tuple[str, ...] = ("edge_gpu_soc", "datacenter_gpu", "desktop_gpu", "cpu", "npu", "mobile_soc")
Engine = Literal["tensor", "vector", "npu"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in YAML must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Figure(Strict):
    """A number with where it comes from."""

    value: float
    source: str
    note: str | None = None


class Peak(Strict):
    """A dense peak in TFLOPS (float) or TOPS (int) on one engine."""

    value: float = Field(gt=0)
    engine: Engine
    source: str
    derivation: str | None = None


class Memory(Strict):
    capacity_gb: Figure
    bandwidth_gbs: Figure
    type: str | None = None


class Parallelism(Strict):
    """What the predictor's utilisation term compares a kernel's work against."""

    units: int = Field(gt=0)  # SMs, CPU cores, NPU cores
    unit_kind: Literal["sm", "cu", "core", "npu_core", "eu"]
    clock_ghz: float = Field(gt=0)
    source: str


class PlatformSpec(Strict):
    id: str
    name: str
    vendor: str
    device_class: DeviceClass
    #: matmul-class kernels: tensor/matrix engine peaks per precision (dense)
    matrix_peaks: dict[str, Peak] = Field(default_factory=dict)
    #: other kernels: vector/SIMD peaks per precision (dense)
    vector_peaks: dict[str, Peak] = Field(default_factory=dict)
    memory: Memory
    power_w: Figure | None = None
    compute_capability: str | None = None  # e.g. "8.7" for NVIDIA GPUs
    features: list[str] = Field(default_factory=list)  # sm_87, avx512_vnni, amx, neon_dotprod, fp16_arith
    parallelism: Parallelism
    notes: str | None = None
    sources: list[str] = Field(default_factory=list)

    def peak_tflops(self, precision: str, matmul: bool) -> float | None:
        """Dense peak for a precision: the matrix engine for matmul-class kernels when it
        has one, else the vector units. None when the device has no path at that precision."""
        if matmul and precision in self.matrix_peaks:
            return self.matrix_peaks[precision].value
        peak = self.vector_peaks.get(precision)
        return peak.value if peak else None


class PrecisionSupport(Strict):
    """One precision a framework runs on one device class, and under what condition."""

    device_class: DeviceClass
    precision: str  # a scheme name: fp32 ... int8, w8a16, w4a16
    min_compute_capability: str | None = None  # "8.0" for bf16 on NVIDIA
    requires_features: list[str] = Field(default_factory=list)  # e.g. ["avx512_vnni"]
    excluded_platforms: list[str] = Field(default_factory=list)  # e.g. ["jetson-tx2"]
    note: str | None = None
    source: str


class Fusion(Strict):
    bn_folding: bool
    epilogue_fusion: bool  # elementwise ops fused into the preceding matmul-class kernel
    attention_fusion: bool
    source: str


class Overhead(Strict):
    per_kernel_us: Figure  # paid by every kernel launch / op dispatch
    per_call_us: Figure  # paid once per inference call


class Efficiency(Strict):
    """Fraction of datasheet peak the framework's kernels reach when the device is full."""

    compute: Figure
    bandwidth: Figure


class FrameworkSpec(Strict):
    id: str
    name: str
    device_classes: list[DeviceClass]
    support: list[PrecisionSupport]
    int8_calibration: Literal["required", "optional", "none"]
    fusion: Fusion
    overhead: Overhead
    efficiency: Efficiency
    notes: str | None = None
    sources: list[str] = Field(default_factory=list)


class CalibrationSpec(Strict):
    """Measured achievable figures for one platform (and framework, when it is specific)."""

    platform_id: str
    framework_id: str | None = None
    measured_at: str  # ISO 8601 date-time
    method: str
    tool_version: str
    matmul_tflops: dict[str, float] = Field(default_factory=dict)  # achievable per precision
    vector_tflops: dict[str, float] = Field(default_factory=dict)
    bandwidth_gbs: float | None = None
    per_op_overhead_us: float | None = None  # eager dispatch cost per op
    graph_kernel_us: float | None = None  # per-kernel cost under CUDA-graph replay
    #: (work items, fraction of achievable peak) points of the utilisation curve
    utilisation_curve: list[tuple[float, float]] = Field(default_factory=list)
    notes: str | None = None
