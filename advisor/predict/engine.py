"""The roofline predictor: profile x platform x framework x scheme -> Prediction.

Per kernel (after fusion, advisor.predict.kernels):
    compute = flops / (achievable peak at the kernel's precision x utilisation)
    memory  = bytes at the scheme's widths / achievable bandwidth
    time    = max(compute, memory) + per-kernel overhead
and per call a fixed overhead. How kernel overheads combine depends on how the framework
issues kernels (see ``dispatch_mode``):

* ``graph``  - a pre-built engine or CUDA-graph replay: a small GPU-side cost per kernel
  (TensorRT, CUDA graphs, vLLM decode), no host work per kernel.
* ``host``   - eager, host-dispatched GPU frameworks (PyTorch eager): the host spends
  ``per_kernel_us`` per op while the GPU runs earlier kernels; a kernel cannot start before
  the host has issued it, so short kernels leave the GPU idle (host-bound). Engines that
  enqueue their kernels one by one at run time (``overhead.enqueue``: TensorRT without a
  CUDA graph) follow the same timeline with ``host.enqueue_kernel_us`` per kernel.
* ``serial`` - CPU runtimes: dispatch and compute run on the same cores, one after another.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.domain.vocab import is_gpu, is_npu
from advisor.domain.workload_kinds import workload_kind
from advisor.precision import BYTES_PER_ELEMENT, SchemeSpec, kv_cache_bytes, scheme as scheme_spec
from advisor.predict.constants import PredictorConstants, predictor_constants
from advisor.predict.corrections import covers_kind, latency_correction, measures_framework
from advisor.predict.intervals import interval_table, latency_range
from advisor.predict.kernels import Kernel, fuse
from advisor.predict.memory import estimate_memory
from advisor.predict.peaks import Achievable, achievable
from advisor.predict.platform_corrections import PlatformCorrectionTable, platform_correction_table, published_correction
from advisor.predict.quantization import (
    dequant_flops,
    float_layer_indices,
    kv_cache_reads,
    quantize_kernels,
)
from advisor.predict.types import KernelPrediction, Prediction
from advisor.predict.utilisation import utilisation
from advisor.profiling.types import Category, Profile

#: how a prediction says that part of the model was not counted (recommend and the gate repeat it)
UNCOUNTED_OPS = "ops without a cost formula are not counted"

US = 1e-6
MS = 1e-3


@dataclass(frozen=True)
class KernelTiming:
    """Where one kernel's time goes, in seconds, and how much of the device it fills."""

    kernel: Kernel
    compute_s: float
    memory_s: float
    overhead_s: float
    utilisation: float
    bytes: float = 0.0  # moved at the scheme's widths (KV cache at its dtype, float layers at 16-bit)

    def busy_s(self, floor_s: float = 0.0) -> float:
        """Time the kernel occupies the device: compute and memory overlap, never under the floor."""
        return max(self.compute_s, self.memory_s, floor_s)


@dataclass(frozen=True)
class Overheads:
    """Per-kernel and per-call costs in microseconds, and how they combine."""

    mode: str  # "graph" | "host" | "serial"
    kernel_us: float  # GPU-side (graph) or same-core (serial) cost per kernel
    host_us: float  # host dispatch per kernel (mode "host" only)
    call_us: float
    provenance: str


def dispatch_mode(platform: PlatformSpec, framework: FrameworkSpec, c: PredictorConstants) -> str:
    if is_gpu(platform.device_class):
        if framework.overhead.enqueue is not None:
            return "host"
        host = framework.overhead.per_kernel_us.value > c.gpu.host_dispatch_threshold_us
        return "host" if host else "graph"
    return "serial"


