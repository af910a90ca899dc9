"""`advisor calibrate`: run the micro-benchmarks and turn them into database records.

Produces one CalibrationSpec for the platform (the figures of the device as PyTorch
reaches them; no per-op overhead, since that belongs to a framework), one for eager
`pytorch` (the same figures plus its per-op cost), one for onnxruntime-cpu on CPUs (its
own GEMM throughput at fp32 and int8 and its per-node cost),
and the PlatformSpec for `local` (or the id given with --as) built from the detected CPU
or GPU. Progress is shown with a rich progress bar on stderr.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from advisor import __version__
from advisor.domain.specs import CalibrationSpec, Peak, PlatformSpec
from advisor.errors import InputError
from advisor.measure import microbench as mb
from advisor.measure.sysinfo import CpuInfo, derived_peaks, detect_cpu

#: Square GEMM sizes for the achievable peak: big enough to amortise packing and threading.
CPU_PEAK_GEMM = 2048
CUDA_PEAK_GEMM = 8192


@dataclass
class GemmPeak:
    """One precision's achievable matmul throughput: a large square GEMM, median sample."""

    tflops: float
    size: int
    min_ms: float
    median_ms: float
    runs: int


@dataclass
class OrtMeasurements:
    """What one round measured of onnxruntime on CPU (its own kernels, not PyTorch's)."""

    fp32_gemm_tflops: float | None = None
    int8_gemm_tops: float | None = None
    node_us: float | None = None
    sweep: list[mb.SweepPoint] = field(default_factory=list)
    sweep_floor_us: dict[str, float] = field(default_factory=dict)
    depthwise: list[mb.SweepPoint] = field(default_factory=list)
    int8_sweep: list[mb.SweepPoint] = field(default_factory=list)
    int8_floor_us: dict[str, float] = field(default_factory=dict)
    int8_depthwise: list[mb.SweepPoint] = field(default_factory=list)


@dataclass
class Measurements:
    """What one calibration round measured; rounds merge into one by ``mb.median_of_rounds``
    (numbers become medians, field by field), and the records are built from the merge."""

    matmul: dict[str, GemmPeak] = field(default_factory=dict)
    overheads: mb.Overheads | None = None
    elementwise_tflops: float = 0.0  # torch.addcmul on cache-resident arrays
    bandwidth: mb.Bandwidth | None = None
    floor_us: dict[str, float] = field(default_factory=dict)  # call floor per kernel kind
    sweep: list[mb.SweepPoint] = field(default_factory=list)
    depthwise: list[mb.SweepPoint] = field(default_factory=list)
    graph_kernel_us: float | None = None  # CUDA only
    ort: OrtMeasurements | None = None  # CPU only


@dataclass
class CalibrationRun:
    """Everything one calibration measured, and the records made from it."""

    device: str
    platform: PlatformSpec
    records: list[CalibrationSpec]
    threads: int
    details: dict[str, Any] = field(default_factory=dict)
    #: the headline figures of each round (advisor.measure.noise.round_figures), and the
    #: share of the CPUs other processes used meanwhile: the run's own noise
    round_figures: list[dict[str, float]] = field(default_factory=list)
    contention: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "threads": self.threads,
            "platform": self.platform.model_dump(mode="json"),
            "records": [r.model_dump(mode="json") for r in self.records],
            "details": self.details,
        }


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def cpu_matmul_precisions(cpu: CpuInfo) -> list[str]:
    """fp32 always; bf16 only with native bf16 arithmetic (AVX512-BF16 or AMX), since
    without it PyTorch emulates bf16 through fp32 and is slower than fp32."""
    return ["fp32", "bf16"] if cpu.native_bf16 else ["fp32"]


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device '{device}' is not one of cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to PyTorch on this machine")


Step = tuple[str, Callable[[], None]]


