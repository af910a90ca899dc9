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
class CalibrationRun:
    """Everything one calibration measured, and the records made from it."""

    device: str
    platform: PlatformSpec
    records: list[CalibrationSpec]
    threads: int
    details: dict[str, Any] = field(default_factory=dict)

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

    def make_steps(m: dict[str, Any], tag: str) -> list[Step]:
        def matmul_step(p: str) -> Callable[[], None]:
            def run() -> None:
                size = peak_size if p != "fp32" or device == "cpu" else peak_size // 2
                tflops, stats = mb.matmul_tflops(p, size, size, size, device, budget.big_point_s)
                m["matmul"][p] = {"tflops": tflops, "size": size, "min_ms": stats.min_ms,
                                  "median_ms": stats.median_ms, "runs": stats.runs}
            return run

        steps: list[Step] = [(f"matmul {p} {peak_size}^3", matmul_step(p)) for p in precisions]
        steps += [
            ("eager per-op overhead", lambda: m.__setitem__("overheads", mb.eager_overheads(device, budget))),
            ("vector throughput", lambda: m.__setitem__("vector_tflops", mb.vector_tflops(device, budget))),
            ("memory bandwidth (copy, read)", lambda: m.__setitem__("bandwidth", mb.memory_bandwidth(device, budget))),
            (f"call floor ({sweep_precision})",
             lambda: m.__setitem__("floor_us", mb.call_floor_us(device, sweep_precision, budget))),
            (f"utilisation sweep ({sweep_precision})",
             lambda: m.__setitem__("sweep", mb.utilisation_sweep(device, sweep_precision, budget))),
            ("depthwise convolutions (vector)", lambda: m.__setitem__("dw", mb.depthwise_points(device, budget))),
        ]
        if device == "cuda":
            steps.append(("CUDA-graph replay per kernel",
                          lambda: m.__setitem__("graph_kernel_us", mb.cuda_graph_kernel_us(budget))))
        else:
            ort_size = 1024 // (4 if quick else 1)
            for p in ("fp32", "int8"):
                steps.append((f"onnxruntime {p} GEMM {ort_size}^3",
                              lambda p=p: m["ort"].__setitem__(p, mb.ort_gemm_tops(p, ort_size, threads, budget))))
            steps += [
                ("onnxruntime per-node overhead",
                 lambda: m["ort"].__setitem__("node_us", mb.ort_node_overhead_us(threads, budget))),
                ("onnxruntime utilisation sweep",
                 lambda: m["ort"].__setitem__("sweep", mb.ort_utilisation_sweep(threads, budget))),
                ("onnxruntime depthwise convolutions",
                 lambda: m["ort"].__setitem__("dw", mb.ort_depthwise_points(threads, budget))),
                ("onnxruntime int8 sweep (QDQ)",
                 lambda: m["ort"].__setitem__("sweep_int8", mb.ort_utilisation_sweep(threads, budget, "int8"))),
            ]
        return [(f"{name}{tag}", fn) for name, fn in steps]

    # Every figure is measured in `budget.rounds` rounds run one after the other and the
    # median is kept: a shared or virtual machine's speed drifts by tens of percent over a
    # minute, and one snapshot of it would bias every prediction made from the record.
    rounds = [{"matmul": {}, "ort": {}} for _ in range(budget.rounds)]
    steps: list[Step] = []
    for i, m_round in enumerate(rounds):
        steps += make_steps(m_round, f" ({i + 1}/{budget.rounds})" if budget.rounds > 1 else "")

    from advisor.measure.timing import ContentionMeter

    with ContentionMeter() as contention:
        _run_steps(steps, show_progress)
    m = mb.median_of_rounds(rounds)
    m["rounds"] = budget.rounds
    m["contention"] = contention.others
    return _build_run(device, platform_id, cpu, threads, m, quick, existing_platform)