def overheads(
    platform: PlatformSpec,
    framework: FrameworkSpec,
    calibration: CalibrationSpec | None,
    c: PredictorConstants,
) -> Overheads:
    mode = dispatch_mode(platform, framework, c)
    per_kernel = framework.overhead.per_kernel_us.value
    call = framework.overhead.per_call_us.value
    prov = f"{framework.id} overhead figures ({framework.overhead.per_kernel_us.source})"
    slowdown = c.host.slowdown.get(platform.device_class, 1.0)
    if mode == "graph":
        kernel_us = per_kernel
        if calibration is not None and calibration.graph_kernel_us is not None:
            kernel_us, prov = calibration.graph_kernel_us, f"calibration {calibration.measured_at}"
        return Overheads(mode, kernel_us, 0.0, call, prov)
    if mode == "host" and framework.overhead.enqueue is not None:
        # an engine enqueuing kernel by kernel: the GPU-side cost is the engine's own per-kernel
        # figure; an eager-PyTorch calibration's per-op time is not this runtime's
        host_us = c.host.enqueue_kernel_us * slowdown
        prov = (f"{framework.id} enqueues each kernel from the host ({framework.overhead.enqueue}): "
                f"{c.host.enqueue_kernel_us:g} us per kernel (configs/predictor.yaml host.enqueue_kernel_us)")
        if slowdown != 1.0:
            prov += f" x host slowdown {slowdown:g} for {platform.device_class}"
        return Overheads(mode, per_kernel, host_us, call, prov)
    if mode == "host":
        host_us = per_kernel * slowdown
        if calibration is not None and calibration.per_op_overhead_us is not None:
            host_us, prov = calibration.per_op_overhead_us, f"calibration {calibration.measured_at}"
        elif slowdown != 1.0:
            prov += f" x host slowdown {slowdown:g} for {platform.device_class}"
        return Overheads(mode, c.gpu.eager_kernel_floor_us, host_us, call, prov)
    kernel_us = per_kernel * slowdown
    if calibration is not None and calibration.per_op_overhead_us is not None:
        kernel_us, prov = calibration.per_op_overhead_us, f"calibration {calibration.measured_at}"
    return Overheads(mode, kernel_us, 0.0, call, prov)


def container_module_calls(profile: Profile) -> int:
    """Calls of modules that wrap other modules (the model itself, a decoder block, its
    attention and MLP): Python work around the ops, each call once per forward."""
    parents = {path[:i] for m in profile.modules if (path := m.path)
               for i, char in enumerate(path) if char == "."}
    if any(m.path for m in profile.modules):
        parents.add("")  # the root wraps every other module
    return sum(max(1, m.calls) for m in profile.modules if m.path in parents)


def host_only_us(
    profile: Profile, platform: PlatformSpec, framework: FrameworkSpec, calibration: CalibrationSpec | None,
    c: PredictorConstants,
) -> tuple[float, str]:
    """Host time per forward that launches no kernel, in a host-dispatched (eager) framework:
    container module calls x module_call_us + view ops x view_op_us (calibrated figures when
    the framework's calibration has them, else the framework's seed figures x host slowdown)."""
    views = sum(1 for op in profile.ops if op.category == Category.view)
    calls = container_module_calls(profile)
    seed = framework.overhead
    slowdown = c.host.slowdown.get(platform.device_class, 1.0)
    module_us = seed.module_call_us.value * slowdown if seed.module_call_us is not None else 0.0
    view_us = seed.view_op_us.value * slowdown if seed.view_op_us is not None else 0.0
    origin = f"{framework.id} seed figures"
    if calibration is not None and calibration.framework_id == framework.id:
        if calibration.module_call_us is not None:
            module_us, origin = calibration.module_call_us, f"calibration {calibration.measured_at}"
        if calibration.view_op_us is not None:
            view_us = calibration.view_op_us
    total = calls * module_us + views * view_us
    return total, f"{calls} module calls x {module_us:.3g} us + {views} view ops x {view_us:.3g} us ({origin})"


def host_link_us(kernels: list[Kernel], profile: Profile, platform: PlatformSpec, scheme: str) -> float:
    """Per-call transfer over an attached accelerator's host link: the input, the output and
    the weights that do not fit on chip (streamed every inference, coral.ai/docs/edgetpu)."""
    if not kernels:
        return 0.0
    s = scheme_spec(scheme)
    mem = platform.memory
    link = getattr(mem, "host_link_gbs", None)
    link_gbs = link.value if link is not None else mem.bandwidth_gbs.value
    on_chip = getattr(mem, "on_chip_mb", None)
    weights = profile.params * s.weight_bytes
    spill = max(0.0, weights - on_chip.value * 1e6) if on_chip is not None else 0.0
    io = (kernels[0].input_elems + kernels[-1].output_elems) * s.activation_bytes
    return (io + spill) / (link_gbs * 1e9) / US