def _run_steps(steps: list[Step], show_progress: bool) -> None:
    """Run the steps in order under one rich progress bar (on stderr)."""
    if not show_progress:
        for _, fn in steps:
            fn()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]calibrate[/bold] {task.description:<38}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
        # No refresh thread: a thread waking 10 times a second preempts the benchmark's
        # OpenMP workers on a small machine and stalls every parallel region (it cut the
        # measured GEMM rate by 40% on a 2-core VM). The bar is redrawn between steps.
        auto_refresh=False,
    ) as progress:
        task = progress.add_task("", total=len(steps))
        for name, fn in steps:
            progress.update(task, description=name, refresh=True)
            fn()
            progress.advance(task)
        progress.update(task, description="done", refresh=True)


def calibrate(
    device: str = "cpu",
    platform_id: str = "local",
    *,
    quick: bool = False,
    show_progress: bool = True,
    existing_platform: PlatformSpec | None = None,
    rounds: int | None = None,
) -> CalibrationRun:
    """Measure this machine and return the records to store (nothing is written here).

    ``existing_platform``: when calibrating a platform that is already in the database
    under an id given with --as, its curated figures are kept and only calibration
    records are added. ``rounds`` overrides how many times every figure is measured
    (medians are kept; `advisor calibrate` uses 2, benchmarks/validation.py may use more)."""
    check_device(device)
    budget = mb.Budget.quick() if quick else mb.Budget.full()
    if rounds is not None:
        import dataclasses

        budget = dataclasses.replace(budget, rounds=max(1, rounds))
    threads = torch.get_num_threads()
    cpu = detect_cpu()
    precisions = cpu_matmul_precisions(cpu) if device == "cpu" else mb.cuda_precisions()
    peak_size = (CPU_PEAK_GEMM if device == "cpu" else CUDA_PEAK_GEMM) // (4 if quick else 1)
    sweep_precision = "fp32" if device == "cpu" else ("fp16" if "fp16" in precisions else "fp32")

    def round_steps(m: Measurements, tag: str) -> list[Step]:
        """The measurements of one round, in order, each filling its field of ``m``."""

        def matmul_step(p: str) -> Callable[[], None]:
            def run() -> None:
                size = peak_size if p != "fp32" or device == "cpu" else peak_size // 2
                tflops, stats = mb.matmul_tflops(p, size, size, size, device, budget.big_point_s)
                m.matmul[p] = GemmPeak(tflops=tflops, size=size, min_ms=stats.min_ms,
                                       median_ms=stats.median_ms, runs=stats.runs)
            return run

        def overheads() -> None:
            m.overheads = mb.eager_overheads(device, budget)

        def elementwise() -> None:
            m.elementwise_tflops = mb.vector_tflops(device, budget)

        def bandwidth() -> None:
            m.bandwidth = mb.memory_bandwidth(device, budget)

        def call_floor() -> None:
            m.floor_us = mb.call_floor_us(device, sweep_precision, budget)

        def sweep() -> None:
            m.sweep = mb.utilisation_sweep(device, sweep_precision, budget)

        def depthwise() -> None:
            m.depthwise = mb.depthwise_points(device, budget)

        steps: list[Step] = [(f"matmul {p} {peak_size}^3", matmul_step(p)) for p in precisions]
        steps += [
            ("eager per-op overhead", overheads),
            ("vector throughput", elementwise),
            ("memory bandwidth (copy, read)", bandwidth),
            (f"call floor ({sweep_precision})", call_floor),
            (f"utilisation sweep ({sweep_precision})", sweep),
            ("depthwise convolutions (vector)", depthwise),
        ]
        if device == "cuda":
            def graph_replay() -> None:
                m.graph_kernel_us = mb.cuda_graph_kernel_us(budget)

            steps.append(("CUDA-graph replay per kernel", graph_replay))
        else:
            steps += _onnxruntime_steps(m.ort, threads, budget, quick)
        return [(f"{name}{tag}", fn) for name, fn in steps]

    # Every figure is measured in `budget.rounds` rounds run one after the other and the
    # median is kept: a shared or virtual machine's speed drifts by tens of percent over a
    # minute, and one snapshot of it would bias every prediction made from the record.
    rounds = [Measurements(ort=OrtMeasurements() if device == "cpu" else None) for _ in range(budget.rounds)]
    steps: list[Step] = []
    for i, m_round in enumerate(rounds):
        steps += round_steps(m_round, f" ({i + 1}/{budget.rounds})" if budget.rounds > 1 else "")

    from advisor.measure.timing import ContentionMeter

    with ContentionMeter() as contention:
        _run_steps(steps, show_progress)
    from advisor.measure.noise import round_figures

    m: Measurements = mb.median_of_rounds(rounds)
    run = _build_run(device, platform_id, cpu, threads, m, quick, existing_platform,
                     rounds=budget.rounds, contention=contention.others)
    run.round_figures = [round_figures(r) for r in rounds]
    run.contention = contention.others
    return run


