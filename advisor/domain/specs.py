"""Validated shapes of platform and framework data (pydantic v2).

These are the contract between the YAML seed files, the database tables, the CLI, the
service and the predictor. Every figure carries its source. No torch import.

The store persists these, the predictor and the rules read them; the predictor relies on the
names below, so renaming any of them is a breaking change.

Validation is strict on purpose: a typo in a user's YAML (an unknown key, a precision
name that does not exist, a sparse headline figure passed off as dense, a zero
bandwidth) must be refused with a message naming the field, never stored.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from advisor.domain.vocab import DeviceClass, check_compute_capability, compute_capability_tuple
from advisor.precision import PRECISIONS, SCHEMES, Precision

Engine = Literal["tensor", "vector", "npu"]

#: Platform and framework ids: lower-case kebab-case (design.md).
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Feature tokens: sm_87, avx512_vnni, amx, neon_dotprod, fp16_arith...
FEATURE_PATTERN = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(f"id '{value}' must be lower-case kebab-case, e.g. jetson-orin-nano")
    return value


def _check_precision_keys(peaks: dict, what: str) -> dict:
    """Peak tables are keyed by precision; keep them in the canonical PRECISIONS order so
    that what is stored and exported does not depend on the order a user wrote."""
    unknown = [key for key in peaks if key not in PRECISIONS]
    if unknown:
        raise ValueError(f"unknown precision '{unknown[0]}' in {what} (valid: {', '.join(PRECISIONS)})")
    return {key: peaks[key] for key in PRECISIONS if key in peaks}


class Strict(BaseModel):
    """Unknown keys are errors: a typo in YAML must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Figure(Strict):
    """A number with where it comes from."""

    value: float
    source: str
    note: str | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"value {value} is not a finite number")
        return value


class Peak(Strict):
    """A dense peak in TFLOPS (float) or TOPS (int) on one engine.

    ``dense`` exists so that a sparse headline cannot slip in unnoticed: writing
    ``dense: false`` is refused (the roofline needs dense figures; the 2:4-sparse
    headline is twice the dense figure). Sparse headlines may be recorded for reference
    in ``PlatformSpec.sparse_headline``.
    """

    value: float = Field(gt=0)
    engine: Engine
    source: str
    derivation: str | None = None
    note: str | None = None
    dense: bool = True

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"value {value} is not a finite number")
        return value

    @field_validator("dense")
    @classmethod
    def _dense_only(cls, dense: bool) -> bool:
        if not dense:
            raise ValueError("sparse figure refused: peaks must be dense (the 2:4-sparse headline is 2x the dense figure); record it under sparse_headline instead")
        return dense


class PositiveFigure(Figure):
    """A figure that must be > 0 (a bandwidth or capacity of zero is a typo, and would
    divide by zero in the roofline)."""

    value: float = Field(gt=0)


