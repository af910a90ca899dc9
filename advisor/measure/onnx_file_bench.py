"""`advisor bench` of an ONNX file: run the file itself with onnxruntime on this CPU.

Why apart from ModelBench: a torch model is materialised with random weights and exported;
an ONNX file already is the deployable artifact, weights included, so it is timed as it is
(at its own precision: float graphs at fp32, quantized graphs at theirs).
"""

from __future__ import annotations

import time
from typing import Any

from advisor.errors import InputError
from advisor.measure.bench import BenchBudget, BenchResult, Materialised, Runner, bench_threads, ort_session, time_runner
from advisor.models.graph import GraphSpec

#: ONNX tensor element types -> numpy dtype names for random feeds
_FEED_DTYPES = {1: "float32", 10: "float16", 11: "float64", 6: "int32", 7: "int64", 9: "bool", 2: "uint8", 3: "int8"}


def _random_feeds(graph: GraphSpec, seed: int = 0) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    types = {v.name: v.type.tensor_type.elem_type for v in graph.model.graph.input}
    feeds: dict[str, Any] = {}
    for name, shape in graph.input_shapes.items():
        dtype = _FEED_DTYPES.get(types.get(name, 1))
        if dtype is None:
            raise InputError(f"{graph.name}: input '{name}' has an element type bench cannot fill")
        if dtype.startswith("float"):
            feeds[name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[name] = np.zeros(shape, dtype=dtype)  # token ids / indices: 0 is always valid
    return feeds


class OnnxFileBench:
    """An ONNX file timed under onnxruntime-cpu; same interface as ModelBench (run, close)."""

    def __init__(self, model: str, graph: GraphSpec, params: int, native_precision: str | None,
                 budget: BenchBudget | None = None):
        self.model, self.graph = model, graph
        self.precision = native_precision or "fp32"
        self.budget = budget or BenchBudget()
        self.threads = bench_threads()
        self.m = Materialised(module=None, args=(), kwargs={}, input_shape=list(graph.input_shape),
                              batch=graph.batch, params=params)
        self.feeds = _random_feeds(graph)

    def run(self, framework: str, precision: str) -> BenchResult:
        if framework != "onnxruntime-cpu":
            raise InputError(f"{self.graph.name} is an ONNX file: bench runs ONNX files with onnxruntime-cpu, "
                             f"not {framework}")
        if precision != self.precision:
            hint = ("quantize it first (onnxruntime.quantization.quantize_static) and bench that file"
                    if self.precision == "fp32" else "it is a quantized graph")
            raise InputError(f"{self.graph.name} runs at {self.precision} as stored, not {precision}: {hint}")
        start = time.perf_counter()
        session = ort_session(self.graph.path, self.threads)
        feeds = self.feeds
        runner = Runner(lambda: session.run(None, feeds), None,
                        [f"the ONNX file as given ({self.precision}); ORT_ENABLE_ALL graph optimisations"],
                        keepalive=[session])
        return time_runner(runner, model=self.model, framework=framework, precision=precision, device="cpu",
                           m=self.m, budget=self.budget, setup_s=time.perf_counter() - start, threads=self.threads)

    def close(self) -> None:
        """Nothing to clean up: the file is the user's."""