def _onnxruntime_steps(ort: OrtMeasurements | None, threads: int, budget: mb.Budget, quick: bool) -> list[Step]:
    """onnxruntime's own figures (CPU only): GEMM throughput, per-node cost, kernel sweeps."""
    assert ort is not None, "onnxruntime figures are measured on cpu only"
    ort_size = mb.ORT_GEMM_SIZE // (4 if quick else 1)

    def fp32_gemm() -> None:
        ort.fp32_gemm_tflops = mb.ort_gemm_tops("fp32", ort_size, threads, budget)

    def int8_gemm() -> None:
        ort.int8_gemm_tops = mb.ort_gemm_tops("int8", ort_size, threads, budget)

    def node_overhead() -> None:
        ort.node_us = mb.ort_node_overhead_us(threads, budget)

    def sweep() -> None:
        ort.sweep, ort.sweep_floor_us = mb.ort_utilisation_sweep(threads, budget)

    def depthwise() -> None:
        ort.depthwise = mb.ort_depthwise_points(threads, budget)

    def int8_sweep() -> None:
        ort.int8_sweep, ort.int8_floor_us = mb.ort_utilisation_sweep(threads, budget, "int8")

    def int8_depthwise() -> None:
        ort.int8_depthwise = mb.ort_depthwise_points(threads, budget, "int8")

    return [
        (f"onnxruntime fp32 GEMM {ort_size}^3", fp32_gemm),
        (f"onnxruntime int8 GEMM {ort_size}^3", int8_gemm),
        ("onnxruntime per-node overhead", node_overhead),
        ("onnxruntime utilisation sweep", sweep),
        ("onnxruntime depthwise convolutions", depthwise),
        ("onnxruntime int8 sweep (QDQ)", int8_sweep),
        ("onnxruntime int8 depthwise convolutions (QDQ)", int8_depthwise),
    ]


def _sweep_rows(points: list[mb.SweepPoint], rate_key: str = "tflops") -> list[dict[str, Any]]:
    return [{"kind": p.kind, "shape": list(p.shape), "output_elems": p.output_elems, "flops": p.flops,
             "time_ms": round(p.time_ms, 5), rate_key: round(p.tflops, 5)} for p in points]


def _as_conv_points(points: list[mb.SweepPoint]) -> list[mb.SweepPoint]:
    return [mb.SweepPoint("conv", p.shape, p.output_elems, p.flops, p.time_ms, p.tflops) for p in points]


