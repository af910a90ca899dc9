"""Micro-benchmarks: each measures one figure the predictor needs, on cpu or cuda.

- achievable matmul throughput per precision (large GEMMs, output preallocated);
- how throughput grows with kernel size (GEMMs and convolutions of realistic CNN and
  transformer shapes), as fraction of the achievable peak versus output elements;
- vector (elementwise) throughput on cache-resident arrays;
- memory bandwidth, copy and read, on arrays much larger than the last-level cache;
- per-op cost of eager PyTorch (tiny modules, where dispatch is all there is);
- on CUDA, the per-kernel cost of replaying a CUDA graph;
- for ONNX Runtime on CPU: its per-node cost and its fp32 / int8 GEMM throughput (int8 on
  CPU runs through onnxruntime's u8s8 kernels; torch has no fast int8 GEMM on CPU).

Every function returns plain numbers; the orchestration and the record live in
calibrate.py. Throughputs use the median sample after warm-up, the statistic bench.py
reports for whole models, so that kernel figures and model timings compare like with
like (the fastest sample of a 2048^3 GEMM was 18% faster than its median here, which
a model running hundreds of kernels does not see). On a busy machine run calibrate
when it is quiet (or under `chrt`, as benchmarks/validation.py --realtime does):
`advisor calibrate` reports the share of the CPUs other processes used. Imports torch: only `calibrate` and `bench` import this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from advisor.domain.curve import interpolate_curve
from advisor.errors import InputError
from advisor.measure.bench import ort_session, quantize_static_qdq
from advisor.measure.timing import TimingStats, time_callable

#: torch dtypes of the precisions whose matmul we can time directly
TORCH_DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class Budget:
    """How long each micro-benchmark may run; the quick budget is for tests."""

    per_point_s: float
    big_point_s: float
    bandwidth_elems: int  # elements per fp32 array in the bandwidth test
    overhead_ops: int
    sweep_stride: int  # measure every n-th shape of the utilisation sweep
    rounds: int = 1  # the whole set is measured this many times; medians are kept

    @staticmethod
    def full() -> "Budget":
        # 2**28 fp32 = 1 GiB per array, far above any LLC we know of (300 MiB on Xeon 6).
        return Budget(per_point_s=0.35, big_point_s=1.2, bandwidth_elems=2**28, overhead_ops=200, sweep_stride=1,
                      rounds=2)

    @staticmethod
    def quick() -> "Budget":
        return Budget(per_point_s=0.1, big_point_s=0.3, bandwidth_elems=2**23, overhead_ops=50, sweep_stride=4)


def synchronizer(device: str) -> Callable[[], None] | None:
    return torch.cuda.synchronize if device == "cuda" else None


@contextlib.contextmanager
def tf32_mode(enabled: bool) -> Iterator[None]:
    """Turn TF32 matmuls on or off for the duration of one measurement, then restore."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _time(fn: Callable[[], object], device: str, budget_s: float, inner: int = 1) -> TimingStats:
    return time_callable(
        fn, sync=synchronizer(device), min_runs=5, budget_s=budget_s, warmup_s=min(0.3, budget_s),
        max_warmup_s=budget_s, rel_ci=0.03, inner=inner,
    )


def matmul_callable(precision: str, m: int, n: int, k: int, device: str) -> Callable[[], object]:
    """A closure computing one (m x k) @ (k x n) product at ``precision`` into a fixed output."""
    if precision in TORCH_DTYPES:
        dtype = TORCH_DTYPES[precision]
        a = torch.randn(m, k, device=device).to(dtype)
        b = torch.randn(k, n, device=device).to(dtype)
        out = torch.empty(m, n, device=device, dtype=dtype)
        return lambda: torch.mm(a, b, out=out)
    if precision == "int8":
        a8 = torch.randint(-128, 127, (m, k), device=device, dtype=torch.int8)
        b8 = torch.randint(-128, 127, (k, n), device=device, dtype=torch.int8)
        return lambda: torch._int_mm(a8, b8)
    if precision == "fp8":
        a = torch.randn(m, k, device=device).to(torch.float8_e4m3fn)
        b = torch.randn(n, k, device=device).to(torch.float8_e4m3fn).t()  # column-major, as cuBLASLt wants
        one = torch.ones((), device=device, dtype=torch.float32)
        return lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    raise InputError(f"precision '{precision}' has no matmul micro-benchmark")


