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
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from advisor.domain.serving import DevicePrice, Interconnect, ServingTraits
from advisor.domain.vocab import DeviceClass, check_compute_capability, compute_capability_tuple
from advisor.domain.workload_kinds import WORKLOAD_KINDS
from advisor.precision import PRECISIONS, SCHEMES, Precision
from advisor.safe_input import control_character, describe

Engine = Literal["tensor", "vector", "npu"]

#: Platform and framework ids: lower-case kebab-case (design.md).
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Longest id: the same limit for adding, reading and deleting (the service's paths too).
MAX_ID_LENGTH = 64

# Ranges of every figure (issue 14). Wide enough for any device or runtime we know of, and
# narrow enough that no combination can overflow, underflow to zero or divide by zero in
# the predictor: tests/test_spec_ranges.py predicts at every combination of the bounds.
#: Dense peak per engine, TFLOPS/TOPS: 1 MFLOP/s (below any microcontroller; a Cortex-M4
#: does about 2e-4 TFLOPS) to 100 PFLOP/s (10x the largest dense figure of one device,
#: B200 fp4 at 9 PFLOPS, NVIDIA datasheet).
MIN_PEAK_TFLOPS = 1e-6
MAX_PEAK_TFLOPS = 1e5
#: Memory bandwidth, GB/s: 1 MB/s to 1 PB/s (100x HBM3e's 8 TB/s on B200).
MIN_BANDWIDTH_GBS = 1e-3
MAX_BANDWIDTH_GBS = 1e6
#: Memory capacity, GB: 1 kB to 1 PB.
MIN_CAPACITY_GB = 1e-6
MAX_CAPACITY_GB = 1e6
#: On-chip memory and private caches, MB: 1 kB to 1 PB.
MIN_SIZE_MB = 1e-3
MAX_SIZE_MB = 1e9
#: Parallel units (SMs, cores): 1 to 10 million (Cerebras WSE-3 has 900,000 cores).
MAX_UNITS = 10_000_000
#: Clock, GHz: 1 MHz to 100 GHz.
MIN_CLOCK_GHZ = 1e-3
MAX_CLOCK_GHZ = 100.0
#: Framework efficiency (fraction of peak): 0.1% to 100%.
MIN_EFFICIENCY = 1e-3
#: Per-kernel and per-call costs, microseconds: 0 to 1 s.
MAX_OVERHEAD_US = 1e6
#: Cycles per window element of a pooling loop: 0 to a million.
MAX_WINDOW_OP_CYCLES = 1e6
#: Any other figure (power, reference headlines): magnitude up to 10^12.
MAX_FIGURE = 1e12
#: Work (output elements) of a utilisation-curve point: 0 to 10^18.
MAX_CURVE_WORK = 1e18
#: Characters of a one-line text field (name, vendor, source) and of a note.
MAX_LINE_CHARS = 1000
MAX_NOTE_CHARS = 20_000


def _one_line(value: str) -> str:
    """Names, sources and ids reach terminals: no escape sequences, no line breaks."""
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"control character {bad} is not allowed (escape sequences could rewrite a terminal)")
    return value


def _note_text(value: str) -> str:
    """Notes may have line breaks and tabs, nothing else invisible."""
    bad = control_character(value, allow_newlines=True)
    if bad is not None:
        raise ValueError(f"control character {bad} is not allowed (escape sequences could rewrite a terminal)")
    return value


#: A printable one-line string (names, vendors, sources, tokens).
Line = Annotated[str, StringConstraints(max_length=MAX_LINE_CHARS), AfterValidator(_one_line)]
#: A printable note that may span lines.
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE_CHARS), AfterValidator(_note_text)]
#: Feature tokens: sm_87, avx512_vnni, amx, neon_dotprod, fp16_arith...
FEATURE_PATTERN = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def _check_id(value: str) -> str:
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"id of {len(value)} characters is over the {MAX_ID_LENGTH}-character limit")
    if not ID_PATTERN.match(value):
        raise ValueError(f"id '{describe(value)}' must be lower-case kebab-case, e.g. jetson-orin-nano")
    return value


#: A platform or framework id: lower-case kebab-case, at most MAX_ID_LENGTH characters.
KebabId = Annotated[str, AfterValidator(_check_id)]


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

    value: float = Field(ge=-MAX_FIGURE, le=MAX_FIGURE)
    source: Line
    note: Note | None = None

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

    value: float = Field(ge=MIN_PEAK_TFLOPS, le=MAX_PEAK_TFLOPS)
    engine: Engine
    source: Line
    derivation: Note | None = None
    note: Note | None = None
    dense: bool = True
    #: dense TFLOPS of this (fp16) product when it accumulates in fp16 instead of fp32: GeForce
    #: Ampere/Ada run fp32 accumulation at half rate. Used only by frameworks whose fp16 GEMMs
    #: accumulate in fp16 (``Fusion.fp16_accumulate``); ``value`` stays the fp32-accumulate figure.
    half_accumulate: float | None = Field(default=None, ge=MIN_PEAK_TFLOPS, le=MAX_PEAK_TFLOPS)

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

    value: float = Field(gt=0, le=MAX_FIGURE)