def _build_run(
    device: str, platform_id: str, cpu: CpuInfo, threads: int, m: Measurements, quick: bool,
    existing_platform: PlatformSpec | None, *, rounds: int, contention: float,
) -> CalibrationRun:
    when = now_iso()
    method_tail = (f"{threads} threads, torch {torch.__version__}, median of {rounds} rounds, "
                   f"other processes used {contention:.0%} of the CPUs"
                   + (", QUICK mode (test figures)" if quick else ""))
    overheads, bandwidth = m.overheads, m.bandwidth
    assert overheads is not None and bandwidth is not None, "every round measures overheads and bandwidth"
    matmul = {p: v.tflops for p, v in m.matmul.items()}
    sweep_peak = matmul.get("fp32") if device == "cpu" else matmul.get("fp16", matmul.get("fp32"))
    curve = mb.utilisation_curve(m.sweep, sweep_peak or 0.0, m.floor_us)
    dw_rows = [{"shape": list(p.shape), "output_elems": p.output_elems, "flops": p.flops,
                "time_ms": round(p.time_ms, 5), "gflops": round(p.tflops * 1e3, 3)} for p in m.depthwise]
    vector = mb.peak_consistent_with_curve(_as_conv_points(m.depthwise), curve, m.floor_us) or m.elementwise_tflops
    # CPU: convolutions (oneDNN) and GEMMs (BLAS) are different libraries in PyTorch
    conv_peak, conv_curve = mb.conv_figures(m.sweep, m.floor_us) if device == "cpu" else (None, [])
    notes = (
        f"matmul: square {next(iter(m.matmul.values())).size}^3 GEMMs (torch.mm, output preallocated); "
        f"vector: depthwise 3x3 convolutions of MobileNet/EfficientNet stages (the vector-unit kernels with "
        f"real arithmetic; elementwise ops are memory-bound), stated as the peak the utilisation curve scales "
        f"to their achieved rates; plain elementwise torch.addcmul on cache-resident arrays reached "
        f"{m.elementwise_tflops * 1e3:.1f} GFLOP/s; "
        f"bandwidth: dst.copy_(src) of {bandwidth.array_mib:.0f} MiB fp32 arrays, (read+written bytes)/time; "
        f"read-only src.sum() gave {bandwidth.read_gbs:.1f} GB/s; "
        f"per-op overhead (pytorch record only): tiny Conv2d/BatchNorm2d/ReLU module calls under inference_mode "
        f"(bare torch.add: {overheads.aten_op_us:.2f} us); "
        f"utilisation_curve: x = output elements of realistic conv/GEMM kernels "
        f"(the profiler's parallel_work), y = achieved/achievable {('fp32' if device == 'cpu' else 'fp16')} "
        f"matmul throughput after subtracting the call floor (tiny GEMM {m.floor_us['gemm']:.1f} us, "
        f"tiny conv {m.floor_us['conv']:.1f} us), binned per half decade and made monotone (isotonic)"
        + ("; conv_tflops: the best rate of the sweep's convolutions (oneDNN), conv_utilisation_curve: "
           "each convolution's fraction of it, as above (PyTorch's GEMMs run in its BLAS, its "
           "convolutions in oneDNN: on some CPUs at twice the rate)." if conv_peak else ".")
    )
    device_record = CalibrationSpec(
        platform_id=platform_id,
        framework_id=None,
        measured_at=when,
        method=f"advisor calibrate --device {device} ({method_tail})",
        tool_version=f"advisor {__version__}",
        matmul_tflops={p: round(v, 5) for p, v in matmul.items()},
        vector_tflops={"fp32": round(vector, 5)},
        bandwidth_gbs=round(bandwidth.copy_gbs, 3),
        per_op_overhead_us=None,  # a framework's figure: see the pytorch record below
        graph_kernel_us=round(m.graph_kernel_us, 3) if m.graph_kernel_us is not None else None,
        utilisation_curve=curve,
        conv_tflops={"fp32": round(conv_peak, 5)} if conv_peak else {},
        conv_utilisation_curve=conv_curve,
        notes=notes,
    )
    # Eager PyTorch: the same device figures plus its own per-op cost.
    pytorch_record = device_record.model_copy(update={
        "framework_id": "pytorch",
        "per_op_overhead_us": round(overheads.module_op_us, 3),
        "module_call_us": round(overheads.module_call_us, 3) or None,
        "view_op_us": round(overheads.view_op_us, 3) or None,
        "method": device_record.method + ": eager PyTorch",
    })
    records = [device_record, pytorch_record]
    ort_details: dict[str, Any] = {}
    if m.ort is not None:
        ort_record, ort_details = _onnxruntime_record(m.ort, platform_id, when, method_tail, curve, vector, bandwidth)
        records.append(ort_record)
    platform = existing_platform or (
        cpu_platform(platform_id, cpu, threads, matmul, m.elementwise_tflops, bandwidth, when)
        if device == "cpu"
        else cuda_platform(platform_id, matmul, bandwidth, when)
    )
    details = {
        "cpu": {"model_name": cpu.model_name, "logical_cpus": cpu.logical_cpus, "clock_ghz": cpu.clock_ghz,
                "features": cpu.features},
        "matmul": {p: asdict(v) for p, v in m.matmul.items()},
        "vector_tflops": vector,
        "elementwise_addcmul_tflops": m.elementwise_tflops,
        "depthwise": dw_rows,
        "bandwidth": asdict(bandwidth),
        "overheads": asdict(overheads),
        "sweep": _sweep_rows(m.sweep),
        "call_floor_us": m.floor_us,
        "onnxruntime": ort_details,
        "graph_kernel_us": m.graph_kernel_us,
        "quick": quick,
        "rounds": rounds,
        "contention": round(contention, 4),
    }
    return CalibrationRun(device, platform, records, threads, details)