def matmul_tflops(precision: str, m: int, n: int, k: int, device: str, budget_s: float) -> tuple[float, TimingStats]:
    """Achieved TFLOPS (TOPS for int8) of one GEMM shape: 2*m*n*k / median time."""
    fn = matmul_callable(precision, m, n, k, device)
    with tf32_mode(precision == "tf32") if device == "cuda" else contextlib.nullcontext():
        stats = _time(fn, device, budget_s)
    return 2.0 * m * n * k / (stats.median_ms * 1e-3) / 1e12, stats


def cuda_precisions() -> list[str]:
    """Matmul precisions this GPU runs natively (by compute capability)."""
    major, minor = torch.cuda.get_device_capability()
    cc = major * 10 + minor
    out = ["fp32"]
    if cc >= 80:
        out.append("tf32")
    if cc >= 70:
        out.append("fp16")
    if cc >= 80 and torch.cuda.is_bf16_supported():
        out.append("bf16")
    if cc >= 75:  # torch._int_mm needs int8 tensor cores (Turing+)
        out.append("int8")
    if cc >= 89 and hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm"):
        out.append("fp8")
    return out


# ---------------------------------------------------------------- utilisation sweep
#: Realistic matmul-class kernels: (kind, shape). conv: (batch, c_in, hw, c_out, kernel, stride);
#: gemm: (m, n, k). The CNN rows are ResNet/YOLO layers at batch 1; the GEMMs span token
#: counts and widths of ViT-B and small transformers, down to tiny heads.
SWEEP_SHAPES: list[tuple[str, tuple[int, ...]]] = [
    ("gemm", (1, 256, 256)),
    ("gemm", (1, 1000, 2048)),
    ("conv", (1, 16, 20, 16, 3, 1)),
    ("gemm", (16, 256, 256)),
    ("conv", (1, 64, 14, 64, 1, 1)),
    ("conv", (1, 32, 40, 32, 3, 1)),
    ("gemm", (64, 384, 384)),
    ("conv", (1, 256, 14, 256, 3, 1)),
    ("conv", (1, 512, 7, 512, 3, 1)),
    ("conv", (1, 64, 56, 64, 1, 1)),
    ("gemm", (197, 768, 768)),
    ("conv", (1, 128, 28, 128, 3, 1)),
    ("conv", (1, 64, 56, 64, 3, 1)),
    ("gemm", (197, 3072, 768)),
    ("conv", (1, 3, 224, 64, 7, 2)),
    ("conv", (1, 32, 160, 64, 3, 2)),
    ("conv", (1, 64, 112, 64, 3, 1)),
    ("gemm", (1576, 768, 768)),
    ("gemm", (1576, 3072, 768)),
]


#: GPUs fill only with much bigger kernels: batch-64 CNN layers and large GEMMs.
CUDA_EXTRA_SHAPES: list[tuple[str, tuple[int, ...]]] = [
    ("conv", (64, 64, 56, 64, 3, 1)),
    ("conv", (64, 256, 14, 256, 3, 1)),
    ("gemm", (12608, 3072, 768)),
    ("gemm", (4096, 4096, 4096)),
    ("gemm", (8192, 8192, 8192)),
]


@dataclass(frozen=True)
class SweepPoint:
    kind: str
    shape: tuple[int, ...]
    output_elems: int
    flops: float
    time_ms: float
    tflops: float


def gathers_patches(point: SweepPoint) -> bool:
    """A convolution with a spatial kernel: onnxruntime's int8 QLinearConv gathers its input
    patches (im2col) before the GEMM, a pass the predictor prices as a kernel of its own."""
    return point.kind == "conv" and point.shape[4] > 1