class BandwidthFigure(Figure):
    """GB/s, within [MIN_BANDWIDTH_GBS, MAX_BANDWIDTH_GBS]: bytes / bandwidth stays finite."""

    value: float = Field(ge=MIN_BANDWIDTH_GBS, le=MAX_BANDWIDTH_GBS)


class CapacityFigure(Figure):
    """GB, within [MIN_CAPACITY_GB, MAX_CAPACITY_GB]."""

    value: float = Field(ge=MIN_CAPACITY_GB, le=MAX_CAPACITY_GB)


class SizeFigure(Figure):
    """MB of on-chip memory or cache, within [MIN_SIZE_MB, MAX_SIZE_MB]."""

    value: float = Field(ge=MIN_SIZE_MB, le=MAX_SIZE_MB)


class Memory(Strict):
    capacity_gb: CapacityFigure
    bandwidth_gbs: BandwidthFigure
    type: Line | None = None
    #: on-chip memory for accelerators that keep weights and activations on chip (NPUs)
    on_chip_mb: SizeFigure | None = None
    #: host link for attached accelerators: bytes that leave the chip cross it
    host_link_gbs: BandwidthFigure | None = None
    #: CPUs: the private (per-core L2) caches of the cores a runtime uses, summed; a kernel
    #: whose operands exceed it streams them from the shared LLC/DRAM (see docs/predictor.md)
    private_cache_mb: SizeFigure | None = None


class Parallelism(Strict):
    """What the predictor's utilisation term compares a kernel's work against."""

    units: int = Field(ge=1, le=MAX_UNITS)  # SMs, CPU cores, NPU cores
    unit_kind: Literal["sm", "cu", "core", "npu_core", "eu"]
    clock_ghz: float = Field(ge=MIN_CLOCK_GHZ, le=MAX_CLOCK_GHZ)
    source: Line
    #: the clock the compute units hold under sustained full load where a power cap keeps
    #: them below ``clock_ghz`` (the boost clock the datasheet's peaks are quoted at); the
    #: predictor scales the compute peaks by sustained / boost. None: the boost clock holds.
    sustained_clock_ghz: Figure | None = None

    @model_validator(mode="after")
    def _sustained_not_above_boost(self) -> Parallelism:
        s = self.sustained_clock_ghz
        if s is not None and not MIN_CLOCK_GHZ <= s.value <= self.clock_ghz:
            raise ValueError(
                f"sustained_clock_ghz {s.value} must lie between {MIN_CLOCK_GHZ} and clock_ghz {self.clock_ghz}"
            )
        return self

    @property
    def running_clock_ghz(self) -> float:
        """The clock kernels run at: the sustained clock where a power cap sets one."""
        return self.sustained_clock_ghz.value if self.sustained_clock_ghz is not None else self.clock_ghz

    @property
    def clock_share(self) -> float:
        """Running clock / boost clock: the share of the datasheet compute peaks reached."""
        return self.running_clock_ghz / self.clock_ghz