def spills_private_cache(kernel: Kernel, platform: PlatformSpec, weight_width: float, activation_width: float) -> bool:
    """Whether a CPU kernel's operands (weights, inputs, output) exceed the private caches of
    the cores running it (``memory.private_cache_mb``, from sysfs via `advisor calibrate`).

    Such a kernel streams its operands from the shared LLC/DRAM while it computes; CPU
    kernels overlap that stream with arithmetic only partly, so the predictor charges the
    no-overlap bound compute + memory instead of max(compute, memory). The calibration's
    micro-benchmarks repeat one kernel on cache-hot operands, so they do not contain it."""
    cache = platform.memory.private_cache_mb
    return cache is not None and kernel.bytes_at(weight_width, activation_width) > cache.value * 1e6


def is_window_op(kernel: Kernel) -> bool:
    """Max pooling: the profiler counts one FLOP per window element of every output."""
    return kernel.kind.startswith("max_pool")


def window_op_s(kernel: Kernel, platform: PlatformSpec, framework: FrameworkSpec) -> float:
    """Seconds of a scalar window loop on a CPU (framework trait ``window_op_cycles``, cycles
    per window element per core); 0 when the framework runs pooling as vector code."""
    cycles = framework.overhead.window_op_cycles
    if cycles is None:
        return 0.0
    p = platform.parallelism
    return kernel.flops * cycles.value / (p.units * p.running_clock_ghz * 1e9)


def tf32_default(kernel: Kernel, framework: FrameworkSpec, peaks: Achievable) -> bool:
    """Whether the framework runs this fp32 matmul-class kernel on TF32 tensor cores by default
    (fusion traits ``tf32_convolutions`` / ``tf32_matmuls``) on a GPU that has them."""
    if not kernel.uses_matrix_engine or "tf32" not in peaks.matrix_tflops:
        return False
    trait = framework.fusion.tf32_convolutions if kernel.convolution else framework.fusion.tf32_matmuls
    return trait is not None


def kernel_precisions(scheme: str) -> tuple[str, str]:
    """(precision of matmul-class kernels, precision of the other kernels)."""
    s = scheme_spec(scheme)
    vector = "fp32" if s.activation == "tf32" else s.activation
    return s.compute, vector


def compute_rate(
    kernel: Kernel,
    precision: str,
    platform: PlatformSpec,
    peaks: Achievable,
    c: PredictorConstants,
    curve: list[tuple[float, float]] | None,
    conv_curve: list[tuple[float, float]] | None = None,
) -> tuple[float, str, float]:
    """(effective TFLOPS, precision used, utilisation) of a kernel.

    A matmul-class kernel takes the faster of the matrix engine (tiles, which pad badly for
    skinny products) and the vector units (GEMV-style kernels), as cuBLAS/cuDNN heuristics do.
    A dense convolution takes the calibration's convolution figure and curve where it has
    one (the framework's convolutions run in another library than its GEMMs).
    """
    if peaks.conv_tflops and precision in peaks.conv_tflops and kernel.convolution:
        util = utilisation(kernel, platform, c, conv_curve or curve)
        return peaks.conv_tflops[precision] * util, precision, util
    p = platform.parallelism
    ref = p.units * p.running_clock_ghz * 1e9 * c.gpu.reference_flops_per_sm_cycle / 1e12

    def share(peak: float, used: str) -> float:
        # operand bytes per SM per cycle against the reference SM (see configs/predictor.yaml)
        return peak / ref * BYTES_PER_ELEMENT.get(used, c.gpu.reference_operand_bytes) / c.gpu.reference_operand_bytes

    if kernel.uses_matrix_engine:
        m_peak, m_used = peaks.peak(precision, matrix=True)
        m_util = utilisation(kernel, platform, c, curve, matrix_engine=True, rate_share=share(m_peak, m_used))
        v_peak, v_used = peaks.peak(precision, matrix=False)
        v_util = utilisation(kernel, platform, c, curve, matrix_engine=False, rate_share=share(v_peak, v_used))
        if v_peak * v_util > m_peak * m_util:
            return v_peak * v_util, v_used, v_util
        return m_peak * m_util, m_used, m_util
    v_peak, v_used = peaks.peak(precision, matrix=False)
    v_util = utilisation(kernel, platform, c, curve, matrix_engine=False, rate_share=share(v_peak, v_used))
    return v_peak * v_util, v_used, v_util


