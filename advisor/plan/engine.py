"""plan(): every (target x device count x parallel layout x framework x scheme x KV dtype)
candidate sized, timed, costed and ranked.

For each candidate: the memory plan (advisor.plan.memory) says whether one request fits and
how many do; the step model (advisor.plan.steps) times prefill and decode on one rank; the
steady-state model (advisor.plan.serving) turns them into throughput, TTFT and TPOT and
picks the best concurrency under the objectives; advisor.plan.cost prices the result.
Plans that miss an objective, do not fit, or cannot run go to ``excluded`` with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.display import sig3
from advisor.domain.serving import Interconnect, ServingTraits
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.errors import InputError, unknown_name
from advisor.plan.cost import cost_per_million_tokens, energy_per_million_tokens_kwh
from advisor.plan.data import platform_serving, serving_traits
from advisor.plan.memory import MemoryPlan, ServingShape, plan_memory, serving_shape
from advisor.plan.serving import LoadPoint, Pipeline, Slo, best_concurrency, steady_state
from advisor.plan.stack import BatchedStack, collapse
from advisor.plan.steps import StepModel
from advisor.plan.types import (
    DEFAULT_DEVICES, DEFAULT_KV_CACHES, DEFAULT_PRECISIONS, Plan, PlanExcluded, PlanReport, PlanRequest,
)
from advisor.precision import KV_CACHE_DTYPES, kv_cache_bytes, scheme as scheme_spec
from advisor.predict.api import calibration_for
from advisor.predict.platform_corrections import PlatformCorrectionTable
from advisor.workload import Workload

if TYPE_CHECKING:
    from advisor.db.store import Store


@dataclass
class ModelForServing:
    """The profiles of one model at the request's shape, in the form the planner uses."""

    steps: StepModel
    shape: ServingShape


def load_model_for_serving(store: Store | None, model: str, input_len: int, output_len: int, *,
                           allow_code: bool = True) -> ModelForServing:
    """Three counted profiles: decode at batch 1 and 2 (at the mean context of a running
    request, input + output/2) and the prefill of one prompt. ``allow_code`` False refuses
    files and import paths (the HTTP service)."""
    from advisor.db.profile_cache import profile_for

    context = input_len + math.ceil(output_len / 2)
    decode_one = profile_for(store, Workload(model=model, phase="decode", batch=1, context=context),
                             allow_code=allow_code)
    decode_two = profile_for(store, Workload(model=model, phase="decode", batch=2, context=context),
                             allow_code=allow_code)
    prefill = profile_for(store, Workload(model=model, phase="prefill", batch=1, seq_len=input_len),
                          allow_code=allow_code)
    batched = BatchedStack.of(decode_one, decode_two)
    if batched is None:
        raise InputError(f"model '{model}': its decode profiles at batch 1 and 2 differ in structure; cannot plan it")
    shape = serving_shape(model, decode_one, batched.one, prefill)
    steps = StepModel(decode=batched, prefill=collapse(prefill), prompt_tokens=input_len, kv_heads=shape.kv_heads)
    return ModelForServing(steps=steps, shape=shape)


def _layouts(devices: int, traits: ServingTraits, link: Interconnect | None, platform: PlatformSpec,
             framework: FrameworkSpec, shape: ServingShape) -> list[tuple[int, int]] | str:
    """(tensor_parallel, pipeline_parallel) splits of ``devices``, or why there are none.

    Tensor parallelism needs the attention heads to divide evenly (vLLM and TensorRT-LLM
    refuse otherwise); pipeline stages need at least one block each."""
    if devices == 1:
        return [(1, 1)]
    if link is None or link.kind == "none":
        return f"{platform.id} is not offered across devices (no device-to-device interconnect)"
    if devices > link.max_devices:
        return (f"{platform.id} links at most {link.max_devices} devices ({link.generation or link.kind}); "
                f"multi-node plans are not modelled")
    if traits.tensor_parallel:
        if shape.heads % devices:
            return f"tensor parallel {devices} does not divide the {shape.heads} attention heads"
        return [(devices, 1)]
    if traits.pipeline_parallel:
        if devices > shape.layers:
            return f"{devices} pipeline stages exceed the {shape.layers} blocks"
        return [(1, devices)]
    return f"{framework.id} does not split a model across devices"


Resolved = tuple[list[PlatformSpec], list[tuple[FrameworkSpec, ServingTraits]], list[str], list[str]]


