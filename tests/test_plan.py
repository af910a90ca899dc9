"""advisor.plan: memory, collectives, cost, steady-state serving, step times.

Expectations are computed by hand from published model configurations and datasheet
figures (the arithmetic is written next to each number), not read back from the code.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pytest

from advisor.domain.serving import DevicePrice, Interconnect, ServingTraits
from advisor.plan.cost import cost_per_million_tokens, energy_per_million_tokens_kwh
from advisor.plan.memory import ServingShape, plan_memory
from advisor.plan.serving import LoadPoint, Pipeline, Slo, best_concurrency, steady_state
from advisor.plan.steps import StepTime
from advisor.predict.kv_cache import blocks_per_sequence, kv_cache_bytes_per_token, kv_heads_per_device
from advisor.predict.parallel import ring_all_gather_s, ring_all_reduce_s

VLLM_LIKE = ServingTraits(
    kv_block_tokens=16, memory_fraction=0.9, fraction_of="total", runtime_overhead_gb=1.5, max_batch_tokens=8192,
    max_sequences=1024, chunked_prefill=True, tensor_parallel=True, pipeline_parallel=True, source="test",
)

# LLaMA-7B (Touvron et al. 2023, table 2): 32 layers, 32 heads of 128, no GQA; 6,738,415,616 params
LLAMA_7B = ServingShape(params=6_738_415_616, block_params=6_476_005_376, layers=32, heads=32, kv_heads=32, head_dim=128,
                        live_elems_per_token=33_024.0)


# --------------------------------------------------------------------------- KV cache and memory

def test_kv_bytes_per_token_llama_7b_and_70b():
    # 2 (K, V) x 32 layers x 32 heads x 128 x 2 bytes = 524,288 B = 0.5 MiB per token
    assert kv_cache_bytes_per_token(32, 32, 128, 2.0) == 524_288
    # Llama-2-70B: 2 x 80 x 8 KV heads x 128 x 2 = 327,680 B; over TP 4: 2 heads per rank -> 81,920 B
    assert kv_cache_bytes_per_token(80, 8, 128, 2.0) == 327_680
    assert kv_cache_bytes_per_token(80, 8, 128, 2.0, tensor_parallel=4) == 81_920
    # TP 16 > 8 KV heads: each rank keeps one whole (replicated) head -> 2 x 80 x 1 x 128 x 2
    assert kv_heads_per_device(8, 16) == 1
    assert kv_cache_bytes_per_token(80, 8, 128, 2.0, tensor_parallel=16) == 40_960
    # fp8 cache halves it; 2 pipeline stages hold 40 layers each
    assert kv_cache_bytes_per_token(80, 8, 128, 1.0, pipeline_parallel=2) == 81_920


def test_pages_are_whole_blocks():
    assert blocks_per_sequence(1280, 16) == 80
    assert blocks_per_sequence(1281, 16) == 81
    assert blocks_per_sequence(1, 32) == 1


def test_kv_capacity_llama_7b_fp16_on_h100_vllm():
    plan = plan_memory(LLAMA_7B, 80.0, VLLM_LIKE, "fp16", 2.0, tensor_parallel=1, pipeline_parallel=1,
                       sequence_tokens=1024 + 256)
    weights = 6_738_415_616 * 2  # 13.476831232 GB
    workspace = 33_024 * 8192 * 2  # 541.1 MB: largest live activation x 8192 batched tokens x 2 B
    budget = 80e9 * 0.9 - 1.5e9 - weights - workspace  # 56.48 GB for the KV pool
    page = 524_288 * 16  # 8,388,608 B per 16-token page
    pages = math.floor(budget / page)  # 6,733 pages
    assert plan.weights_gb == pytest.approx(13.476831232, rel=1e-9)
    assert plan.kv_budget_gb == pytest.approx(budget / 1e9, rel=1e-9)
    assert pages == 6733
    assert plan.pages_per_sequence == 80
    assert plan.max_concurrency == 6733 // 80 == 84


def test_tensor_parallel_shares_weights_and_kv():
    one = plan_memory(LLAMA_7B, 80.0, VLLM_LIKE, "fp16", 2.0, tensor_parallel=1, pipeline_parallel=1,
                      sequence_tokens=1280)
    two = plan_memory(LLAMA_7B, 80.0, VLLM_LIKE, "fp16", 2.0, tensor_parallel=2, pipeline_parallel=1,
                      sequence_tokens=1280)
    assert two.weights_gb == pytest.approx(one.weights_gb / 2)
    assert two.kv_bytes_per_token == one.kv_bytes_per_token / 2
    assert two.max_concurrency > 2 * one.max_concurrency  # half the weights leave more room, pages are half size


def test_free_fraction_framework_and_not_fitting():
    trt_like = VLLM_LIKE.model_copy(update={"fraction_of": "free", "kv_block_tokens": 32, "runtime_overhead_gb": 1.0})
    plan = plan_memory(LLAMA_7B, 24.0, trt_like, "fp16", 2.0, tensor_parallel=1, pipeline_parallel=1,
                       sequence_tokens=2048)
    free = 24e9 - 1e9 - 6_738_415_616 * 2 - 33_024 * 8192 * 2  # 8.982 GB after weights and workspace
    assert plan.kv_budget_gb == pytest.approx(free * 0.9 / 1e9)
    # 2048 tokens = 64 pages of 32 x 0.5 MiB
    assert plan.max_concurrency == math.floor(free * 0.9 / (524_288 * 32)) // 64
    tiny = plan_memory(LLAMA_7B, 16.0, trt_like, "fp16", 2.0, tensor_parallel=1, pipeline_parallel=1,
                       sequence_tokens=2048)
    assert not tiny.fits and tiny.max_concurrency == 0


# --------------------------------------------------------------------------- collectives

def test_ring_all_reduce_time():
    # 1 MB over 8 ranks at 370 GB/s and 3 us a hop: 2 x 7/8 x 1e6 / 370e9 = 4.730 us, + 14 x 3 us = 42 us
    assert ring_all_reduce_s(1e6, 8, 370.0, 3.0) == pytest.approx(46.730e-6, rel=1e-3)
    # two ranks: 2 x 1/2 x 64 MB / 26.2 GB/s = 2.4427 ms, + 2 x 5 us
    assert ring_all_reduce_s(64e6, 2, 26.2, 5.0) == pytest.approx(64e6 / 26.2e9 + 10e-6)
    assert ring_all_reduce_s(1e6, 1, 370.0, 3.0) == 0.0
    # all-gather is half the steps: 7/8 x 1 MB / 370 GB/s + 7 x 3 us
    assert ring_all_gather_s(1e6, 8, 370.0, 3.0) == pytest.approx(7 / 8 * 1e6 / 370e9 + 21e-6)


# --------------------------------------------------------------------------- cost

def test_cost_and_energy_arithmetic():
    # 8 H100 at $3.9492/h producing 1,000 tokens/s: 3.6e6 tokens/h -> 8 x 3.9492 / 3.6 = $8.776 per million
    assert cost_per_million_tokens(8, 3.9492, 1000.0) == pytest.approx(8.776, rel=1e-4)
    # 1e6 tokens at 1,000 tokens/s = 1,000 s = 0.2778 h; 8 x 700 W = 5.6 kW -> 1.5556 kWh
    assert energy_per_million_tokens_kwh(8, 700.0, 1000.0) == pytest.approx(1.5556, rel=1e-4)
    assert cost_per_million_tokens(1, 1.0, 0.0) is None
    assert energy_per_million_tokens_kwh(1, None, 10.0) is None


def test_amortised_price_is_checked():
    price = DevicePrice.amortised(249, 3, source="test")
    assert price.usd_per_hour == pytest.approx(249 / 26_280)
    with pytest.raises(ValueError, match="disagrees"):
        DevicePrice(usd_per_hour=1.0, basis="purchase_amortised", purchase_usd=249, lifetime_years=3, source="x")
    with pytest.raises(ValueError, match="cannot span"):
        Interconnect(kind="none", max_devices=2, source="x")
    with pytest.raises(ValueError, match="needs bandwidth_gbs"):
        Interconnect(kind="nvlink", source="x")


# --------------------------------------------------------------------------- steady state and SLOs

def _fixed(decode_ms: float) -> callable:
    return lambda batch: StepTime(kernel_s=decode_ms / 1e3, comm_s=0.0, bound="memory")


def test_steady_state_by_hand():
    # N = 10 running, O = 100 output tokens, t_d = 20 ms per decode step, t_p = 50 ms per prompt
    point = steady_state(10, 100, 1000, _fixed(20.0), StepTime(0.05, 0.0, "compute"))
    x = 10 * 100 / (100 * 0.020 + 10 * 0.050)  # 1000 / 2.5 = 400 tokens/s
    rho = x * 0.050 / 100  # 0.2 of the time prefilling
    assert point.output_tokens_per_s == pytest.approx(x)
    assert point.tpot_ms == pytest.approx(20.0 / (1 - rho))  # 25 ms
    # TTFT: 50 ms prompt + M/D/1 wait 0.2 / 1.6 x 50 = 6.25 ms + half a step 10 ms
    assert point.ttft_ms == pytest.approx(50 + 6.25 + 10)
    # chunked prefill with 8192 tokens a step: ceil(1000 / 8182) = 1 more decode step
    chunked = steady_state(10, 100, 1000, _fixed(20.0), StepTime(0.05, 0.0, "compute"), chunk_tokens=8192)
    assert chunked.ttft_ms == pytest.approx(point.ttft_ms + 20.0)


def test_pipeline_bubble():
    prefill = StepTime(0.0, 0.0, "compute")
    # 4 stages, one micro-batch: a step is 4 stage times (3 of 4 stages idle at any moment)
    serial = steady_state(8, 100, 10, _fixed(5.0), prefill, Pipeline(stages=4, microbatches=1))
    assert serial.tpot_ms == pytest.approx(20.0)
    # 4 micro-batches of 2 keep every stage busy: still 4 stage times a step, at a quarter of the batch
    full = steady_state(8, 100, 10, lambda b: StepTime(b * 1e-3, 0.0, "memory"), prefill, Pipeline(4, 4))
    assert full.tpot_ms == pytest.approx(4 * 2.0)


def _synthetic(n: int) -> LoadPoint:
    # TPOT 10 + n ms, TTFT 100 + 2n ms, 50 n tokens/s
    return LoadPoint(concurrency=n, output_tokens_per_s=50.0 * n, ttft_ms=100.0 + 2 * n, tpot_ms=10.0 + n,
                     decode_step_ms=10.0 + n, prefill_ms=100.0)


def test_three_significant_figures():
    from advisor.display import sig3

    assert [sig3(v) for v in (1348.2, 49.74, 0.045678, 2000.0, 7.0)] == ["1,350", "49.7", "0.0457", "2,000", "7.00"]


def test_best_concurrency_under_slos():
    assert best_concurrency(256, _synthetic, Slo()).point.concurrency == 256  # no objective: all that fits
    assert best_concurrency(256, _synthetic, Slo(tpot_ms=50)).point.concurrency == 40  # 10 + 40 = 50
    assert best_concurrency(256, _synthetic, Slo(ttft_ms=150, tpot_ms=50)).point.concurrency == 25  # 100 + 50
    missed = best_concurrency(256, _synthetic, Slo(tpot_ms=5))
    assert missed.point is None and missed.misses == ["TPOT 11.0 ms > 5 ms (+120%) at concurrency 1"]
    slow = best_concurrency(256, _synthetic, Slo(tpot_ms=50, min_output_tokens_per_s=3000))
    assert slow.point is None and slow.misses == ["2,000 output tokens/s < 3000 (-33%) at concurrency 40"]
    assert best_concurrency(0, _synthetic, Slo()).point is None


# --------------------------------------------------------------------------- profiles: collapse, batch, shard

@lru_cache(maxsize=None)
def _decode(model: str, batch: int, context: int):
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    return count_workload(Workload(model=model, phase="decode", batch=batch, context=context))


def test_collapse_finds_the_blocks():
    from advisor.plan.stack import collapse

    profile = _decode("llama-1.1b", 1, 64)
    stack = collapse(profile)
    assert stack.count == 22  # TinyLlama: 22 blocks
    total = sum(o.flops for o in stack.head + stack.tail) + 22 * sum(o.flops for o in stack.block)
    assert total == profile.flops


def test_batch_interpolation_is_exact():
    from advisor.plan.stack import BatchedStack, collapse

    batched = BatchedStack.of(_decode("llama-1.1b", 1, 64), _decode("llama-1.1b", 2, 64))
    direct = collapse(_decode("llama-1.1b", 5, 64))
    derived = batched.at(5)
    for mine, counted in zip(derived.ops, direct.ops, strict=True):
        for field in ("flops", "macs", "weight_elems", "input_elems", "output_elems", "parallel_work", "gemm_mnk"):
            assert getattr(mine, field) == getattr(counted, field), (counted.module_path, counted.op, field)
    assert batched.kv_cache_elems(5) == _decode("llama-1.1b", 5, 64).kv_cache_elems


def test_serving_shape_reads_the_published_config():
    from advisor.plan.memory import serving_shape
    from advisor.plan.stack import collapse
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    decode = _decode("llama-1.1b", 1, 64)
    prefill = count_workload(Workload(model="llama-1.1b", phase="prefill", batch=1, seq_len=32))
    shape = serving_shape("llama-1.1b", decode, collapse(decode), prefill)
    # TinyLlama-1.1B config.json: 22 layers, 32 query heads, 4 KV heads, head_dim 2048 / 32 = 64
    assert (shape.layers, shape.heads, shape.kv_heads, shape.head_dim) == (22, 32, 4, 64)


def test_shard_splits_work_and_sizes_the_all_reduce():
    from advisor.plan.shard import is_row_parallel, shard
    from advisor.plan.stack import collapse

    stack = collapse(_decode("llama-1.1b", 4, 64))
    two = shard(stack, 2)
    assert sum(is_row_parallel(op) for op in stack.block) == 2  # o_proj and down_proj
    # each all-reduce moves the residual stream: batch 4 x hidden 2048, twice a block
    assert two.all_reduce_elems_per_block == 2 * 4 * 2048
    linears = [(a, b) for a, b in zip(stack.block, two.stack.block) if a.weight_elems]
    assert all(b.weight_elems * 2 == a.weight_elems for a, b in linears if "norm" not in a.module_path)
    # the vocab-parallel head writes half the logits on each rank; they are gathered
    assert two.gather_elems == 4 * 32000


# --------------------------------------------------------------------------- step times from the predictor

def test_tp2_decode_faster_than_tp1_and_slower_than_half(isolated_db):
    from advisor.db.store import open_store
    from advisor.plan.data import platform_serving
    from advisor.plan.engine import load_model_for_serving

    store = open_store(isolated_db, readonly=True)
    model = load_model_for_serving(None, "llama-7b", 512, 128)
    platform, framework = store.get_platform("h100-sxm"), store.get_framework("vllm")
    link = platform_serving(platform).interconnect

    def decode(tp: int) -> float:
        return model.steps.stage_time("decode", 16, tp=tp, pp=1, platform=platform, framework=framework,
                                      scheme="fp16", calibration=None, link=link, kv_cache="fp16").total_s

    one, two = decode(1), decode(2)
    assert one / 2 < two < one


def test_fp8_kv_cache_saves_the_cache_bytes_of_a_decode_step(isolated_db):
    from advisor.db.store import open_store
    from advisor.plan.engine import load_model_for_serving

    store = open_store(isolated_db, readonly=True)
    model = load_model_for_serving(None, "llama-7b", 1024, 128)  # decode context 1024 + 64 = 1088
    platform, framework = store.get_platform("h100-sxm"), store.get_framework("vllm")

    def decode(kv: str) -> float:
        return model.steps.stage_time("decode", 32, tp=1, pp=1, platform=platform, framework=framework,
                                      scheme="fp16", calibration=None, link=None, kv_cache=kv).total_s

    # the attention kernels are memory-bound: one byte less per cached element, read once a step:
    # 32 layers x 2 (K, V) x 32 sequences x 1088 tokens x 32 heads x 128 = 9.13e9 elements
    elems = 32 * 2 * 32 * 1088 * 32 * 128
    bandwidth = platform.memory.bandwidth_gbs.value * 1e9 * framework.efficiency.bandwidth.value
    assert decode("fp16") - decode("fp8") == pytest.approx(elems / bandwidth, rel=0.1)


def test_step_times_take_the_published_corrections_they_are_given(isolated_db):
    """The shipped decode figure of the RTX 4090 (configs/platform_corrections.yaml) multiplies every
    prediction a decode step is made of, so the step scales by it exactly; a plan made without
    corrections (benchmarks/planning.py scores rows some figures were fitted on) does not take it."""
    from advisor.db.store import open_store
    from advisor.plan.engine import load_model_for_serving
    from advisor.predict.platform_corrections import NO_PLATFORM_CORRECTIONS, platform_correction_table

    shipped = platform_correction_table().find("rtx-4090", "decode")
    assert shipped is not None
    store = open_store(isolated_db, readonly=True)
    model = load_model_for_serving(None, "llama-7b", 512, 128)
    platform, framework = store.get_platform("rtx-4090"), store.get_framework("pytorch")

    def decode(corrections) -> float:
        return model.steps.stage_time("decode", 4, tp=1, pp=1, platform=platform, framework=framework,
                                      scheme="fp16", calibration=None, link=None, kv_cache="fp16",
                                      platform_corrections=corrections).total_s

    assert decode(None) == pytest.approx(shipped.multiplier * decode(NO_PLATFORM_CORRECTIONS), rel=1e-9)
