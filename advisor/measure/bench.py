"""`advisor bench`: real latency of one model x precision x framework on this machine.

The zoo builds models on the meta device (no weights). Here they are materialised with
real random weights (seeded; variance-preserving initialisation so activations stay O(1)
through deep stacks: no overflow, no denormals, which would slow a CPU down for reasons
unrelated to the model) and fed real random inputs. Accuracy is irrelevant for timing;
arithmetic and memory traffic are the same as with trained weights.

Runners, each a closure timed by advisor.measure.timing:
- pytorch: eager under torch.inference_mode;
- torch-compile: torch.compile (inductor) under inference_mode; compilation is warm-up;
- onnxruntime-cpu: torch.onnx.export (TorchScript exporter, opset 17) then an ORT session;
  int8 via onnxruntime.quantization.quantize_static (QDQ, u8 activations / s8 per-channel
  weights, MinMax calibration on random inputs: the scales are meaningless for accuracy
  but the kernels and the traffic are those of a real static-int8 deployment);
- pytorch-cudagraphs (CUDA only): the forward captured once in a CUDA graph and replayed.

Threads: every runner uses all logical CPUs (os.cpu_count()) for intra-op parallelism and
one inter-op thread, so the frameworks are compared on equal terms.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from advisor.errors import InputError, unknown_name
from advisor.precision import scheme as scheme_spec
from advisor.quiet_logs import logger_level

#: Frameworks `advisor bench` can run, with the devices they run on.
RUNNABLE: dict[str, tuple[str, ...]] = {
    "pytorch": ("cpu", "cuda"),
    "torch-compile": ("cpu", "cuda"),
    "onnxruntime-cpu": ("cpu",),
    "pytorch-cudagraphs": ("cuda",),
}

#: Frameworks in advisor's database that need software this tool does not drive; the
#: python module tells the user what is missing.
NOT_RUNNABLE: dict[str, str] = {
    "tensorrt": "tensorrt",
    "tensorrt-llm": "tensorrt_llm",
    "onnxruntime-cuda": "onnxruntime-gpu",
    "onnxruntime-tensorrt": "onnxruntime-gpu with TensorRT",
    "openvino": "openvino",
    "tflite-xnnpack": "tflite_runtime",
    "tflite-gpu": "tflite_runtime with a GPU delegate",
    "tflite-edgetpu": "pycoral",
    "ncnn": "ncnn",
    "mnn": "MNN",
    "llama-cpp": "llama_cpp",
    "tvm": "tvm",
    "coreml": "coremltools",
    "hailort": "hailo_platform",
    "vllm": "vllm",
    "executorch": "executorch",
}

#: Largest parameter count bench materialises (fp32 weights must fit comfortably in RAM).
MAX_BENCH_PARAMS = 2_000_000_000


class BenchResult(BaseModel):
    """One measured configuration. Times in milliseconds per call (one batch)."""

    model: str
    framework: str
    precision: str
    batch: int
    device: str
    input_shape: list[int]
    latency_ms: float  # median
    p10_ms: float
    p90_ms: float
    q1_ms: float
    q3_ms: float
    min_ms: float
    runs: int
    warmup_runs: int
    ci_rel: float  # half-width of the median's 95% CI / median
    stable: bool
    throughput_per_s: float
    threads: int
    setup_s: float  # materialise + export/quantise/compile, not part of the latency
    #: share of all CPUs that other processes used during the measurement (0 = quiet machine)
    contention: float = 0.0
    measured_at: str
    versions: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class BenchBudget:
    """Stopping rule for one configuration."""

    budget_s: float = 8.0
    min_runs: int = 10
    max_runs: int = 500
    rel_ci: float = 0.02
    warmup_s: float = 1.0
    max_warmup_s: float = 60.0

    @staticmethod
    def quick() -> "BenchBudget":
        return BenchBudget(budget_s=1.0, min_runs=5, max_runs=50, rel_ci=0.05, warmup_s=0.2, max_warmup_s=20.0)


# ---------------------------------------------------------------- input checks
def precisions_for(framework: str, device: str) -> list[str]:
    """Precisions a framework runs natively on this machine's device."""
    if framework == "onnxruntime-cpu":
        return ["fp32", "int8"]
    if device == "cpu":
        from advisor.measure.calibrate import cpu_matmul_precisions
        from advisor.measure.sysinfo import detect_cpu

        return cpu_matmul_precisions(detect_cpu())
    from advisor.measure.microbench import cuda_precisions

    # Whole models run in floating point here; int8/fp8 matmuls are calibrated, not benched.
    return [p for p in cuda_precisions() if p in ("fp32", "tf32", "fp16", "bf16")]