def _resolve(store: Store, request: PlanRequest) -> Resolved:
    """Platforms, serving frameworks with their traits, schemes and KV dtypes; unknown names
    are InputErrors naming the nearest valid ones."""
    if request.targets == ["all"]:
        platforms = store.list_platforms()
    else:
        platforms = [store.get_platform(t) for t in dict.fromkeys(request.targets)]
    all_frameworks = store.list_frameworks()
    serving = [(fw, traits) for fw in all_frameworks if (traits := serving_traits(fw)) is not None]
    if request.frameworks:
        known = {fw.id: fw for fw in all_frameworks}
        chosen = []
        for name in dict.fromkeys(request.frameworks):
            if name not in known:
                raise unknown_name("framework", name, known)
            traits = serving_traits(known[name])
            if traits is None:
                raise InputError(f"framework '{name}' has no serving traits; plan serves with "
                                 f"{', '.join(fw.id for fw, _ in serving)}")
            chosen.append((known[name], traits))
        serving = chosen
    precisions = list(dict.fromkeys(request.precisions or DEFAULT_PRECISIONS))
    for name in precisions:
        scheme_spec(name)
    kv_caches = list(dict.fromkeys(request.kv_caches or DEFAULT_KV_CACHES))
    for name in kv_caches:
        if name not in KV_CACHE_DTYPES:
            raise unknown_name("KV-cache dtype", name, KV_CACHE_DTYPES)
    for pid in request.prices:
        if pid not in {p.id for p in store.list_platforms()}:
            raise unknown_name("platform in --price", pid, [p.id for p in store.list_platforms()])
    return platforms, serving, precisions, kv_caches


def plan(store: Store, request: PlanRequest, model: ModelForServing | None = None, *, allow_code: bool = True,
         platform_corrections: PlatformCorrectionTable | None = None) -> PlanReport:
    """Every candidate for ``request``, ranked; ``model`` may pass the profiles already loaded.
    ``platform_corrections``: the published per-platform figures the step times take (None: the
    shipped ones; benchmarks/planning.py passes none, since some are fitted on rows it scores)."""
    platforms, frameworks, precisions, kv_caches = _resolve(store, request)
    model = model or load_model_for_serving(store, request.model, request.input_len, request.output_len,
                                            allow_code=allow_code)
    slo = Slo(request.ttft_ms, request.tpot_ms, request.min_output_tokens_per_s)
    plans: list[Plan] = []
    excluded: list[PlanExcluded] = []
    sequence_tokens = request.input_len + request.output_len
    for platform in platforms:
        facts = platform_serving(platform)
        price = request.prices.get(platform.id, facts.price.usd_per_hour if facts.price else None)
        power = facts.power_w.value if facts.power_w else None
        counts = request.devices or [d for d in DEFAULT_DEVICES
                                     if d == 1 or (facts.interconnect is not None and d <= facts.interconnect.max_devices
                                                   and facts.interconnect.kind != "none")]
        for framework, traits in frameworks:
            if platform.device_class not in framework.device_classes:
                excluded.append(PlanExcluded(target=platform.id, framework=framework.id, reasons=[
                    f"{framework.id} does not run on {platform.device_class} devices like {platform.id}"]))
                continue
            calibration = calibration_for(store, platform.id, framework.id)
            for precision in precisions:
                why = framework.why_unsupported(platform, precision)
                if why is not None:
                    excluded.append(PlanExcluded(target=platform.id, framework=framework.id, precision=precision,
                                                 reasons=[why]))
                    continue
                for kv in kv_caches:
                    candidate = _Candidate(platform, framework, traits, precision, kv, calibration, facts.interconnect,
                                           price, power, platform_corrections)
                    found, missed = candidate.search(counts, model, request, slo, sequence_tokens)
                    plans.extend(found)
                    excluded.extend(missed)
    if slo.any:
        plans.sort(key=lambda p: (p.cost_per_million_tokens is None, p.cost_per_million_tokens or 0.0,
                                  -p.output_tokens_per_s_per_device))
        ranked_by = "cost_per_million_tokens"
    else:
        plans.sort(key=lambda p: -p.output_tokens_per_s_per_device)
        ranked_by = "output_tokens_per_s_per_device"
    slo_dict = {k: v for k, v in (("ttft_ms", slo.ttft_ms), ("tpot_ms", slo.tpot_ms),
                                   ("min_output_tokens_per_s", slo.min_output_tokens_per_s)) if v is not None}
    return PlanReport(model=request.model, input_len=request.input_len, output_len=request.output_len, slo=slo_dict,
                      ranked_by=ranked_by, plans=plans, excluded=excluded)