def _conv_callable(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> tuple[Callable[[], object], int, float]:
    n, cin, hw, cout, k, stride = shape
    x = torch.randn(n, cin, hw, hw, device=device, dtype=dtype)
    w = torch.randn(cout, cin, k, k, device=device, dtype=dtype)
    ho = (hw + 2 * (k // 2) - k) // stride + 1
    out_elems = n * cout * ho * ho
    flops = 2.0 * out_elems * cin * k * k
    return (lambda: F.conv2d(x, w, padding=k // 2, stride=stride)), out_elems, flops


def utilisation_sweep(device: str, precision: str, budget: Budget) -> list[SweepPoint]:
    """Time each realistic kernel of SWEEP_SHAPES (every ``sweep_stride``-th in quick mode)."""
    dtype = TORCH_DTYPES[precision]
    points: list[SweepPoint] = []
    shapes = SWEEP_SHAPES + (CUDA_EXTRA_SHAPES if device == "cuda" else [])
    for kind, shape in shapes[:: budget.sweep_stride]:
        if kind == "gemm":
            m, n, k = shape
            fn = matmul_callable(precision, m, n, k, device)
            out_elems, flops = m * n, 2.0 * m * n * k
        else:
            fn, out_elems, flops = _conv_callable(shape, dtype, device)
        with torch.inference_mode():
            stats = _time(fn, device, budget.per_point_s)
        points.append(SweepPoint(kind, shape, out_elems, flops, stats.median_ms, flops / (stats.median_ms * 1e-3) / 1e12))
    return points


def call_floor_us(device: str, precision: str, budget: Budget) -> dict[str, float]:
    """Time of the same calls on tiny operands (1x1 GEMM, 4-channel 1x1 conv on 4x4): the
    fixed cost of the call path, which the utilisation curve must not count as slowness."""
    dtype = TORCH_DTYPES[precision]
    a = torch.ones(1, 1, device=device, dtype=dtype)
    x = torch.ones(1, 4, 4, 4, device=device, dtype=dtype)
    w = torch.ones(4, 4, 1, 1, device=device, dtype=dtype)
    with torch.inference_mode():
        gemm = _time(lambda: torch.mm(a, a), device, budget.per_point_s, inner=50)
        conv = _time(lambda: F.conv2d(x, w), device, budget.per_point_s, inner=50)
    return {"gemm": gemm.median_ms * 1e3, "conv": conv.median_ms * 1e3}


def pool_adjacent_violators(values: list[float]) -> list[float]:
    """Least-squares non-decreasing fit (isotonic regression) of a sequence."""
    blocks: list[list[float]] = []  # [sum, count]
    for v in values:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out: list[float] = []
    for s, c in blocks:
        out += [s / c] * int(c)
    return out


def utilisation_curve(
    points: list[SweepPoint], peak_tflops: float, floor_us: dict[str, float], bins_per_decade: int = 2
) -> list[tuple[float, float]]:
    """(output elements, fraction of achievable peak) points, non-decreasing in work.

    Each kernel's fixed call cost (``floor_us`` of its kind) is taken out of its time
    first, since the predictor adds a per-op overhead separately; kernels taking less than
    twice that cost are left out (their time says nothing about their speed, and the
    predictor holds the curve flat below its first point); fractions are capped at 1. Points are grouped into log-spaced bins (median per bin) and made monotone by
    isotonic regression, because in the predictor's model a bigger kernel never fills
    the device less.
    """
    import math
    import statistics

    if not points or peak_tflops <= 0:
        return []
    bins: dict[int, list[tuple[float, float]]] = {}
    for p in points:
        floor_ms = floor_us.get(p.kind, 0.0) * 1e-3
        if p.time_ms < 2 * floor_ms:
            continue  # call cost dominates: the kernel's own speed cannot be read from its time
        busy_ms = p.time_ms - floor_ms
        frac = min(1.0, p.flops / (busy_ms * 1e-3) / 1e12 / peak_tflops)
        key = math.floor(math.log10(p.output_elems) * bins_per_decade)
        bins.setdefault(key, []).append((p.output_elems, frac))
    keys = sorted(bins)
    works = [float(statistics.median(w for w, _ in bins[k])) for k in keys]
    fracs = pool_adjacent_violators([statistics.median(f for _, f in bins[k]) for k in keys])
    return [(w, round(f, 4)) for w, f in zip(works, fracs)]


# ---------------------------------------------------------------- vector, bandwidth
def vector_tflops(device: str, budget: Budget) -> float:
    """fp32 elementwise FLOP/s on cache-resident arrays: addcmul (2 FLOPs per element)."""
    n = 2**16 if device == "cpu" else 2**24  # 256 KiB per array on CPU: stays in L2
    x, y, z = (torch.randn(n, device=device) for _ in range(3))
    out = torch.empty_like(x)
    stats = _time(lambda: torch.addcmul(x, y, z, out=out), device, budget.per_point_s, inner=20)
    return 2.0 * n / (stats.median_ms * 1e-3) / 1e12


@dataclass(frozen=True)
class Bandwidth:
    copy_gbs: float  # (bytes read + bytes written) / time of dst.copy_(src)
    read_gbs: float  # bytes read / time of src.sum()
    array_mib: float


def memory_bandwidth(device: str, budget: Budget) -> Bandwidth:
    """DRAM bandwidth from arrays far larger than the last-level cache."""
    n = budget.bandwidth_elems
    src = torch.empty(n, device=device, dtype=torch.float32).fill_(1.0)  # first touch, no RNG cost
    dst = torch.empty_like(src).fill_(0.0)
    nbytes = n * 4
    copy = _time(lambda: dst.copy_(src), device, budget.big_point_s)
    del dst
    read = _time(lambda: src.sum(), device, budget.big_point_s)
    return Bandwidth(
        copy_gbs=2 * nbytes / (copy.median_ms * 1e-3) / 1e9,
        read_gbs=nbytes / (read.median_ms * 1e-3) / 1e9,
        array_mib=nbytes / 2**20,
    )


# ---------------------------------------------------------------- overheads
@dataclass(frozen=True)
class Overheads:
    module_op_us: float  # per tiny nn.Module call (conv, bn, relu mix) under inference_mode
    aten_op_us: float  # per tiny torch.add: dispatcher + kernel launch only
    module_call_us: float = 0.0  # per call of a module that only forwards to nothing (no op)
    view_op_us: float = 0.0  # per view/transpose: dispatched, no kernel


class _Passthrough(torch.nn.Module):
    """A module whose forward runs no op: what wrapping work in one more module costs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def host_only_costs(device: str, budget: Budget) -> tuple[float, float]:
    """(module_call_us, view_op_us): host time eager PyTorch spends where no kernel runs.

    A decoder block, its attention and its MLP are Python modules around other modules;
    attention reshapes and transposes its heads with view ops. Neither launches a kernel, so
    `eager_overheads`' per-op figure does not contain them (pytorch/pytorch#50431 measured
    ~3 us per empty module call against ~0.9 us per bare op)."""
    calls = max(1, budget.overhead_ops)
    wrapper = _Passthrough()
    x = torch.randn(2, 4, 8, device=device)

    def module_calls() -> None:
        for _ in range(calls):
            wrapper(x)

    def views() -> None:
        for _ in range(calls):
            x.transpose(1, 2)

    with torch.inference_mode():
        module = _time(module_calls, device, budget.per_point_s)
        view = _time(views, device, budget.per_point_s)
    return module.median_ms * 1e3 / calls, view.median_ms * 1e3 / calls


def eager_overheads(device: str, budget: Budget) -> Overheads:
    """Per-op cost of eager PyTorch where the work itself is negligible (4x4x4 tensors).

    The module mix (1x1 conv, batch norm, ReLU) is what a CNN pays per layer in eager mode;
    the bare torch.add is the floor of one dispatched aten op."""
    layers: list[torch.nn.Module] = []
    for _ in range(budget.overhead_ops // 3):
        layers += [torch.nn.Conv2d(4, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers).to(device).eval()
    x = torch.randn(1, 4, 4, 4, device=device)
    with torch.inference_mode():
        mod = _time(lambda: net(x), device, budget.per_point_s)
        a = torch.randn(4, device=device)

        def adds() -> None:
            for _ in range(budget.overhead_ops):
                torch.add(a, a)

        add = _time(adds, device, budget.per_point_s)
    module_call_us, view_op_us = host_only_costs(device, budget)
    return Overheads(
        module_op_us=mod.median_ms * 1e3 / len(layers),
        aten_op_us=add.median_ms * 1e3 / budget.overhead_ops,
        module_call_us=module_call_us,
        view_op_us=view_op_us,
    )


def cuda_graph_kernel_us(budget: Budget, kernels: int = 200) -> float:
    """Per-kernel cost of replaying a captured CUDA graph of tiny elementwise kernels."""
    a = torch.randn(256, device="cuda")
    b = torch.randn(256, device="cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            torch.add(a, b, out=a)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(kernels):
            torch.add(a, b, out=a)
    stats = _time(graph.replay, "cuda", budget.per_point_s)
    return stats.median_ms * 1e3 / kernels


# ---------------------------------------------------------------- ONNX Runtime (CPU)
def ort_node_medians(sess: Any, feeds: dict, *, runs: int, warmup: int = 3, warmup_s: float = 0.0,
                     budget_s: float = 0.0) -> dict[str, tuple[float, dict]]:
    """Per node of a session made with profiling on (``ort_session(..., profile_prefix=)``):
    (median kernel time in us over the timed runs, the profiler's args). Warm-up is at least
    ``warmup`` runs and ``warmup_s`` seconds; then at least ``runs`` runs and ``budget_s``
    seconds are timed. Ends the session's profiling and deletes its trace."""
    import collections
    import json
    import statistics
    import time as clock
    from pathlib import Path

    done, until = 0, clock.perf_counter() + warmup_s
    while done < warmup or clock.perf_counter() < until:
        sess.run(None, feeds)
        done += 1
    timed, until = 0, clock.perf_counter() + budget_s
    while timed < runs or clock.perf_counter() < until:
        sess.run(None, feeds)
        timed += 1
    trace = Path(sess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink(missing_ok=True)
    model_runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    start = model_runs[done]["ts"]  # the first timed run: warm-up runs are in the trace too
    times: dict[str, list[float]] = collections.defaultdict(list)
    args: dict[str, dict] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            name = e["name"][: -len("_kernel_time")]
            times[name].append(e["dur"])
            args[name] = e["args"]
    return {n: (statistics.median(t), args[n]) for n, t in times.items()}


def _onnx_model(nodes, inputs, outputs, initializers=()) -> bytes:
    from onnx import helper

    graph = helper.make_graph(nodes, "advisor_microbench", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def ort_gemm_tops(precision: str, size: int, threads: int, budget: Budget) -> float:
    """onnxruntime CPU GEMM throughput: MatMul (fp32) or MatMulInteger u8 x s8 (int8)."""
    import numpy as np
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    if precision == "fp32":
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        types = (TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT)
        feeds = {"A": rng.standard_normal((size, size), dtype=np.float32),
                 "B": rng.standard_normal((size, size), dtype=np.float32)}
    elif precision == "int8":
        node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
        types = (TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32)
        feeds = {"A": rng.integers(0, 255, (size, size), dtype=np.uint8),
                 "B": rng.integers(-128, 127, (size, size), dtype=np.int8)}
    else:
        raise InputError(f"precision '{precision}' has no onnxruntime GEMM micro-benchmark")
    model = _onnx_model(
        [node],
        [helper.make_tensor_value_info("A", types[0], [size, size]),
         helper.make_tensor_value_info("B", types[1], [size, size])],
        [helper.make_tensor_value_info("Y", types[2], [size, size])],
    )
    sess = ort_session(model, threads)
    stats = _time(lambda: sess.run(None, feeds), "cpu", budget.big_point_s)
    return 2.0 * size**3 / (stats.median_ms * 1e-3) / 1e12


def ort_node_overhead_us(threads: int, budget: Budget) -> float:
    """onnxruntime CPU per-node cost: a chain of Add/Relu nodes on a 4x4x4 tensor."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    n = budget.overhead_ops
    nodes, prev = [], "X"
    for i in range(n):
        out = f"t{i}"
        if i % 2 == 0:
            nodes.append(helper.make_node("Add", [prev, "C"], [out]))
        else:
            nodes.append(helper.make_node("Relu", [prev], [out]))
        prev = out
    nodes.append(helper.make_node("Identity", [prev], ["Y"]))
    shape = [1, 4, 4, 4]
    const = numpy_helper.from_array(np.full(shape, 0.5, dtype=np.float32), "C")
    model = _onnx_model(
        nodes,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, shape)],
        [const],
    )
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every node
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    feeds = {"X": np.ones(shape, dtype=np.float32)}
    stats = _time(lambda: sess.run(None, feeds), "cpu", budget.per_point_s)
    return stats.median_ms * 1e3 / (n + 1)


def ort_utilisation_sweep(threads: int, budget: Budget, precision: str = "fp32") -> tuple[list[SweepPoint], dict[str, float]]:
    """The SWEEP_SHAPES kernels as single-node onnxruntime graphs (Conv with the weight as an
    initializer, MatMul against a constant), and the call floor of each kind (the same node
    on a tiny tensor), so onnxruntime gets a utilisation curve of its own kernels.

    precision "int8": each graph is quantized the way `advisor bench` quantizes models
    (quantize_static, QDQ, u8 activations, s8 per-channel weights) and only its int8 node
    (QLinearConv / int8 MatMul) is timed, by onnxruntime's profiler (``ort_node_ms``): inside a
    network consecutive int8 kernels pass u8 tensors to each other, so the quantize and
    dequantize at a one-node graph's edges are not part of a layer's cost."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def conv_model(n: int, cin: int, hw: int, cout: int, k: int, stride: int):
        w = numpy_helper.from_array(rng.standard_normal((cout, cin, k, k), dtype=np.float32), "W")
        node = helper.make_node("Conv", ["X", "W"], ["Y"], kernel_shape=[k, k], strides=[stride, stride],
                                pads=[k // 2] * 4)
        ho = (hw + 2 * (k // 2) - k) // stride + 1
        model = _onnx_model([node], [helper.make_tensor_value_info("X", TensorProto.FLOAT, [n, cin, hw, hw])],
                            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, cout, ho, ho])], [w])
        feeds = {"X": rng.standard_normal((n, cin, hw, hw), dtype=np.float32)}
        return model, feeds, n * cout * ho * ho, 2.0 * n * cout * ho * ho * cin * k * k

    def gemm_model(m: int, n: int, k: int):
        b = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "B")
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        model = _onnx_model([node], [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
                            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])], [b])
        return model, {"A": rng.standard_normal((m, k), dtype=np.float32)}, m * n, 2.0 * m * n * k

    floor = {
        "conv": _ort_graph_ms(*conv_model(1, 4, 4, 4, 1, 1)[:2], threads, budget.per_point_s, precision) * 1e3,
        "gemm": _ort_graph_ms(*gemm_model(1, 1, 1)[:2], threads, budget.per_point_s, precision) * 1e3,
    }
    points: list[SweepPoint] = []
    for kind, shape in SWEEP_SHAPES[:: budget.sweep_stride]:
        model, feeds, out_elems, flops = conv_model(*shape) if kind == "conv" else gemm_model(*shape)
        ms = _ort_graph_ms(model, feeds, threads, budget.per_point_s, precision)
        points.append(SweepPoint(kind, shape, out_elems, flops, ms, flops / (ms * 1e-3) / 1e12))
    return points, floor


#: onnxruntime's int8 compute kernels after graph optimisation of a QDQ model (the fused
#: QLinear* / integer nodes; onnxruntime docs, "Quantize ONNX models", and ContribOperators.md)
INT8_COMPUTE_NODES: frozenset[str] = frozenset({"QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "QGemm",
                                                "MatMulIntegerToFloat", "DynamicQuantizeMatMul"})


def ort_node_ms(model: bytes, feeds: dict, threads: int, budget_s: float, op_types: frozenset[str]) -> float:
    """Median time (ms) per run of the nodes of ``op_types`` in a one-kernel graph, from
    onnxruntime's own profiler: what the kernel costs without the graph's other nodes (the
    quantize and dequantize at its edges) or the session's per-call work."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="advisor-prof-") as tmp:
        sess = ort_session(model, threads, profile_prefix=f"{tmp}/ort")
        nodes = ort_node_medians(sess, feeds, runs=5, warmup=1, warmup_s=min(0.3, budget_s), budget_s=budget_s)
    times = [us / 1e3 for us, args in nodes.values() if args.get("op_name") in op_types]
    if not times:
        raise InputError(f"onnxruntime's profile has none of the nodes {sorted(op_types)}: the quantized graph "
                         "did not fuse into an int8 kernel")
    return sum(times)


def _ort_graph_ms(model: bytes, feeds: dict, threads: int, budget_s: float, precision: str) -> float:
    """Median time (ms) of a one-node fp32 graph, whole; "int8": the graph QDQ-quantized the
    way `advisor bench` quantizes models, its int8 node alone (``ort_node_ms``): inside a
    network consecutive int8 kernels pass u8 tensors on, so the quantize/dequantize at a
    one-node graph's edges are not a layer's cost."""
    if precision == "int8":
        return ort_node_ms(_quantize_bytes(model, feeds), feeds, threads, budget_s, INT8_COMPUTE_NODES)
    sess = ort_session(model, threads)
    return _time(lambda: sess.run(None, feeds), "cpu", budget_s).median_ms


def _quantize_bytes(model: bytes, feeds: dict) -> bytes:
    """A small fp32 ONNX model quantized the way `advisor bench` quantizes models
    (``bench.quantize_static_qdq``), calibrated on two random batches shaped like ``feeds``."""
    import tempfile
    from pathlib import Path

    import numpy as np

    rng = np.random.default_rng(1)
    batches = [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in feeds.items()} for _ in range(2)]
    with tempfile.TemporaryDirectory(prefix="advisor-cal-") as tmp:
        src, dst = Path(tmp) / "f.onnx", Path(tmp) / "q.onnx"
        src.write_bytes(model)
        quantize_static_qdq(src, dst, batches)
        return dst.read_bytes()


def peak_consistent_with_curve(points: list[SweepPoint], curve: list[tuple[float, float]],
                               floor_us: dict[str, float]) -> float | None:
    """The peak P for which P x curve(work) best matches the achieved rates of ``points``
    (median over the informative points of rate / curve(work)): how a precision whose
    kernels were timed at realistic sizes is stated against a curve measured at another."""
    import statistics

    ratios = []
    for p in points:
        floor_ms = floor_us.get(p.kind, 0.0) * 1e-3
        if p.time_ms < 2 * floor_ms:
            continue
        rate = p.flops / ((p.time_ms - floor_ms) * 1e-3) / 1e12
        fraction = interpolate_curve(curve, p.output_elems) if curve else 1.0  # no curve: rates as measured
        ratios.append(rate / max(1e-4, fraction))
    return statistics.median(ratios) if ratios else None


#: Depthwise 3x3 convolutions of MobileNet/EfficientNet stages (channels, side, stride): the
#: vector-unit kernels that carry real arithmetic in CNNs (elementwise ops are memory-bound).
DEPTHWISE_SHAPES: list[tuple[int, int, int]] = [(96, 112, 2), (144, 56, 1), (192, 28, 1), (384, 14, 1), (960, 7, 1)]


def _depthwise_point(c: int, hw: int, stride: int, ms: float) -> SweepPoint:
    ho = (hw + 2 - 3) // stride + 1
    flops = 2.0 * c * ho * ho * 9
    return SweepPoint("dwconv", (1, c, hw, stride), c * ho * ho, flops, ms, flops / (ms * 1e-3) / 1e12)


def depthwise_points(device: str, budget: Budget) -> list[SweepPoint]:
    """Time torch's depthwise 3x3 convolutions of DEPTHWISE_SHAPES (fp32)."""
    points = []
    for c, hw, stride in DEPTHWISE_SHAPES:
        x = torch.randn(1, c, hw, hw, device=device)
        w = torch.randn(c, 1, 3, 3, device=device)
        with torch.inference_mode():
            stats = _time(lambda: F.conv2d(x, w, padding=1, stride=stride, groups=c), device, budget.per_point_s)
        points.append(_depthwise_point(c, hw, stride, stats.median_ms))
    return points


def ort_depthwise_points(threads: int, budget: Budget, precision: str = "fp32") -> list[SweepPoint]:
    """The same depthwise convolutions as single-node onnxruntime graphs; "int8": QDQ-quantized
    the way `advisor bench` quantizes models, the int8 node alone timed (``ort_node_ms``)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    points = []
    for c, hw, stride in DEPTHWISE_SHAPES:
        ho = (hw + 2 - 3) // stride + 1
        w = numpy_helper.from_array(rng.standard_normal((c, 1, 3, 3), dtype=np.float32), "W")
        node = helper.make_node("Conv", ["X", "W"], ["Y"], kernel_shape=[3, 3], strides=[stride, stride],
                                pads=[1, 1, 1, 1], group=c)
        model = _onnx_model([node], [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, c, hw, hw])],
                            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, c, ho, ho])], [w])
        feeds = {"X": rng.standard_normal((1, c, hw, hw), dtype=np.float32)}
        points.append(_depthwise_point(c, hw, stride, _ort_graph_ms(model, feeds, threads, budget.per_point_s, precision)))
    return points


#: onnxruntime's GEMM size in `advisor calibrate` (a quarter with --quick): the large-size point
#: that its achievable fp32 rate is taken over together with the sweep's kernels
ORT_GEMM_SIZE = 1024


def ort_fp32_figures(gemm_tflops: float, sweep: list[SweepPoint], floor_us: dict[str, float],
                     depthwise: list[SweepPoint]) -> tuple[float, list[tuple[float, float]], float | None]:
    """onnxruntime's fp32 figures as `advisor calibrate` states them: the achievable rate (the
    best of the ORT_GEMM_SIZE MatMul and the sweep's kernels: its convolutions outrun the MatMul),
    the utilisation curve against that rate, and the vector figure (the depthwise convolutions
    read against the curve; None without an informative one). One function, so that
    benchmarks/ort_int8_ops.py states its per-node costs against exactly this vector figure."""
    fp32 = max(gemm_tflops, best_rate(sweep, floor_us))
    curve = utilisation_curve(sweep, fp32, floor_us)
    convs = [SweepPoint("conv", p.shape, p.output_elems, p.flops, p.time_ms, p.tflops) for p in depthwise]
    return fp32, curve, peak_consistent_with_curve(convs, curve, floor_us)


def median_of_rounds(rounds: list[Any]) -> Any:
    """Merge the results of repeated calibration rounds: numbers become their median,
    sweep points keep their shape with the median time; dicts, tuples, lists and
    dataclasses are merged field by field."""
    import dataclasses
    import statistics

    first = rounds[0]
    if len(rounds) == 1:
        return first
    if isinstance(first, SweepPoint):
        t = statistics.median(p.time_ms for p in rounds)
        return dataclasses.replace(first, time_ms=t, tflops=first.flops / (t * 1e-3) / 1e12)
    if dataclasses.is_dataclass(first):
        return dataclasses.replace(first, **{f.name: median_of_rounds([getattr(r, f.name) for r in rounds])
                                             for f in dataclasses.fields(first)})
    if isinstance(first, bool) or isinstance(first, str) or first is None:
        return first
    if isinstance(first, (int, float)):
        return statistics.median(rounds) if isinstance(first, float) else first
    if isinstance(first, dict):
        return {k: median_of_rounds([r[k] for r in rounds]) for k in first}
    if isinstance(first, tuple):
        return tuple(median_of_rounds([r[i] for r in rounds]) for i in range(len(first)))
    if isinstance(first, list):
        return [median_of_rounds([r[i] for r in rounds]) for i in range(len(first))]
    return first


def conv_figures(points: list[SweepPoint], floor_us: dict[str, float]) -> tuple[float | None, list[tuple[float, float]]]:
    """(achievable TFLOPS, utilisation curve) of the dense convolutions among ``points``: the
    best rate any of them reached and each one's fraction of it. Eager PyTorch on a CPU runs
    convolutions in oneDNN and GEMMs in its BLAS; on an AMD EPYC the first reached twice the
    second (0.47 vs 0.23 TFLOPS), so they need figures of their own. (None, []) without any."""
    convs = [p for p in points if p.kind == "conv"]
    peak = best_rate(convs, floor_us)
    if peak <= 0:
        return None, []
    return peak, utilisation_curve(convs, peak, floor_us)


def best_rate(points: list[SweepPoint], floor_us: dict[str, float]) -> float:
    """The highest TFLOPS any informative sweep kernel reached, call floor taken out."""
    rates = [p.flops / ((p.time_ms - floor_us.get(p.kind, 0.0) * 1e-3) * 1e-3) / 1e12
             for p in points if p.time_ms >= 2 * floor_us.get(p.kind, 0.0) * 1e-3]
    return max(rates, default=0.0)