def predict(
    profile: Profile,
    platform: PlatformSpec,
    framework: FrameworkSpec,
    scheme: str,
    calibration: CalibrationSpec | None = None,
    constants: PredictorConstants | None = None,
    kernels: list[Kernel] | None = None,
    with_layers: bool = True,
    kv_cache: str | None = None,
    platform_corrections: PlatformCorrectionTable | None = None,
) -> Prediction:
    """Predict latency, throughput and memory of one profile on one platform/framework.

    ``kernels`` may pass ``fuse(profile.ops, framework.fusion, scheme)`` already computed (the
    recommender shares it between frameworks with the same fusion traits); ``with_layers=False``
    leaves ``layers`` empty (the recommender needs only the totals). ``kv_cache`` is the
    KV-cache dtype (None: the scheme's default, advisor.precision.default_kv_cache).
    ``platform_corrections``: the published per-platform figures (None: configs/
    platform_corrections.yaml; benchmarks pass NO_PLATFORM_CORRECTIONS to score rows held out)."""
    c = constants or predictor_constants()
    peaks = achievable(platform, framework, calibration)
    ovh = overheads(platform, framework, calibration, c)
    host_extra_us, host_extra_origin = (0.0, "")
    if ovh.mode == "host" and framework.overhead.enqueue is None:  # an engine runs no Python around its kernels
        host_extra_us, host_extra_origin = host_only_us(profile, platform, framework, calibration, c)
    curve = calibration.utilisation_curve if calibration is not None else None
    conv_curve = calibration.conv_utilisation_curve if calibration is not None else None
    matmul_prec, vector_prec = kernel_precisions(scheme)
    warnings: list[str] = list(peaks.warnings)

    if kernels is None:
        kernels = fuse(profile.ops, framework.fusion, scheme)
    s = scheme_spec(scheme)
    kv_width = kv_cache_bytes(scheme, kv_cache)
    float_layers = float_layer_indices(kernels, framework.fusion, s)
    kv_reads = dict(zip(map(id, kernels), kv_cache_reads(kernels, profile.kv_cache_elems)))
    float_ids = {id(kernels[i]) for i in float_layers}
    kernels = quantize_kernels(kernels, framework.fusion, s, float_layers)
    warnings += scheme_warnings(kernels, framework, s, float_ids)
    on_chip = is_npu(platform.device_class)
    call_us = ovh.call_us + (host_link_us(kernels, profile, platform, scheme) if on_chip else 0.0)
    # shortest time any kernel occupies a GPU (ramp-up, tail, drain), in clock cycles
    floor_s = c.gpu.min_kernel_cycles / (platform.parallelism.running_clock_ghz * 1e9) if is_gpu(platform.device_class) else 0.0
    bandwidth = peaks.bandwidth_gbs * 1e9
    timings: list[KernelTiming] = []
    tf32_kernels = 0
    host_clock = gpu_clock = 0.0  # seconds, for the host-dispatch timeline
    for kernel in kernels:
        kept_float = id(kernel) in float_ids
        prec = (s.float_dtype if kept_float else matmul_prec) if kernel.matmul else (kernel.priced_at or vector_prec)
        if prec == "fp32" and kernel.matmul and tf32_default(kernel, framework, peaks):
            prec, tf32_kernels = "tf32", tf32_kernels + 1
        weight_width = BYTES_PER_ELEMENT[s.float_dtype] if kept_float else s.weight_bytes
        rate, _, util = compute_rate(kernel, prec, platform, peaks, c, curve, conv_curve)
        compute_s = kernel.flops / (rate * 1e12) if kernel.flops else 0.0
        if not kept_float:
            dequant = dequant_flops(kernel, s, c.quantization)
            if dequant:  # on the vector units, at the activation precision, whole device
                compute_s += dequant / (peaks.peak(vector_prec, matrix=False)[0] * 1e12)
        if ovh.mode == "serial" and is_window_op(kernel):
            compute_s = max(compute_s, window_op_s(kernel, platform, framework))
        nbytes = kernel.bytes_at(weight_width, s.activation_bytes) + kv_reads.get(id(kernel), 0) * (
            kv_width - s.activation_bytes)
        # NPUs keep weights and activations on chip; only the host link is charged (per call)
        memory_s = 0.0 if on_chip else nbytes / bandwidth
        if ovh.mode == "serial" and spills_private_cache(kernel, platform, weight_width, s.activation_bytes):
            compute_s, memory_s = compute_s + memory_s, 0.0  # streamed operands do not overlap compute
        busy_s = max(compute_s, memory_s, floor_s)
        if ovh.mode == "host":
            # host-only work (module calls, views) is spread over the kernels it surrounds
            host_clock += (ovh.host_us + host_extra_us / len(kernels)) * US
            start = max(gpu_clock, host_clock)
            overhead_s = (start - gpu_clock) + ovh.kernel_us * US
            gpu_clock = start + ovh.kernel_us * US + busy_s
        elif ovh.mode == "graph":
            # replay launches the next kernel while this one runs: its per-kernel cost shows
            # only where the kernel is shorter (a floor), and the framework's bandwidth figure,
            # fitted on whole-model runs, already contains the gaps between kernels
            overhead_s = max(0.0, ovh.kernel_us * US - busy_s)
        else:
            overhead_s = ovh.kernel_us * US
        timings.append(KernelTiming(kernel, compute_s, memory_s, overhead_s, util, nbytes))

    if tf32_kernels:
        warnings.append(f"{framework.id} runs {tf32_kernels} fp32 matmul-class kernels on TF32 tensor cores by "
                        "default (10-bit mantissa products); turn TF32 off for full fp32, at the fp32 rate")
    total_flops = sum(k.flops for k in kernels) + sum(o.flops for k in kernels for o in k.folded)
    if total_flops and not peaks.has(matmul_prec):
        _, used = peaks.peak(matmul_prec, matrix=True)
        warnings.append(f"{platform.id} has no {matmul_prec} peak; matmul-class kernels predicted at the {used} rate")
    if profile.unsupported_ops:
        names = ", ".join(sorted(u.op for u in profile.unsupported_ops))
        warnings.append(f"{UNCOUNTED_OPS}: {names}")

    call_ms = call_us * US / MS
    latency_ms = sum(t.busy_s(floor_s) + t.overhead_s for t in timings) / MS + call_ms
    # the one place corrections apply, multipliers on the total: the published rows of this
    # platform and workload kind (datasheet predictions only), then the device's own `advisor fit`
    table = platform_correction_table() if platform_corrections is None else platform_corrections
    kind = workload_kind(profile.phase)
    published, published_note = published_correction(table, platform.id, kind, calibration)
    correction, correction_note = latency_correction(calibration, framework.id, scheme, kind)
    latency_ms *= published * correction
    # the range comes last, from the final latency (any correction is applied before this); a
    # calibration that says nothing of this workload kind leaves the device class's range
    calibrated = calibration is not None and covers_kind(calibration, kind)
    interval = interval_table().lookup(platform.device_class, framework.id, s.family, calibrated,
                                       not calibrated or measures_framework(calibration, framework.id, kind))
    latency_low, latency_high = latency_range(latency_ms, interval)
    float_weights = sum(k.scheme_weight_elems for k in kernels if id(k) in float_ids)
    memory = estimate_memory(profile, scheme, c.memory.runtime_mb, kv_cache=kv_cache,
                             float_weight_elems=float_weights)
    layers = [_kernel_prediction(t, floor_s) for t in timings] if with_layers else []
    return Prediction(
        model=profile.model,
        target=platform.id,
        framework=framework.id,
        precision=scheme,
        batch=profile.batch,
        phase=profile.phase,
        latency_ms=latency_ms,
        latency_ms_low=latency_low,
        latency_ms_high=latency_high,
        uncertainty=interval.describe((platform.device_class, framework.id, s.family)),
        throughput_per_s=throughput(profile, latency_ms),
        bound=overall_bound(timings, floor_s, call_ms),
        memory_mb=memory.total_mb,
        flops=profile.flops,
        macs=profile.macs,
        params=profile.params,
        layers=layers,
        warnings=warnings,
        provenance=_provenance(peaks, ovh, curve, c, host_extra_origin)
        | ({"published_correction": published_note} if published_note else {})
        | ({"correction": correction_note} if correction_note else {}),
    )