def _onnxruntime_record(
    ort: OrtMeasurements, platform_id: str, when: str, method_tail: str, curve: list[tuple[float, float]],
    vector: float, bandwidth: mb.Bandwidth,
) -> tuple[CalibrationSpec, dict[str, Any]]:
    """onnxruntime-cpu's calibration record, and its figures for the run's details."""
    assert ort.fp32_gemm_tflops is not None and ort.int8_gemm_tops is not None and ort.node_us is not None
    # onnxruntime's convolutions outrun its 1024^3 MatMul: the achievable fp32 figure is
    # the best rate any of its realistic kernels reached, so the curve is not capped.
    fp32, ort_curve, ort_vector_fp32 = mb.ort_fp32_figures(ort.fp32_gemm_tflops, ort.sweep, ort.sweep_floor_us,
                                                           ort.depthwise)
    # the GEMM-shaped int8 kernels only: spatial convolutions add an im2col pass that the
    # predictor charges separately (advisor/predict/kernels.py IM2COL_TAP_OPS)
    gemm_like = [p for p in ort.int8_sweep if not mb.gathers_patches(p)]
    realistic = mb.peak_consistent_with_curve(gemm_like, ort_curve, ort.int8_floor_us)
    int8 = realistic if realistic is not None else ort.int8_gemm_tops
    ort_vector = ort_vector_fp32 or vector
    # int8 vector kernels (depthwise QLinearConv) at their own measured rate; without one they
    # would take the platform's int8 vector peak (VNNI dot products), which they never reach
    ort_vector_int8 = mb.peak_consistent_with_curve(_as_conv_points(ort.int8_depthwise), ort_curve, ort.int8_floor_us)
    vector_figures = {"fp32": round(ort_vector, 5)}
    if ort_vector_int8 is not None:
        vector_figures["int8"] = round(ort_vector_int8, 5)
    record = CalibrationSpec(
        platform_id=platform_id,
        framework_id="onnxruntime-cpu",
        measured_at=when,
        method=f"advisor calibrate --device cpu: onnxruntime {_ort_version()} CPUExecutionProvider ({method_tail})",
        tool_version=f"advisor {__version__}",
        matmul_tflops={"fp32": round(fp32, 5), "int8": round(int8, 5)},
        vector_tflops=vector_figures,
        bandwidth_gbs=round(bandwidth.copy_gbs, 3),
        per_op_overhead_us=round(ort.node_us, 3),
        utilisation_curve=ort_curve,
        notes=(
            "matmul fp32: the best of a 1024^3 MatMul single-node graph "
            f"({ort.fp32_gemm_tflops:.3f} TFLOPS) and the sweep's kernels; matmul int8: the realistic conv/GEMM shapes of the "
            "sweep without a spatial kernel (GEMMs and 1x1 convolutions: no im2col pass) as QDQ-quantized "
            "single-node graphs, the int8 node alone timed by onnxruntime's profiler (the quantize and "
            "dequantize at the graph's edges excluded), stated as the peak that the utilisation curve scales "
            "to their achieved rates "
            f"(a bare 1024^3 MatMulInteger reaches {ort.int8_gemm_tops:.3f} TOPS, "
            "which CNN-sized int8 kernels come nowhere near); "
            "per_op_overhead_us: per node of an Add/Relu chain on 4x4x4 tensors, graph optimisation off; "
            "utilisation_curve: the device record's conv/GEMM shapes as single-node onnxruntime graphs (fp32), "
            "relative to the fp32 MatMul figure, call floor subtracted; "
            "vector: the device record's depthwise convolutions as single-node onnxruntime graphs, stated "
            "against this record's curve (int8: the same convolutions QDQ-quantized, the int8 node alone "
            "timed by onnxruntime's profiler); bandwidth as in the device record (measured through PyTorch)."
        ),
    )
    details = {  # key order as `advisor calibrate --json` has always written it
        "fp32": fp32,
        "int8": ort.int8_gemm_tops,
        "node_us": ort.node_us,
        "sweep": _sweep_rows(ort.sweep),
        "dw": [{"shape": list(p.shape), "output_elems": p.output_elems, "time_ms": round(p.time_ms, 5),
                "gflops": round(p.tflops * 1e3, 3)} for p in ort.depthwise],
        "sweep_int8": _sweep_rows(ort.int8_sweep, rate_key="tops"),
        "fp32_gemm_1024": ort.fp32_gemm_tflops,
        "call_floor_us": ort.sweep_floor_us,
        "int8_gemm_1024": ort.int8_gemm_tops,
        "int8_realistic": realistic,
        "call_floor_us_int8": ort.int8_floor_us,
        "dw_int8": [{"shape": list(p.shape), "output_elems": p.output_elems, "time_ms": round(p.time_ms, 5),
                     "gops": round(p.tflops * 1e3, 3)} for p in ort.int8_depthwise],
        "vector_int8": ort_vector_int8,
    }
    return record, details


