"""Step times of a served decoder on one device group, from the roofline predictor.

A step is one forward pass: a prefill over a prompt, or a decode of one token for every
running sequence. Each rank runs its tensor-parallel shard of the collapsed profile
(advisor.plan.stack, advisor.plan.shard) through ``advisor.predict.engine.predict``; the
repeated block is predicted once and counted once per block of the rank's pipeline stage.
Tensor parallelism adds the ring all-reduces of each block and a gather of the logits
(advisor.predict.parallel); pipeline parallelism adds a send of the residual stream between
stages. Collectives are not overlapped with compute (vLLM and TensorRT-LLM run them
between the GEMMs of a block). The KV cache is read at its own dtype by the predictor
(``predict(kv_cache=...)``): each decode block is predicted with the cache elements one rank
holds for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from advisor.domain.serving import Interconnect
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.plan.shard import ShardedStack, shard
from advisor.plan.stack import BatchedStack, LayerStack
from advisor.predict.engine import predict
from advisor.predict.kernels import Kernel, fuse, fusion_key
from advisor.predict.parallel import comm_width, kv_share, point_to_point_s, tensor_parallel_comm_s
from advisor.predict.platform_corrections import PlatformCorrectionTable
from advisor.profiling.types import Profile

MS = 1e-3


@dataclass(frozen=True)
class StepTime:
    """Seconds of one step on one pipeline stage: kernels (with per-call overhead) and
    collectives, and what the kernel time is bound by."""

    kernel_s: float
    comm_s: float
    bound: str  # compute | memory | overhead | interconnect

    @property
    def total_s(self) -> float:
        return self.kernel_s + self.comm_s


def _small_profile(ops: list, batch: int, phase: str, seq_len: int | None, kv_cache_elems: int = 0) -> Profile:
    """The part of a profile predict() reads when it is handed the kernels."""
    return Profile.model_construct(
        model="plan", input_shape=[], batch=batch, phase=phase, seq_len=seq_len, context=None, params=0,
        kv_cache_elems=kv_cache_elems, ops=ops, unsupported_ops=[], advisor_version="", modules=[],
        source=None, native_precision=None, notes=[],
    )


@dataclass
class StepModel:
    """Decode steps at any batch and the prefill of one prompt, for one model and workload."""

    decode: BatchedStack
    prefill: LayerStack
    prompt_tokens: int
    kv_heads: int
    _batched: dict = field(default_factory=dict, repr=False)
    _sharded: dict = field(default_factory=dict, repr=False)
    _kernels: dict = field(default_factory=dict, repr=False)

    def sharded(self, phase: str, batch: int, tp: int) -> ShardedStack:
        key = (phase, batch, tp)
        if key not in self._sharded:
            if phase == "decode":
                if batch not in self._batched:
                    self._batched[batch] = self.decode.at(batch)
                stack = self._batched[batch]
            else:
                stack = self.prefill
            self._sharded[key] = shard(stack, tp)
        return self._sharded[key]

    def kv_elems_per_block(self, batch: int, tp: int) -> int:
        """Cached K/V elements one rank holds (and a decode step reads) for one block."""
        count = max(1, self.decode.one.count)
        per_block = self.decode.kv_cache_elems(batch) / count
        return round(per_block * kv_share(self.kv_heads, tp))

    def kernels(self, phase: str, batch: int, tp: int, framework: FrameworkSpec,
                scheme: str) -> tuple[list[Kernel], list[Kernel], list[Kernel]]:
        """Head, block and tail kernels of one rank; shared by frameworks and schemes with the
        same fusion key (the predictor prices their bytes per scheme)."""
        key = (phase, batch, tp, fusion_key(framework.fusion, scheme))
        if key not in self._kernels:
            stack = self.sharded(phase, batch, tp).stack
            self._kernels[key] = tuple(fuse(ops, framework.fusion, scheme) for ops in (stack.head, stack.block, stack.tail))
        return self._kernels[key]

    def stage_time(
        self,
        phase: str,
        batch: int,
        *,
        tp: int,
        pp: int,
        platform: PlatformSpec,
        framework: FrameworkSpec,
        scheme: str,
        calibration: CalibrationSpec | None,
        link: Interconnect | None,
        kv_cache: str | None,
        detail: bool = False,
        platform_corrections: PlatformCorrectionTable | None = None,
    ) -> StepTime:
        """One pipeline stage's time for a decode step of ``batch`` sequences, or for the
        prefill of one prompt of ``prompt_tokens`` (``batch`` 1), collectives included.

        ``bound`` is worked out only with ``detail`` (it needs every kernel's times, which
        costs more than the total): what most of the stage's time is spent bound by.
        ``platform_corrections``: the published per-platform figures to apply (None: the shipped
        configs/platform_corrections.yaml, as every prediction)."""
        head, block, tail = self.kernels(phase, batch, tp, framework, scheme)
        sharded = self.sharded(phase, batch, tp)
        stack = sharded.stack
        seq = self.prompt_tokens if phase == "prefill" else None
        kv_elems = self.kv_elems_per_block(batch, tp) if phase == "decode" else 0

        def run(kernels: list[Kernel], layers: bool = False, cached: int = 0):
            return predict(_small_profile(stack.ops, batch, phase, seq, cached), platform, framework, scheme,
                           calibration, kernels=kernels, with_layers=layers, kv_cache=kv_cache,
                           platform_corrections=platform_corrections)

        # the per-call cost is what a prediction of no kernels takes; each part is its
        # prediction less that (the predictor adds it once per call)
        call_ms = run([]).latency_ms
        outside = run(head + tail, detail)
        repeated = run(block, detail, kv_elems) if block else None
        blocks = math.ceil(stack.count / pp) if stack.count else 0
        block_ms = repeated.latency_ms - call_ms if repeated is not None else 0.0
        kernel_s = (outside.latency_ms + blocks * block_ms) * MS
        bound = ""
        if detail:
            totals = {"compute": 0.0, "memory": 0.0, "overhead": call_ms}
            for part, weight in ((outside, 1), (repeated, blocks)):
                for layer in part.layers if part is not None else []:
                    totals[layer.bound] += weight * layer.time_ms
            bound = max(totals, key=totals.__getitem__)
        comm_s = 0.0
        comm_s += tensor_parallel_comm_s(sharded.all_reduce_elems_per_block, blocks, sharded.gather_elems, tp,
                                         link, scheme)
        if pp > 1 and link is not None:
            boundary = stack.block[-1].output_elems if stack.block else 0
            comm_s += point_to_point_s(boundary * comm_width(scheme), link)
        if detail and comm_s > kernel_s:
            bound = "interconnect"
        return StepTime(kernel_s=kernel_s, comm_s=comm_s, bound=bound)