def check_config(framework: str, precision: str, device: str) -> None:
    """Refuse what cannot run here before any model is built (InputError, one line)."""
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device '{device}' is not one of cpu, cuda")
    if framework not in RUNNABLE:
        if framework in NOT_RUNNABLE:
            module = NOT_RUNNABLE[framework]
            top = module.split()[0]
            installed = importlib.util.find_spec(top) is not None if top.isidentifier() else False
            if installed and top != "onnxruntime":
                raise InputError(f"framework '{framework}': advisor bench has no runner for it (runs: {', '.join(RUNNABLE)})")
            raise InputError(
                f"framework '{framework}' is not installed on this machine (needs {module}); "
                f"advisor bench runs: {', '.join(RUNNABLE)}"
            )
        raise unknown_name("framework", framework, [*RUNNABLE, *NOT_RUNNABLE])
    scheme_spec(precision)  # unknown precision names -> InputError with the valid ones
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA GPU is visible to PyTorch on this machine")
    if device not in RUNNABLE[framework]:
        raise InputError(f"framework '{framework}' runs on {', '.join(RUNNABLE[framework])}, not on --device {device}")
    valid = precisions_for(framework, device)
    if precision not in valid:
        raise InputError(
            f"precision '{precision}' is not available with {framework} on this {device} "
            f"(available here: {', '.join(valid)})"
        )


# ---------------------------------------------------------------- materialising
def _map_tensors(value: Any, fn: Callable[[Any], Any]) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, tuple):
        return tuple(_map_tensors(v, fn) for v in value)
    if isinstance(value, list):
        return [_map_tensors(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_tensors(v, fn) for k, v in value.items()}
    return value


def random_like(t: Any, device: str, generator: Any) -> Any:
    """A real tensor shaped like ``t``: N(0,1) floats (images, features), small ints (token ids)."""
    import torch

    if t.dtype.is_floating_point:
        return torch.randn(t.shape, generator=generator, dtype=torch.float32).to(device=device, dtype=t.dtype)
    if t.dtype == torch.bool:
        return torch.ones(t.shape, dtype=torch.bool, device=device)
    return torch.randint(0, 1000, t.shape, generator=generator, dtype=torch.int64).to(device=device, dtype=t.dtype)


def reinitialise(module: Any, generator: Any) -> None:
    """Fill every parameter and buffer of a module that came off the meta device.

    Weights (>= 2-D parameters named *weight): Kaiming-normal for ReLU (fan-in), which keeps
    activation variance ~constant layer to layer; other >= 2-D parameters (class tokens,
    position embeddings): N(0, 0.02); 1-D *weight (norm scales): 1; biases: 0. Buffers:
    running_var 1, every other float buffer 0, integer buffers 0 (batch counters)."""
    import math

    import torch

    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if p.dim() >= 2 and leaf.endswith("weight"):
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=generator) * math.sqrt(2.0 / max(1, fan_in)))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
            elif leaf.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()
        for name, b in module.named_buffers():
            leaf = name.rsplit(".", 1)[-1]
            b.fill_(1 if leaf == "running_var" else 0)


def is_meta_module(module: Any) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return any(t.is_meta for t in tensors)


@dataclass
class Materialised:
    module: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    input_shape: list[int]
    batch: int
    params: int


def materialise(model: str, batch: int | None, device: str, *, allow_code: bool = True, seed: int = 0) -> Materialised:
    """Build the zoo (or user) model with real random weights and inputs on ``device``."""
    import psutil
    import torch

    from advisor.models import load_model
    from advisor.workload import Workload

    spec = load_model(Workload(model=model, batch=batch), allow_code=allow_code)
    module = spec.module
    params = sum(p.numel() for p in module.parameters())
    need = params * 4 * 2  # weights plus a copy during export/conversion
    if params > MAX_BENCH_PARAMS or need > 0.6 * psutil.virtual_memory().available:
        raise InputError(
            f"model '{model}' has {params / 1e9:.2f} B parameters: too large to benchmark with fp32 weights "
            f"on this machine ({psutil.virtual_memory().available / 1e9:.1f} GB RAM available)"
        )
    generator = torch.Generator().manual_seed(seed)
    if is_meta_module(module):
        module = module.to_empty(device="cpu")
        reinitialise(module, generator)
    module = module.to(device).eval()
    args = _map_tensors(spec.args, lambda t: random_like(t, device, generator))
    kwargs = _map_tensors(spec.kwargs, lambda t: random_like(t, device, generator))
    return Materialised(module, tuple(args), dict(kwargs), list(spec.input_shape), spec.batch, params)