def _ort_version() -> str:
    try:
        import onnxruntime

        return onnxruntime.__version__
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        return "?"


def _memory_capacity_gb() -> dict[str, Any]:
    import psutil

    return {"value": round(psutil.virtual_memory().total / 1e9, 2), "source": "psutil.virtual_memory().total on this machine"}


def cpu_platform(
    platform_id: str, cpu: CpuInfo, threads: int, matmul: dict[str, float], vector_tflops: float,
    bandwidth: mb.Bandwidth, when: str,
) -> PlatformSpec:
    """The `local` CPU platform: derived peaks where the ISA and clock allow, else measured.

    A derived peak below what was measured means the derivation's assumption (clock or
    FMA pipes) is wrong here; then the measured figure stands in and says so."""
    measured_src = f"measured by advisor calibrate {when}"
    derived = derived_peaks(cpu, threads)
    matrix: dict[str, Peak] = {}
    vector: dict[str, Peak] = {}
    for precision in sorted(set(derived) | set(matmul)):
        d = derived.get(precision)
        got = matmul.get(precision)
        if d is not None and (got is None or d.tflops >= got):
            peak = Peak(value=round(d.tflops, 4), engine=d.engine, source=f"derived from /proc/cpuinfo ({cpu.clock_source})",
                        derivation=d.derivation)
        elif got is not None:
            engine = "tensor" if precision != "fp32" and cpu.has("amx") else "vector"
            peak = Peak(value=round(got, 4), engine=engine, source=measured_src,
                        derivation=f"achieved {precision} GEMM throughput (no ISA derivation possible or it was exceeded)")
        else:
            continue
        (matrix if peak.engine == "tensor" else vector)[precision] = peak
    if "fp32" not in vector:
        vector["fp32"] = Peak(value=round(vector_tflops, 4), engine="vector", source=measured_src,
                              derivation="achieved torch.addcmul throughput")
    clock = cpu.clock_ghz or 1.0
    return PlatformSpec.model_validate({
        "id": platform_id,
        "name": f"{cpu.model_name} ({threads} threads, this machine)",
        "vendor": cpu.vendor,
        "device_class": "cpu",
        "matrix_peaks": {p: v.model_dump() for p, v in matrix.items()},
        "vector_peaks": {p: v.model_dump() for p, v in vector.items()},
        "memory": {
            "capacity_gb": _memory_capacity_gb(),
            "bandwidth_gbs": {
                "value": round(bandwidth.copy_gbs, 3), "source": measured_src,
                "note": f"copy of {bandwidth.array_mib:.0f} MiB arrays, read+written bytes; read-only {bandwidth.read_gbs:.1f} GB/s",
            },
            **({"private_cache_mb": cache} if (cache := private_cache_figure(threads)) else {}),
        },
        "features": cpu.features,
        "parallelism": {"units": threads, "unit_kind": "core", "clock_ghz": clock,
                        "source": f"torch.get_num_threads() = {threads}; clock from {cpu.clock_source}"},
        "notes": f"Detected by advisor calibrate on {when} (os.cpu_count() = {os.cpu_count()}).",
        "sources": ["/proc/cpuinfo", measured_src],
    })