class PlatformSpec(Strict):
    id: KebabId
    name: Line
    vendor: Line
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
    compute_capability: Line | None = None  # e.g. "8.7" for NVIDIA GPUs
    features: list[Line] = Field(default_factory=list, max_length=256)  # sm_87, avx512_vnni, amx, neon_dotprod, fp16_arith
    parallelism: Parallelism
    #: how devices of this platform are linked for tensor/pipeline parallelism (advisor plan)
    interconnect: Interconnect | None = None
    #: USD per device-hour: a cited cloud list price or an amortised purchase price (advisor plan)
    price_per_device_hour: DevicePrice | None = None
    notes: Note | None = None
    sources: list[Line] = Field(default_factory=list, max_length=256)

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
    min_compute_capability: Line | None = None  # "8.0" for bf16 on NVIDIA
    requires_features: list[Line] = Field(default_factory=list)  # e.g. ["avx512_vnni"]
    excluded_platforms: list[str] = Field(default_factory=list)  # e.g. ["jetson-tx2"]
    note: Note | None = None
    source: Line

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
    source: Line
    #: chains of elementwise ops merged into one kernel even when not into a matmul
    #: (torch.compile's pointwise fusion); implied by epilogue_fusion in most runtimes
    elementwise_fusion: bool = False
    #: activations that the quantized (int8) graph runs as separate quantized nodes instead of
    #: fusing them into the preceding kernel, e.g. onnxruntime's QDQ SiLU -> QLinearSigmoid +
    #: QLinearMul (each a full pass over the tensor); names are aten op names ("silu")
    quantized_unfused: list[Line] = Field(default_factory=list)
    #: precision families (advisor.precision.SchemeSpec.family: int8, fp8, weight_only, gguf)
    #: for which the runtime quantizes each matmul's input in a kernel of its own (vLLM's
    #: scaled_int8_quant / scaled_fp8_quant, llama.cpp CUDA's quantize_q8_1 before mmvq)
    activation_quantize_kernels: list[Line] = Field(default_factory=list)
    #: layers the runtime keeps at 16-bit under a quantized scheme: "first" (the first
    #: weighted matmul) and/or "last" (the last one: the LM head / classifier)
    float_layers: list[Literal["first", "last"]] = Field(default_factory=list)
    #: the source showing that the runtime's fp16 GEMMs accumulate in fp16 (llama.cpp CUDA:
    #: cublasGemmEx with CUBLAS_COMPUTE_16F); then a platform's ``Peak.half_accumulate`` applies.
    #: None: fp32 accumulation (cuBLAS/PyTorch/TensorRT defaults)
    fp16_accumulate: Line | None = None
    #: the source showing that the runtime computes half-precision (fp16/bf16) kernels in fp32
    #: (ATen: cuDNN convolutions with math type FLOAT for HALF data, cuBLAS GEMMs with fp32
    #: compute, elementwise kernels in an fp32 "opmath" type): on a GPU without a matrix engine
    #: for that precision they run at the fp32 CUDA-core rate, not the packed-half one
    half_math_fp32: Line | None = None
    #: the source showing that the runtime runs fp32 dense convolutions (``tf32_convolutions``)
    #: or fp32 matrix multiplications (``tf32_matmuls``) on TF32 tensor cores by default where
    #: the GPU has them (TensorRT: both; PyTorch: cuDNN convolutions only, since 1.12 its
    #: matmuls need set_float32_matmul_precision); then an fp32 scheme prices them at tf32
    tf32_convolutions: Line | None = None
    tf32_matmuls: Line | None = None
    #: GEMMs with more rows than this run on low-bit weights dequantized to fp16 by a kernel of
    #: their own (llama.cpp CUDA before PR #8075: batches over MMQ_MAX_BATCH_SIZE 32 go to
    #: to_fp16 + cuBLAS); None: the GEMM reads the low-bit weights itself
    weight_dequantize_min_rows: int | None = Field(default=None, ge=1)
    #: the source showing that the runtime runs the q, k and v projections of an attention block
    #: as one GEMM over their concatenated weights (TinyChat's qkv_proj, vLLM's QKVParallelLinear):
    #: adjacent weight matmuls of one module that read the same input become one kernel.
    #: None: one GEMM per projection
    fused_qkv: Line | None = None
    #: the source showing that the runtime's attention kernel applies the rotary embedding to the
    #: new query and key and writes the new key and value into the cache itself (TinyChat's
    #: single_query_attention, FasterTransformer's masked multi-head attention): the pointwise and
    #: copy kernels of the attention module just before it join it. None: they run on their own
    attention_prologue_fusion: Line | None = None
    #: the source showing that each normalisation module (RMSNorm, LayerNorm) runs as one kernel
    #: (TinyChat's fused_norm): its reduction and pointwise steps become one kernel that reads the
    #: input once. None: the steps fuse only as far as the pointwise rules allow
    fused_norm: Line | None = None
    note: Note | None = None


class Overhead(Strict):
    per_kernel_us: Figure  # paid by every kernel launch / op dispatch
    per_call_us: Figure  # paid once per inference call
    #: CPU cycles per window element per core of max pooling (a scalar loop over the window
    #: per output element, e.g. eager PyTorch on NCHW tensors); None = priced like any
    #: other vector kernel
    window_op_cycles: Figure | None = None
    #: host-dispatched (eager) frameworks: host time of a Python module call that wraps other
    #: modules and of a view op, neither of which launches a kernel; None = not paid
    module_call_us: Figure | None = None
    view_op_us: Figure | None = None
    #: GPU engines that launch their kernels one by one from the host at run time (TensorRT
    #: enqueueV3 without a CUDA graph): the source saying so. The host then spends
    #: configs/predictor.yaml host.enqueue_kernel_us per kernel, overlapping the GPU's work;
    #: None = the kernels are replayed (CUDA graph) or dispatched as ``per_kernel_us`` says
    enqueue: Line | None = None

    @model_validator(mode="after")
    def _non_negative(self) -> "Overhead":
        for name in ("per_kernel_us", "per_call_us", "module_call_us", "view_op_us"):
            figure = getattr(self, name)
            if figure is not None and not 0 <= figure.value <= MAX_OVERHEAD_US:
                raise ValueError(f"{name} must be within [0, {MAX_OVERHEAD_US:g}] us (got {figure.value:g})")
        cycles = self.window_op_cycles
        if cycles is not None and not 0 <= cycles.value <= MAX_WINDOW_OP_CYCLES:
            raise ValueError(f"window_op_cycles must be within [0, {MAX_WINDOW_OP_CYCLES:g}] (got {cycles.value:g})")
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
            if value < MIN_EFFICIENCY:
                raise ValueError(f"{name} efficiency must be at least {MIN_EFFICIENCY:g} (got {value:g})")
        return self