# ---------------------------------------------------------------- runners
@dataclass
class Runner:
    """A closure running one batch, how to wait for it, and what to say about it."""

    run: Callable[[], object]
    sync: Callable[[], None] | None = None
    notes: list[str] = field(default_factory=list)
    context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    keepalive: list[Any] = field(default_factory=list)  # temp dirs, sessions


def _cast(m: Materialised, precision: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    import torch

    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    if dtype is None:
        return m.module, m.args, m.kwargs

    def cast(t: Any) -> Any:
        return t.to(dtype) if t.dtype.is_floating_point else t

    import copy

    # a copy: Module.to() casts in place, and the fp32 module is reused by other runs
    return copy.deepcopy(m.module).to(dtype), _map_tensors(m.args, cast), _map_tensors(m.kwargs, cast)


@contextlib.contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    import torch

    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def torch_runner(m: Materialised, framework: str, precision: str, device: str) -> Runner:
    import torch

    module, args, kwargs = _cast(m, precision)
    sync = torch.cuda.synchronize if device == "cuda" else None
    notes: list[str] = []
    context = (lambda: _tf32(precision == "tf32")) if device == "cuda" else contextlib.nullcontext
    if framework == "torch-compile":
        module = torch.compile(module)
        notes.append("torch.compile (inductor, default mode); compilation happens during warm-up")

    def run() -> object:
        with torch.inference_mode():
            return module(*args, **kwargs)

    if framework == "pytorch-cudagraphs":
        run = _cuda_graph_replay(module, args, kwargs, precision)
        notes.append("forward captured once with torch.cuda.graph, timed as graph.replay()")
    return Runner(run, sync, notes, context)


def _cuda_graph_replay(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], precision: str) -> Callable[[], object]:
    """Capture one forward in a CUDA graph (static inputs) and return its replay."""
    import torch

    with _tf32(precision == "tf32"), torch.inference_mode():
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up outside capture: cuDNN/cuBLAS pick algorithms here
                module(*args, **kwargs)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            module(*args, **kwargs)
    torch.cuda.synchronize()
    return graph.replay


def _export_onnx(m: Materialised, model: str, path: Path) -> list[str]:
    """torch.onnx.export with the TorchScript exporter; returns the graph's input names."""
    import torch

    flat: list[Any] = []
    _map_tensors((m.args, m.kwargs), lambda t: flat.append(t))
    names = [f"input_{i}" for i in range(len(flat))]
    try:
        # The exporter warns (deprecation, tracer) on stderr: keep the CLI's stderr to one line.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                m.module, m.args, str(path), kwargs=m.kwargs or None, input_names=names,
                opset_version=17, do_constant_folding=True, dynamo=False,
            )
    except Exception as exc:  # noqa: BLE001 - any exporter failure is the model's, reported as such
        text = str(exc).strip().splitlines()
        raise InputError(f"model '{model}' failed to export to ONNX: {text[0] if text else type(exc).__name__}") from None
    import onnx

    graph_inputs = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    return graph_inputs


class _RandomCalibration:
    """A CalibrationDataReader that yields a few batches of random inputs."""

    def __init__(self, feeds: list[dict[str, Any]]):
        self._it = iter(feeds)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._it, None)


def _ort_feeds(m: Materialised, names: list[str]) -> dict[str, Any]:
    flat: list[Any] = []
    _map_tensors((m.args, m.kwargs), lambda t: flat.append(t))
    by_name = {f"input_{i}": t.detach().cpu().numpy() for i, t in enumerate(flat)}
    return {n: by_name[n] for n in names if n in by_name}


def quantize_static_qdq(source: Path, target: Path, feeds: list[dict[str, Any]]) -> None:
    """onnxruntime's static int8 quantization as advisor quantizes every model it times (bench
    and calibrate alike): QDQ, u8 activations, s8 per-channel weights, MinMax over ``feeds``;
    the quantizer's log advice and its sessions' warnings kept off stderr."""
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    onnxruntime.set_default_logger_severity(3)  # the quantizer's inference sessions: errors only
    with logger_level(None, logging.ERROR):  # its advice goes through the root logger
        quantize_static(
            str(source), str(target), _RandomCalibration(feeds),
            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            per_channel=True, calibrate_method=CalibrationMethod.MinMax,
        )