def private_cache_figure(threads: int) -> dict | None:
    """The L2 caches of the cores the runtime uses, summed (sysfs), as a platform figure."""
    from advisor.measure.sysinfo import private_cache_kib

    kib = private_cache_kib()
    if not kib:
        return None
    return {"value": round(kib * threads / 1024, 3), "source": "/sys/devices/system/cpu/cpu0/cache (level-2, private to one core)",
            "note": f"{kib} KiB per core x {threads} threads"}


def _gpu_class(name: str) -> str:
    lowered = name.lower()
    if any(k in lowered for k in ("orin", "jetson", "xavier", "tegra")):
        return "edge_gpu_soc"
    if any(k in lowered for k in ("geforce", "rtx 30", "rtx 40", "rtx 50", "titan")):
        return "desktop_gpu"
    return "datacenter_gpu"


def cuda_platform(platform_id: str, matmul: dict[str, float], bandwidth: mb.Bandwidth, when: str) -> PlatformSpec:
    """A GPU platform from torch.cuda device properties; peaks are the measured ones."""
    props = torch.cuda.get_device_properties(0)
    measured_src = f"measured by advisor calibrate --device cuda {when}"
    matrix = {
        p: Peak(value=round(v, 4), engine="tensor", source=measured_src, derivation=f"achieved {p} GEMM throughput")
        for p, v in matmul.items() if p != "fp32"
    }
    vector = {"fp32": Peak(value=round(matmul["fp32"], 4), engine="vector", source=measured_src,
                           derivation="achieved fp32 GEMM throughput (CUDA cores)")}
    clock_khz = getattr(props, "clock_rate", 0) or 0
    return PlatformSpec.model_validate({
        "id": platform_id,
        "name": f"{props.name} (this machine)",
        "vendor": "NVIDIA" if torch.version.cuda else "AMD",
        "device_class": _gpu_class(props.name),
        "matrix_peaks": {p: v.model_dump() for p, v in matrix.items()},
        "vector_peaks": {p: v.model_dump() for p, v in vector.items()},
        "memory": {
            "capacity_gb": {"value": round(props.total_memory / 1e9, 2), "source": "torch.cuda.get_device_properties"},
            "bandwidth_gbs": {"value": round(bandwidth.copy_gbs, 1), "source": measured_src,
                              "note": f"device copy, read+written bytes; read-only {bandwidth.read_gbs:.0f} GB/s"},
        },
        "compute_capability": f"{props.major}.{props.minor}",
        "features": [f"sm_{props.major}{props.minor}"],
        "parallelism": {"units": props.multi_processor_count, "unit_kind": "sm",
                        "clock_ghz": clock_khz / 1e6 if clock_khz else 1.0,
                        "source": "torch.cuda.get_device_properties" + ("" if clock_khz else " (clock unknown: 1.0 placeholder)")},
        "notes": f"Detected by advisor calibrate --device cuda on {when}.",
        "sources": ["torch.cuda.get_device_properties", measured_src],
    })