def scheme_warnings(kernels: list[Kernel], framework: FrameworkSpec, s: SchemeSpec, float_ids: set[int]) -> list[str]:
    """What the runtime does differently from the plain scheme, said to the user."""
    out = []
    kept = [k for k in kernels if id(k) in float_ids]
    if kept:
        elems = sum(k.scheme_weight_elems for k in kept)
        extra_mb = elems * (BYTES_PER_ELEMENT[s.float_dtype] - s.weight_bytes) / 1e6
        names = ", ".join(k.name for k in kept)
        out.append(f"{framework.id} keeps {names} at {s.float_dtype} under {s.name} "
                   f"(+{extra_mb:.3g} MB of weights, {s.float_dtype} compute there)")
    quantizers = sum(1 for k in kernels if k.kind == "quantize_input")
    if quantizers:
        out.append(f"{framework.id} quantizes the input of each {s.name} matmul in a separate kernel "
                   f"({quantizers} extra kernels)")
    return out


def _kernel_prediction(timing: KernelTiming, floor_s: float = 0.0) -> KernelPrediction:
    kernel, compute_s, memory_s, overhead_s = timing.kernel, timing.compute_s, timing.memory_s, timing.overhead_s
    nbytes = timing.bytes
    time_s = timing.busy_s(floor_s) + overhead_s
    if overhead_s + floor_s >= max(compute_s, memory_s):
        bound = "overhead"
    else:
        bound = "compute" if compute_s >= memory_s else "memory"
    return KernelPrediction.model_construct(  # fields computed here, no need to validate
        name=kernel.name,
        kind=kernel.kind,
        ops=[o.op for o in kernel.all_ops],
        flops=kernel.flops,
        bytes=nbytes,
        intensity=kernel.flops / nbytes if nbytes else 0.0,
        compute_ms=compute_s / MS,
        memory_ms=memory_s / MS,
        overhead_ms=overhead_s / MS,
        utilisation=timing.utilisation,
        time_ms=time_s / MS,
        bound=bound,
        achieved_tflops=kernel.flops / time_s / 1e12 if time_s > 0 else 0.0,
    )