def quantize_int8(fp32_path: Path, int8_path: Path, m: Materialised, names: list[str], samples: int = 4) -> None:
    """Static int8 (QDQ, u8 activations, s8 per-channel weights, MinMax on random inputs)."""
    import numpy as np
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # pre-processing's sessions too: errors only
    base = _ort_feeds(m, names)
    rng = np.random.default_rng(0)
    feeds = [
        {k: (rng.standard_normal(v.shape).astype(v.dtype) if v.dtype.kind == "f" else v) for k, v in base.items()}
        for _ in range(samples)
    ]
    source = fp32_path
    try:
        # onnxruntime's recommended pre-processing (shape inference, constant folding into
        # initializers) so that every conv's weight and bias can be quantized.
        from onnxruntime.quantization.shape_inference import quant_pre_process

        pre = int8_path.with_suffix(".pre.onnx")
        with logger_level(None, logging.ERROR):  # its advice goes through the root logger
            quant_pre_process(str(fp32_path), str(pre))
        source = pre
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantize the raw export
        source = fp32_path
    try:
        quantize_static_qdq(source, int8_path, feeds)
    except Exception as exc:  # noqa: BLE001
        text = str(exc).strip().splitlines()
        raise InputError(f"onnxruntime could not quantize the exported model to int8: {text[0] if text else type(exc).__name__}") from None