class Memory(Strict):
    capacity_gb: PositiveFigure
    bandwidth_gbs: PositiveFigure
    type: str | None = None
    #: on-chip memory for accelerators that keep weights and activations on chip (NPUs)
    on_chip_mb: PositiveFigure | None = None
    #: host link for attached accelerators: bytes that leave the chip cross it
    host_link_gbs: PositiveFigure | None = None
    #: CPUs: the private (per-core L2) caches of the cores a runtime uses, summed; a kernel
    #: whose operands exceed it streams them from the shared LLC/DRAM (see docs/predictor.md)
    private_cache_mb: PositiveFigure | None = None


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
    matrix_peaks: dict[Precision, Peak] = Field(default_factory=dict)
    #: other kernels: vector/SIMD peaks per precision (dense)
    vector_peaks: dict[Precision, Peak] = Field(default_factory=dict)
    #: a separate on-package accelerator (Jetson DLA, Apple Neural Engine) that only
    #: frameworks which target it use; the GPU/CPU figures above stay the default
    npu_peaks: dict[Precision, Peak] = Field(default_factory=dict)
    #: vendor 2:4-sparse headline figures, for reference only: never used for prediction
    sparse_headline: dict[Precision, Figure] = Field(default_factory=dict)
    memory: Memory
    power_w: Figure | None = None
    compute_capability: str | None = None  # e.g. "8.7" for NVIDIA GPUs
    features: list[str] = Field(default_factory=list)  # sm_87, avx512_vnni, amx, neon_dotprod, fp16_arith
    parallelism: Parallelism
    notes: str | None = None
    sources: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _kebab_id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("matrix_peaks", "vector_peaks", "npu_peaks", "sparse_headline")
    @classmethod
    def _precision_keys(cls, peaks: dict, info) -> dict:
        return _check_precision_keys(peaks, info.field_name)

    @field_validator("compute_capability")
    @classmethod
    def _cc_format(cls, value: str | None) -> str | None:
        return check_compute_capability(value, "compute_capability", "8.7")

    @field_validator("features")
    @classmethod
    def _feature_tokens(cls, features: list[str]) -> list[str]:
        for feature in features:
            if not FEATURE_PATTERN.match(feature):
                raise ValueError(f"feature '{feature}' must be a lower-case token like sm_87 or avx512_vnni")
        if len(set(features)) != len(features):
            raise ValueError("features lists a feature twice")
        return features

    @model_validator(mode="after")
    def _engines_and_density(self) -> "PlatformSpec":
        for precision, peak in self.matrix_peaks.items():
            if peak.engine == "vector":
                raise ValueError(f"matrix_peaks.{precision}.engine: engine 'vector' belongs in vector_peaks (got 'vector')")
        for precision, peak in self.vector_peaks.items():
            if peak.engine != "vector":
                raise ValueError(f"vector_peaks.{precision}.engine: engine '{peak.engine}' belongs in matrix_peaks or npu_peaks (got '{peak.engine}')")
        for precision, peak in self.npu_peaks.items():
            if peak.engine != "npu":
                raise ValueError(f"npu_peaks.{precision}.engine: engine must be 'npu' (got '{peak.engine}')")
        dense = set(self.matrix_peaks) | set(self.vector_peaks) | set(self.npu_peaks)
        for precision in self.sparse_headline:
            if precision not in dense:
                raise ValueError(
                    f"sparse_headline.{precision}: sparse-only figure (got {self.sparse_headline[precision].value:g}); "
                    f"give the dense {precision} peak in matrix_peaks (half the sparse headline)"
                )
        if not dense:
            raise ValueError("matrix_peaks: no peak at any precision; give at least one dense figure in matrix_peaks or vector_peaks (got none)")
        return self

    def has_feature(self, feature: str) -> bool:
        return feature in self.features

    def peak_tflops(self, precision: str, matmul: bool) -> float | None:
        """Dense peak for a precision: the matrix engine for matmul-class kernels when it
        has one, else the vector units. None when the device has no path at that precision.

        On a device whose only engine is an NPU (Coral, Hailo) the NPU also runs the
        non-matmul kernels, so those fall back to its figure too."""
        if matmul and precision in self.matrix_peaks:
            return self.matrix_peaks[precision].value
        peak = self.vector_peaks.get(precision)
        if peak is None and not matmul and not self.vector_peaks:
            npu = self.matrix_peaks.get(precision)
            if npu is not None and npu.engine == "npu":
                return npu.value
        return peak.value if peak else None


class PrecisionSupport(Strict):
    """One precision a framework runs on one device class, and under what condition.

    Several entries for the same device class and precision are alternatives (any one
    applying is enough: e.g. fp16 on CPUs with AVX512-FP16 or on Arm with FP16
    arithmetic). Within one entry the conditions are all-of: the platform's compute capability must be at least
    ``min_compute_capability`` (a platform without one fails such a condition), it must
    list every feature in ``requires_features``, and its id must not be excluded.
    """

    device_class: DeviceClass
    precision: str  # a scheme name: fp32 ... int8, w8a16, w4a16
    min_compute_capability: str | None = None  # "8.0" for bf16 on NVIDIA
    requires_features: list[str] = Field(default_factory=list)  # e.g. ["avx512_vnni"]
    excluded_platforms: list[str] = Field(default_factory=list)  # e.g. ["jetson-tx2"]
    note: str | None = None
    source: str

    @field_validator("precision")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value not in SCHEMES:
            raise ValueError(f"unknown precision '{value}' (valid: {', '.join(SCHEMES)})")
        return value

    @field_validator("min_compute_capability")
    @classmethod
    def _cc_format(cls, value: str | None) -> str | None:
        return check_compute_capability(value, "min_compute_capability", "8.0")

    @field_validator("excluded_platforms")
    @classmethod
    def _ids(cls, ids: list[str]) -> list[str]:
        return [_check_id(i) for i in ids]

    def unmet_condition(self, platform: PlatformSpec) -> str | None:
        """Why this entry does not apply to the platform, or None when it does."""
        if platform.device_class != self.device_class:
            return f"runs on {self.device_class}, not {platform.device_class}"
        if platform.id in self.excluded_platforms:
            return f"{platform.id} is excluded" + (f" ({self.note})" if self.note else "")
        if self.min_compute_capability is not None:
            if platform.compute_capability is None:
                return f"needs compute capability >= {self.min_compute_capability}; {platform.id} has none"
            if compute_capability_tuple(platform.compute_capability) < compute_capability_tuple(self.min_compute_capability):
                return f"needs compute capability >= {self.min_compute_capability}; {platform.id} has {platform.compute_capability}"
        missing = [f for f in self.requires_features if f not in platform.features]
        if missing:
            return f"needs {', '.join(missing)}, which {platform.id} lacks"
        return None