class FrameworkSpec(Strict):
    id: KebabId
    name: Line
    device_classes: list[DeviceClass]
    support: list[PrecisionSupport]
    int8_calibration: Literal["required", "optional", "none"]
    fusion: Fusion
    overhead: Overhead
    efficiency: Efficiency
    #: how an LLM server pages its KV cache and batches requests (advisor plan); None for
    #: frameworks that are not LLM servers
    serving: ServingTraits | None = None
    notes: Note | None = None
    sources: list[Line] = Field(default_factory=list, max_length=256)

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


PeakTflops = Annotated[float, Field(ge=MIN_PEAK_TFLOPS, le=MAX_PEAK_TFLOPS)]
OverheadUs = Annotated[float, Field(ge=0, le=MAX_OVERHEAD_US)]
CurveWork = Annotated[float, Field(ge=0, le=MAX_CURVE_WORK)]
CurveFraction = Annotated[float, Field(ge=0, le=1)]


class CalibrationSpec(Strict):
    """Measured achievable figures for one platform (and framework, when it is specific)."""

    platform_id: Line
    framework_id: Line | None = None
    measured_at: Line  # ISO 8601 date-time
    method: Note
    tool_version: Line
    matmul_tflops: dict[Precision, PeakTflops] = Field(default_factory=dict)  # achievable per precision
    vector_tflops: dict[Precision, PeakTflops] = Field(default_factory=dict)
    bandwidth_gbs: Annotated[float, Field(ge=MIN_BANDWIDTH_GBS, le=MAX_BANDWIDTH_GBS)] | None = None
    per_op_overhead_us: OverheadUs | None = None  # eager dispatch cost per op
    graph_kernel_us: OverheadUs | None = None  # per-kernel cost under CUDA-graph replay
    #: eager PyTorch host-only costs: one Python nn.Module call around other modules (a
    #: transformer block, attention, MLP) and one view/reshape op (no kernel)
    module_call_us: OverheadUs | None = None
    view_op_us: OverheadUs | None = None
    #: (work items, fraction of achievable peak) points of the utilisation curve
    utilisation_curve: list[tuple[CurveWork, CurveFraction]] = Field(default_factory=list, max_length=10_000)
    #: convolutions run by a library of their own (eager PyTorch on CPU: oneDNN convolutions
    #: next to BLAS torch.mm): their achievable TFLOPS per precision and their utilisation
    #: curve (fraction of that figure); empty: convolutions take matmul_tflops and the curve above
    conv_tflops: dict[Precision, PeakTflops] = Field(default_factory=dict)
    conv_utilisation_curve: list[tuple[CurveWork, CurveFraction]] = Field(default_factory=list, max_length=10_000)
    notes: Note | None = None
    #: latency multipliers fitted by `advisor fit`, keyed "framework/precision family" ("*"
    #: for any), "@prefill" / "@decode" appended for a language model's phases
    #: (advisor.predict.corrections), applied by the predictor in one place
    corrections: dict[Line, float] = Field(default_factory=dict)
    #: where each correction came from (measurement file, models, leave-one-model-out error)
    correction_sources: dict[Line, Note] = Field(default_factory=dict)

    @field_validator("corrections")
    @classmethod
    def _positive_corrections(cls, values: dict[str, float]) -> dict[str, float]:
        for key, value in values.items():
            body, separator, kind = key.partition("@")
            if body.count("/") != 1 or (separator and kind not in WORKLOAD_KINDS[1:]):
                raise ValueError(f"corrections: key '{key}' is not 'framework/precision family', optionally "
                                 f"'@{' or @'.join(WORKLOAD_KINDS[1:])}'")
            if not (math.isfinite(value) and 1e-3 <= value <= 1e3):
                raise ValueError(f"corrections.{key}: multiplier must be in [0.001, 1000] (got {value!r})")
        return values

    @field_validator("matmul_tflops", "vector_tflops", "conv_tflops")
    @classmethod
    def _precision_keys(cls, peaks: dict, info) -> dict:
        return _check_precision_keys(peaks, info.field_name)