def _build_run(
    device: str, platform_id: str, cpu: CpuInfo, threads: int, m: dict[str, Any], quick: bool,
    existing_platform: PlatformSpec | None,
) -> CalibrationRun:
    when = now_iso()
    method_tail = (f"{threads} threads, torch {torch.__version__}, median of {m.get('rounds', 1)} rounds, "
                   f"other processes used {m['contention']:.0%} of the CPUs"
                   + (", QUICK mode (test figures)" if quick else ""))
    overheads: mb.Overheads = m["overheads"]
    bandwidth: mb.Bandwidth = m["bandwidth"]
    matmul = {p: v["tflops"] for p, v in m["matmul"].items()}
    sweep_peak = matmul.get("fp32") if device == "cpu" else matmul.get("fp16", matmul.get("fp32"))
    curve = mb.utilisation_curve(m["sweep"], sweep_peak or 0.0, m["floor_us"])
    dw_rows = [{"shape": list(p.shape), "output_elems": p.output_elems, "flops": p.flops,
                "time_ms": round(p.time_ms, 5), "gflops": round(p.tflops * 1e3, 3)} for p in m["dw"]]
    vector = mb.peak_consistent_with_curve(
        [mb.SweepPoint("conv", p.shape, p.output_elems, p.flops, p.time_ms, p.tflops) for p in m["dw"]],
        curve, m["floor_us"]) or m["vector_tflops"]
    sweep_rows = [
        {"kind": p.kind, "shape": list(p.shape), "output_elems": p.output_elems, "flops": p.flops,
         "time_ms": round(p.time_ms, 5), "tflops": round(p.tflops, 5)}
        for p in m["sweep"]
    ]
    notes = (
        f"matmul: square {next(iter(m['matmul'].values()))['size']}^3 GEMMs (torch.mm, output preallocated); "
        f"vector: depthwise 3x3 convolutions of MobileNet/EfficientNet stages (the vector-unit kernels with "
        f"real arithmetic; elementwise ops are memory-bound), stated as the peak the utilisation curve scales "
        f"to their achieved rates; plain elementwise torch.addcmul on cache-resident arrays reached "
        f"{m['vector_tflops'] * 1e3:.1f} GFLOP/s; "
        f"bandwidth: dst.copy_(src) of {bandwidth.array_mib:.0f} MiB fp32 arrays, (read+written bytes)/time; "
        f"read-only src.sum() gave {bandwidth.read_gbs:.1f} GB/s; "
        f"per-op overhead (pytorch record only): tiny Conv2d/BatchNorm2d/ReLU module calls under inference_mode "
        f"(bare torch.add: {overheads.aten_op_us:.2f} us); "
        f"utilisation_curve: x = output elements of realistic conv/GEMM kernels "
        f"(the profiler's parallel_work), y = achieved/achievable {('fp32' if device == 'cpu' else 'fp16')} "
        f"matmul throughput after subtracting the call floor (tiny GEMM {m['floor_us']['gemm']:.1f} us, "
        f"tiny conv {m['floor_us']['conv']:.1f} us), binned per half decade and made monotone (isotonic)."
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
        graph_kernel_us=round(m["graph_kernel_us"], 3) if "graph_kernel_us" in m else None,
        utilisation_curve=curve,
        notes=notes,
    )
    # Eager PyTorch: the same device figures plus its own per-op cost.
    pytorch_record = device_record.model_copy(update={
        "framework_id": "pytorch",
        "per_op_overhead_us": round(overheads.module_op_us, 3),
        "method": device_record.method + ": eager PyTorch",
    })
    records = [device_record, pytorch_record]
    ort_curve, ort_rows = curve, []
    if device == "cpu" and "sweep" in m["ort"]:
        ort_points, ort_floor = m["ort"]["sweep"]
        # onnxruntime's convolutions outrun its 1024^3 MatMul: the achievable fp32 figure is
        # the best rate any of its realistic kernels reached, so the curve is not capped.
        m["ort"]["fp32_gemm_1024"] = m["ort"]["fp32"]
        m["ort"]["fp32"] = max(m["ort"]["fp32"], mb.best_rate(ort_points, ort_floor))
        ort_curve = mb.utilisation_curve(ort_points, m["ort"]["fp32"], ort_floor)
        ort_rows = [{"kind": p.kind, "shape": list(p.shape), "output_elems": p.output_elems, "flops": p.flops,
                     "time_ms": round(p.time_ms, 5), "tflops": round(p.tflops, 5)} for p in ort_points]
        m["ort"]["sweep"] = ort_rows
        m["ort"]["call_floor_us"] = ort_floor
    ort_int8 = m["ort"].get("int8")
    if device == "cpu" and "sweep_int8" in m["ort"]:
        int8_points, int8_floor = m["ort"]["sweep_int8"]
        realistic = mb.peak_consistent_with_curve(int8_points, ort_curve, int8_floor)
        m["ort"]["int8_gemm_1024"] = m["ort"]["int8"]
        m["ort"]["int8_realistic"] = realistic
        if realistic is not None:
            ort_int8 = realistic
        m["ort"]["sweep_int8"] = [{"kind": p.kind, "shape": list(p.shape), "output_elems": p.output_elems,
                                   "flops": p.flops, "time_ms": round(p.time_ms, 5), "tops": round(p.tflops, 5)}
                                  for p in int8_points]
        m["ort"]["call_floor_us_int8"] = int8_floor
    ort_vector = vector
    if device == "cpu" and "dw" in m["ort"]:
        ort_dw = m["ort"]["dw"]
        ort_vector = mb.peak_consistent_with_curve(
            [mb.SweepPoint("conv", p.shape, p.output_elems, p.flops, p.time_ms, p.tflops) for p in ort_dw],
            ort_curve, m["ort"].get("call_floor_us", {})) or vector
        m["ort"]["dw"] = [{"shape": list(p.shape), "output_elems": p.output_elems, "time_ms": round(p.time_ms, 5),
                           "gflops": round(p.tflops * 1e3, 3)} for p in ort_dw]
    if device == "cpu" and m["ort"]:
        records.append(CalibrationSpec(
            platform_id=platform_id,
            framework_id="onnxruntime-cpu",
            measured_at=when,
            method=f"advisor calibrate --device cpu: onnxruntime {_ort_version()} CPUExecutionProvider ({method_tail})",
            tool_version=f"advisor {__version__}",
            matmul_tflops={"fp32": round(m["ort"]["fp32"], 5), "int8": round(ort_int8, 5)},
            vector_tflops={"fp32": round(ort_vector, 5)},
            bandwidth_gbs=round(bandwidth.copy_gbs, 3),
            per_op_overhead_us=round(m["ort"]["node_us"], 3),
            utilisation_curve=ort_curve,
            notes=(
                "matmul fp32: the best of a 1024^3 MatMul single-node graph "
                f"({m['ort'].get('fp32_gemm_1024', m['ort']['fp32']):.3f} TFLOPS) and the sweep's kernels; matmul int8: the realistic conv/GEMM shapes of the "
                "sweep as QDQ-quantized single-node graphs (QLinearConv / int8 MatMul, with their quantize and "
                "dequantize), stated as the peak that the utilisation curve scales to their achieved rates "
                f"(a bare 1024^3 MatMulInteger reaches {m['ort'].get('int8_gemm_1024', m['ort']['int8']):.3f} TOPS, "
                "which CNN-sized int8 kernels come nowhere near); "
                "per_op_overhead_us: per node of an Add/Relu chain on 4x4x4 tensors, graph optimisation off; "
                "utilisation_curve: the device record's conv/GEMM shapes as single-node onnxruntime graphs (fp32), "
                "relative to the fp32 MatMul figure, call floor subtracted; "
                "vector: the device record's depthwise convolutions as single-node onnxruntime graphs, stated "
                "against this record's curve; bandwidth as in the device record (measured through PyTorch)."
            ),
        ))
    platform = existing_platform or (
        cpu_platform(platform_id, cpu, threads, matmul, m["vector_tflops"], bandwidth, when)
        if device == "cpu"
        else cuda_platform(platform_id, matmul, bandwidth, when)
    )
    details = {
        "cpu": {"model_name": cpu.model_name, "logical_cpus": cpu.logical_cpus, "clock_ghz": cpu.clock_ghz,
                "features": cpu.features},
        "matmul": m["matmul"],
        "vector_tflops": vector,
        "elementwise_addcmul_tflops": m["vector_tflops"],
        "depthwise": dw_rows,
        "bandwidth": asdict(bandwidth),
        "overheads": asdict(overheads),
        "sweep": sweep_rows,
        "call_floor_us": m["floor_us"],
        "onnxruntime": m["ort"],
        "graph_kernel_us": m.get("graph_kernel_us"),
        "quick": quick,
        "rounds": m.get("rounds", 1),
        "contention": round(m["contention"], 4),
    }
    return CalibrationRun(device, platform, records, threads, details)


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