def overall_bound(timings: list[KernelTiming], floor_s: float, call_ms: float) -> str:
    """What dominates the total: time of compute-bound vs memory-bound kernels vs overheads
    (per-kernel costs, kernel-duration floors and the per-call cost)."""
    totals = {"compute": 0.0, "memory": 0.0, "overhead": call_ms * MS}
    for t in timings:
        busy = t.busy_s()
        totals["overhead"] += t.overhead_s + max(0.0, floor_s - busy)
        totals["compute" if t.compute_s >= t.memory_s else "memory"] += busy
    return max(totals, key=totals.__getitem__)


def throughput(profile: Profile, latency_ms: float) -> float:
    """items/s; tokens/s for LLMs (prefill counts every prompt token)."""
    if latency_ms <= 0:
        return 0.0
    items = profile.batch
    if profile.phase == "prefill" and profile.seq_len:
        items *= profile.seq_len
    return items / (latency_ms * MS)


def _provenance(peaks: Achievable, ovh: Overheads, curve, c: PredictorConstants, host_only: str = "") -> dict[str, str]:
    prov = dict(peaks.provenance)
    prov["overhead"] = f"{ovh.mode} dispatch; {ovh.provenance}" + (f"; host-only: {host_only}" if host_only else "")
    prov["utilisation"] = (
        "calibrated utilisation curve" if curve else "tile/wave model, constants in configs/predictor.yaml"
    )
    return prov