class Fusion(Strict):
    bn_folding: bool
    epilogue_fusion: bool  # elementwise ops fused into the preceding matmul-class kernel
    attention_fusion: bool
    source: str
    #: chains of elementwise ops merged into one kernel even when not into a matmul
    #: (torch.compile's pointwise fusion); implied by epilogue_fusion in most runtimes
    elementwise_fusion: bool = False
    #: activations that the quantized (int8) graph runs as separate quantized nodes instead of
    #: fusing them into the preceding kernel, e.g. onnxruntime's QDQ SiLU -> QLinearSigmoid +
    #: QLinearMul (each a full pass over the tensor); names are aten op names ("silu")
    quantized_unfused: list[str] = Field(default_factory=list)
    note: str | None = None


class Overhead(Strict):
    per_kernel_us: Figure  # paid by every kernel launch / op dispatch
    per_call_us: Figure  # paid once per inference call
    #: CPU cycles per window element per core of max pooling (a scalar loop over the window
    #: per output element, e.g. eager PyTorch on NCHW tensors); None = priced like any
    #: other vector kernel
    window_op_cycles: Figure | None = None

    @model_validator(mode="after")
    def _non_negative(self) -> "Overhead":
        for name in ("per_kernel_us", "per_call_us"):
            if getattr(self, name).value < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name).value:g})")
        return self


class Efficiency(Strict):
    """Fraction of datasheet peak the framework's kernels reach when the device is full."""

    compute: Figure
    bandwidth: Figure

    @model_validator(mode="after")
    def _fraction(self) -> "Efficiency":
        for name in ("compute", "bandwidth"):
            value = getattr(self, name).value
            if not 0 < value <= 1:
                raise ValueError(f"{name} efficiency must be in (0, 1] (got {value:g})")
        return self


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

    @field_validator("id")
    @classmethod
    def _kebab_id(cls, value: str) -> str:
        return _check_id(value)

    @model_validator(mode="after")
    def _support_within_classes(self) -> "FrameworkSpec":
        for index, entry in enumerate(self.support):
            if entry.device_class not in self.device_classes:
                raise ValueError(f"support.{index}.device_class: '{entry.device_class}' is not in device_classes (got '{entry.device_class}')")
        return self

    def support_for(self, platform: PlatformSpec, scheme: str) -> PrecisionSupport | None:
        """The support entry that lets this framework run ``scheme`` on ``platform``, if any."""
        for entry in self.support:
            if entry.precision == scheme and entry.unmet_condition(platform) is None:
                return entry
        return None

    def why_unsupported(self, platform: PlatformSpec, scheme: str) -> str | None:
        """None when supported, else a sentence a person can read."""
        if platform.device_class not in self.device_classes:
            return f"{self.id} does not run on {platform.device_class} devices like {platform.id}"
        entries = [e for e in self.support if e.precision == scheme and e.device_class == platform.device_class]
        if not entries:
            return f"{self.id} has no {scheme} path on {platform.device_class}"
        for entry in entries:
            reason = entry.unmet_condition(platform)
            if reason is None:
                return None
        return f"{self.id} {scheme}: {reason}"


class CalibrationSpec(Strict):
    """Measured achievable figures for one platform (and framework, when it is specific)."""

    platform_id: str
    framework_id: str | None = None
    measured_at: str  # ISO 8601 date-time
    method: str
    tool_version: str
    matmul_tflops: dict[Precision, float] = Field(default_factory=dict)  # achievable per precision
    vector_tflops: dict[Precision, float] = Field(default_factory=dict)
    bandwidth_gbs: float | None = None
    per_op_overhead_us: float | None = None  # eager dispatch cost per op
    graph_kernel_us: float | None = None  # per-kernel cost under CUDA-graph replay
    #: (work items, fraction of achievable peak) points of the utilisation curve
    utilisation_curve: list[tuple[float, float]] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("matmul_tflops", "vector_tflops")
    @classmethod
    def _precision_keys(cls, peaks: dict, info) -> dict:
        return _check_precision_keys(peaks, info.field_name)