def ort_session(model: Path | str | bytes, threads: int, profile_prefix: str | None = None,
                optimized_path: str | None = None):  # -> onnxruntime.InferenceSession
    """A CPU session as advisor times models (bench and calibrate alike): intra-op threads, one
    inter-op thread, sequential, every graph optimisation; ``profile_prefix`` turns onnxruntime's
    profiler on, ``optimized_path`` saves the optimized graph."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: the exporter's unused-initializer warnings are noise
    if profile_prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    if optimized_path:
        opts.optimized_model_filepath = optimized_path
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts,
                                providers=["CPUExecutionProvider"])


@dataclass
class OnnxArtifacts:
    """Exported (and quantized) models of one materialised model, shared across runs."""

    dir: tempfile.TemporaryDirectory
    fp32: Path
    names: list[str]
    int8: Path | None = None


def onnx_artifacts(m: Materialised, model: str, precision: str, cache: OnnxArtifacts | None = None) -> OnnxArtifacts:
    if cache is None:
        tmp = tempfile.TemporaryDirectory(prefix="advisor-bench-")
        fp32 = Path(tmp.name) / "model.onnx"
        names = _export_onnx(m, model, fp32)
        cache = OnnxArtifacts(tmp, fp32, names)
    if precision == "int8" and cache.int8 is None:
        int8 = Path(cache.dir.name) / "model.int8.onnx"
        quantize_int8(cache.fp32, int8, m, cache.names)
        cache.int8 = int8
    return cache


def ort_runner(m: Materialised, model: str, precision: str, threads: int, artifacts: OnnxArtifacts) -> Runner:
    path = artifacts.int8 if precision == "int8" else artifacts.fp32
    sess = ort_session(path, threads)
    feeds = _ort_feeds(m, [i.name for i in sess.get_inputs()])
    notes = ["ONNX via torch.onnx.export (TorchScript exporter, opset 17); ORT_ENABLE_ALL graph optimisations"]
    if precision == "int8":
        notes.append(
            "int8: onnxruntime.quantization quant_pre_process + quantize_static, QDQ, u8 activations / s8 per-channel weights, "
            "MinMax calibration on 4 random batches (timing only, not accuracy)"
        )
    return Runner(lambda: sess.run(None, feeds), None, notes, keepalive=[sess, artifacts])


# ---------------------------------------------------------------- the benchmark
def versions() -> dict[str, str]:
    import torch

    out = {"torch": torch.__version__}
    try:
        import onnxruntime

        out["onnxruntime"] = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


def bench_threads() -> int:
    return os.cpu_count() or 1


def time_runner(
    runner: Runner, *, model: str, framework: str, precision: str, device: str, m: Materialised,
    budget: BenchBudget, setup_s: float, threads: int,
) -> BenchResult:
    from advisor.measure.timing import ContentionMeter, time_callable

    with runner.context(), ContentionMeter() as contention:
        stats = time_callable(
            runner.run, sync=runner.sync, min_runs=budget.min_runs, max_runs=budget.max_runs,
            budget_s=budget.budget_s, rel_ci=budget.rel_ci, warmup_s=budget.warmup_s,
            max_warmup_s=budget.max_warmup_s,
        )
    notes = list(runner.notes)
    if contention.others > 0.1:
        notes.append(f"other processes used {contention.others:.0%} of the CPUs while this was measured")
    if not stats.stable:
        notes.append(f"median not stable within {budget.rel_ci:.0%} after {stats.runs} runs (95% CI +/-{stats.ci_rel:.1%})")
    return BenchResult(
        model=model, framework=framework, precision=precision, batch=m.batch, device=device,
        input_shape=m.input_shape, latency_ms=stats.median_ms, p10_ms=stats.p10_ms, p90_ms=stats.p90_ms,
        q1_ms=stats.q1_ms, q3_ms=stats.q3_ms, min_ms=stats.min_ms, runs=stats.runs,
        warmup_runs=stats.warmup_runs, ci_rel=stats.ci_rel, stable=stats.stable,
        throughput_per_s=m.batch / (stats.median_ms * 1e-3), threads=threads, setup_s=round(setup_s, 3),
        contention=round(contention.others, 4),
        measured_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        versions=versions(), notes=notes,
    )


class ModelBench:
    """One materialised model benchmarked under several framework x precision configs;
    the export and quantisation are done once and reused."""

    def __init__(self, model: str, batch: int | None, device: str = "cpu", *, allow_code: bool = True,
                 budget: BenchBudget | None = None):
        import torch

        self.model, self.device = model, device
        self.budget = budget or BenchBudget()
        self.threads = bench_threads()
        torch.set_num_threads(self.threads)
        t0 = time.perf_counter()
        self.m = materialise(model, batch, device, allow_code=allow_code)
        self.materialise_s = time.perf_counter() - t0
        self._onnx: OnnxArtifacts | None = None

    def run(self, framework: str, precision: str) -> BenchResult:
        check_config(framework, precision, self.device)
        t0 = time.perf_counter()
        if framework == "onnxruntime-cpu":
            self._onnx = onnx_artifacts(self.m, self.model, precision, self._onnx)
            runner = ort_runner(self.m, self.model, precision, self.threads, self._onnx)
        else:
            runner = torch_runner(self.m, framework, precision, self.device)
        setup = self.materialise_s + time.perf_counter() - t0
        return time_runner(runner, model=self.model, framework=framework, precision=precision, device=self.device,
                           m=self.m, budget=self.budget, setup_s=setup, threads=self.threads)

    def close(self) -> None:
        if self._onnx is not None:
            self._onnx.dir.cleanup()
            self._onnx = None


def open_bench(model: str, batch: int | None, device: str = "cpu", *, allow_code: bool = True,
               budget: BenchBudget | None = None) -> Any:
    """A ModelBench for a torch model (materialised with random weights), an OnnxFileBench
    for an ONNX file (timed as it is, weights included)."""
    from advisor.models.sources import LoadPolicy, default_registry

    policy = LoadPolicy.of(allow_code)
    registry = default_registry()
    if registry.resolve(model, policy).name != "onnx":
        return ModelBench(model, batch, device, allow_code=allow_code, budget=budget)
    from advisor.measure.onnx_file_bench import OnnxFileBench
    from advisor.profiling.dispatch import count_built
    from advisor.workload import Workload

    if device != "cpu":
        raise InputError(f"{model}: bench runs ONNX files on the CPU (onnxruntime-cpu), not --device {device}")
    source, graph = registry.build(Workload(model=model, batch=batch), policy)
    profile = count_built(graph, source=source.name)
    return OnnxFileBench(model, graph, profile.params, profile.native_precision, budget)


def bench(
    model: str, precision: str = "fp32", framework: str = "pytorch", batch: int | None = None,
    device: str = "cpu", *, budget: BenchBudget | None = None, allow_code: bool = True,
) -> BenchResult:
    """Measure one configuration. Bad configurations fail before the model is built."""
    check_config(framework, precision, device)
    mb = open_bench(model, batch, device, allow_code=allow_code, budget=budget)
    try:
        return mb.run(framework, precision)
    finally:
        mb.close()