@dataclass
class _Candidate:
    platform: PlatformSpec
    framework: FrameworkSpec
    traits: ServingTraits
    precision: str
    kv_cache: str
    calibration: CalibrationSpec | None
    link: Interconnect | None
    price: float | None
    power_w: float | None
    platform_corrections: PlatformCorrectionTable | None = None

    def _excluded(self, reasons: list[str], devices: int | None = None, tp: int | None = None,
                  pp: int | None = None) -> PlanExcluded:
        return PlanExcluded(target=self.platform.id, devices=devices, tensor_parallel=tp, pipeline_parallel=pp,
                            framework=self.framework.id, precision=self.precision, kv_cache=self.kv_cache,
                            reasons=reasons)

    def search(self, counts: list[int], model: ModelForServing, request: PlanRequest, slo: Slo,
               sequence_tokens: int) -> tuple[list[Plan], list[PlanExcluded]]:
        plans: list[Plan] = []
        excluded: list[PlanExcluded] = []
        unfit: list[tuple[int, int, int, MemoryPlan]] = []
        kv_width = kv_cache_bytes(self.precision, self.kv_cache)
        attempted = 0
        for devices in sorted(set(counts)):
            layouts = _layouts(devices, self.traits, self.link, self.platform, self.framework, model.shape)
            if isinstance(layouts, str):
                excluded.append(self._excluded([layouts], devices))
                continue
            for tp, pp in layouts:
                attempted += 1
                memory = plan_memory(model.shape, self.platform.memory.capacity_gb.value, self.traits, self.precision,
                                     kv_width, tensor_parallel=tp, pipeline_parallel=pp,
                                     sequence_tokens=sequence_tokens)
                if not memory.fits:
                    unfit.append((devices, tp, pp, memory))
                    continue
                plan, misses = self._evaluate(model, request, slo, memory, devices, tp, pp)
                if plan is not None:
                    plans.append(plan)
                else:
                    excluded.append(self._excluded(misses, devices, tp, pp))
        if unfit:
            if len(unfit) == attempted:  # nothing fits at any device count tried: one entry for the largest
                unfit = [max(unfit, key=lambda u: u[0])]
            for devices, tp, pp, memory in unfit:
                lead = (f"does not fit even at {devices} device{'s' if devices > 1 else ''}" if len(unfit) == 1
                        and attempted > 0 and not plans and unfit[0][0] == max(counts) else
                        f"does not fit on {devices} device{'s' if devices > 1 else ''}")
                excluded.append(self._excluded([
                    f"{lead}: one request of {sequence_tokens} tokens needs {sig3(memory.needed_for_one_gb)} GB per "
                    f"device (weights {sig3(memory.weights_gb)} GB), {self.platform.id} has "
                    f"{sig3(memory.capacity_gb)} GB"
                ], devices, tp, pp))
        return plans, excluded

    def _evaluate(self, model: ModelForServing, request: PlanRequest, slo: Slo, memory: MemoryPlan,
                  devices: int, tp: int, pp: int) -> tuple[Plan | None, list[str]]:
        steps = model.steps
        common = dict(tp=tp, pp=pp, platform=self.platform, framework=self.framework, scheme=self.precision,
                      calibration=self.calibration, link=self.link, kv_cache=self.kv_cache,
                      platform_corrections=self.platform_corrections)
        prefill = steps.stage_time("prefill", 1, **common)
        micro = pp if self.traits.pipeline_microbatches == "stages" else 1
        pipeline = Pipeline(stages=pp, microbatches=micro)
        chunk = self.traits.max_batch_tokens if self.traits.chunked_prefill else None
        cache: dict[int, LoadPoint] = {}

        def evaluate(concurrency: int) -> LoadPoint:
            if concurrency not in cache:
                cache[concurrency] = steady_state(
                    concurrency, request.output_len, request.input_len,
                    lambda batch: steps.stage_time("decode", batch, **common), prefill, pipeline, chunk)
            return cache[concurrency]

        if request.concurrency is not None:
            if request.concurrency > memory.max_concurrency:
                return None, [f"concurrency {request.concurrency} does not fit: at most {memory.max_concurrency} "
                              f"requests' KV pages fit per device group"]
            point = evaluate(request.concurrency)
            misses = slo.latency_misses(point)
            if slo.min_output_tokens_per_s is not None and point.output_tokens_per_s < slo.min_output_tokens_per_s:
                misses.append(f"{sig3(point.output_tokens_per_s)} output tokens/s < {slo.min_output_tokens_per_s:g}")
            if misses:
                return None, [m + f" at concurrency {request.concurrency}" for m in misses]
        else:
            operating = best_concurrency(memory.max_concurrency, evaluate, slo)
            if operating.point is None:
                return None, operating.misses
            point = operating.point
        bound = steps.stage_time("decode", math.ceil(point.concurrency / min(micro, point.concurrency)), detail=True,
                                 **common).bound
        return Plan(
            target=self.platform.id, devices=devices, tensor_parallel=tp, pipeline_parallel=pp,
            framework=self.framework.id, precision=self.precision, kv_cache=self.kv_cache,
            max_concurrency=memory.max_concurrency, concurrency=point.concurrency,
            output_tokens_per_s=point.output_tokens_per_s,
            output_tokens_per_s_per_device=point.output_tokens_per_s / devices,
            ttft_ms=point.ttft_ms, tpot_ms=point.tpot_ms, memory_per_device_gb=memory.used_gb(point.concurrency),
            price_per_device_hour=self.price,
            cost_per_million_tokens=cost_per_million_tokens(devices, self.price, point.output_tokens_per_s),
            energy_per_million_tokens_kwh=energy_per_million_tokens_kwh(devices, self.power_w, point.output_tokens_per_s),
            meets_slo=True, bound=bound,
        ), []
