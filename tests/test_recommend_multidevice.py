"""recommend offers a model that does not fit one device on the fewest tensor-parallel devices
that hold it (advisor.recommend.multidevice, advisor.predict.parallel).

Expectations are worked by hand from the published LLaMA-2-70B configuration (80 layers,
hidden 8192, 64 query heads, 8 K/V heads of 128; 68,976,648,192 parameters as counted, vocab
32,000 in the zoo's config), the platforms' datasheet memory (H100 SXM 80 GB, RTX 4090 24 GB),
the memory rule's usable share (configs/rules.yaml: 0.9 for GPUs) and the seeded interconnects
(H100 SXM: NVLink 4, 370 GB/s effective, 3 us a hop, 8 devices; RTX 4090: PCIe 4.0 x16,
26.2 GB/s, 5 us, 4 devices).
"""

from __future__ import annotations

import json
import re

import pytest

from advisor.domain.serving import Interconnect
from advisor.predict.parallel import AttentionHeads, tensor_parallel_degrees
from advisor.recommend.engine import recommend
from advisor.recommend.types import RecommendRequest

from factories_predict import cache_zoo_profile, run_cli

PARAMS_70B = 68_976_648_192
#: K/V elements of one sequence at 2048 tokens: 80 layers x 2 (K, V) x 8 heads x 128 x 2048
KV_70B_2048 = 80 * 2 * 8 * 128 * 2048
USABLE = 0.9


def _request(target: str, **fields) -> RecommendRequest:
    return RecommendRequest(models=["llama-70b"], target=target, phase="decode", context=2048, **fields)


def _one(rec, framework: str, precision: str):
    found = [c for c in rec.candidates if c.framework == framework and c.precision == precision]
    return found[0] if found else None


def _reasons(rec, framework: str, precision: str) -> str:
    return " ".join(r for e in rec.excluded if e.framework == framework and e.precision == precision for r in e.reasons)


def test_llama_70b_fp16_on_h100_is_offered_on_two_gpus(db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    rec = recommend(db, _request("h100-sxm", frameworks=["vllm", "tensorrt-llm", "pytorch"], precisions=["fp16"]))
    # one GPU: 68.98e9 x 2 B = 138.0 GB of weights > 80 GB x 0.9 = 72 GB usable
    assert PARAMS_70B * 2 / 1e9 > 80 * USABLE
    # two: 69.0 GB of weights + half the cache (4 of 8 K/V heads: 335.5e6 / 2 x 2 B = 0.336 GB) < 72 GB
    per_device_floor_mb = (PARAMS_70B / 2 * 2 + KV_70B_2048 / 2 * 2) / 1e6
    assert per_device_floor_mb < 80 * USABLE * 1e3
    for framework in ("vllm", "tensorrt-llm"):  # both split models (serving.tensor_parallel)
        c = _one(rec, framework, "fp16")
        assert c is not None, rec.excluded
        assert (c.devices, c.tensor_parallel) == (2, 2)
        assert per_device_floor_mb <= c.memory_mb < 80 * USABLE * 1e3
        assert c.throughput_per_s == pytest.approx(1e3 / c.latency_ms)  # batch 1: one token per step
        assert any("needs 2 devices" in w and "2 x h100-sxm" in w for w in c.warnings)
    # eager PyTorch has no tensor-parallel serving trait: still only "does not fit"
    assert _one(rec, "pytorch", "fp16") is None
    assert "does not fit" in _reasons(rec, "pytorch", "fp16") and "split" not in _reasons(rec, "pytorch", "fp16")


def test_tp2_latency_adds_the_all_reduce_that_plan_prices(db) -> None:
    """The candidate's latency is one rank's prediction plus the ring all-reduces, the same
    figure `advisor plan` adds to a decode step (one implementation: advisor.predict.parallel)."""
    from advisor.plan.data import platform_serving
    from advisor.plan.engine import load_model_for_serving
    from advisor.predict.engine import predict
    from advisor.predict.parallel import attention_heads, shard_profile
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    rec = recommend(db, _request("h100-sxm", frameworks=["tensorrt-llm"], precisions=["fp16"]))
    c = _one(rec, "tensorrt-llm", "fp16")
    platform, framework = db.get_platform("h100-sxm"), db.get_framework("tensorrt-llm")
    link = platform_serving(platform).interconnect
    # by hand, per decode step at batch 1 over 2 ranks:
    # 80 blocks x ring all-reduce of o_proj + down_proj outputs (2 x 8192 elements x 2 B = 32,768 B):
    #   2(2-1)/2 x 32,768 B / 370e9 B/s + 2(2-1) x 3 us = 0.0886 us + 6 us
    # + gather of the logits: (2-1)/2 x 32,000 x 2 B / 370e9 + 1 x 3 us
    by_hand_s = 80 * (32_768 / 370e9 + 6e-6) + (0.5 * 64_000 / 370e9 + 3e-6)
    assert by_hand_s == pytest.approx(0.4902e-3, rel=1e-3)

    profile = count_workload(Workload(model="llama-70b", phase="decode", context=2048))
    rank = shard_profile(profile, attention_heads(profile), 2).profile
    rank_ms = predict(rank, platform, framework, "fp16", None, with_layers=False).latency_ms
    assert c.latency_ms - rank_ms == pytest.approx(by_hand_s * 1e3, rel=1e-6)

    # plan's decode step on the same model and link: the same collective time
    model = load_model_for_serving(None, "llama-70b", 16, 2)
    step = model.steps.stage_time("decode", 1, tp=2, pp=1, platform=platform, framework=framework, scheme="fp16",
                                  calibration=None, link=link, kv_cache="fp16")
    assert step.comm_s == pytest.approx(by_hand_s, rel=1e-9)

    # splitting pays: faster than one (hypothetical, 138 GB) GPU, but not twice as fast
    one_ms = predict(profile, platform, framework, "fp16", None, with_layers=False).latency_ms
    assert one_ms / 2 < c.latency_ms < one_ms


def test_rtx_4090_splits_over_pcie_as_far_as_four_cards(db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    rec = recommend(db, _request("rtx-4090", frameworks=["vllm"], precisions=["fp16", "int8", "w4a16"]))
    usable_gb = 24 * USABLE  # 21.6 GB
    # int8: 68.98 GB / 2 = 34.5 GB > 21.6; / 4 = 17.2 GB (+ a quarter of the cache) < 21.6 -> TP4
    assert PARAMS_70B / 2 / 1e9 > usable_gb > PARAMS_70B / 4 / 1e9
    int8 = _one(rec, "vllm", "int8")
    assert int8 is not None and (int8.devices, int8.tensor_parallel) == (4, 4)
    # w4a16: 36.6 GB on one card (4.25 bits a weight with group scales) / 2 = 18.3 GB < 21.6 -> TP2
    w4 = _one(rec, "vllm", "w4a16")
    assert w4 is not None and w4.devices == 2 and w4.memory_mb / 1e3 < usable_gb
    # fp16: 138.0 GB / 4 = 34.5 GB > 21.6 even on the 4 cards PCIe links: excluded, saying so
    assert _one(rec, "vllm", "fp16") is None
    reason = _reasons(rec, "vllm", "fp16")
    assert "split over 4 x rtx-4090" in reason
    still = float(re.search(r"still needs ([\d.]+) GB per device", reason).group(1))
    assert PARAMS_70B * 2 / 4 / 1e9 <= still < PARAMS_70B * 2 / 4 / 1e9 + 1


def test_devices_caps_the_split(db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    one = recommend(db, _request("h100-sxm", frameworks=["vllm"], precisions=["fp16"], devices=1))
    assert one.candidates == [] and "split" not in _reasons(one, "vllm", "fp16")
    two = recommend(db, _request("rtx-4090", frameworks=["vllm"], precisions=["int8"], devices=2))
    assert two.candidates == [] and "split over 2 x rtx-4090" in _reasons(two, "vllm", "int8")


def test_a_model_that_fits_stays_on_one_device(db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    rec = recommend(db, _request("h100-sxm", frameworks=["vllm"], precisions=["w4a16"]))
    (c,) = rec.candidates
    assert (c.devices, c.tensor_parallel) == (1, 1)


def test_degrees_follow_the_interconnect_heads_and_cap() -> None:
    nvlink = Interconnect(kind="nvlink", bandwidth_gbs=370, latency_us=3, max_devices=8, source="test")
    pcie = Interconnect(kind="pcie", bandwidth_gbs=26.2, latency_us=5, max_devices=4, source="test")
    none = Interconnect(kind="none", source="test")
    llama = AttentionHeads(heads=64, kv_heads=8)
    assert tensor_parallel_degrees(nvlink, llama, None) == [2, 4, 8]
    assert tensor_parallel_degrees(pcie, llama, None) == [2, 4]
    assert tensor_parallel_degrees(nvlink, llama, 4) == [2, 4]
    assert tensor_parallel_degrees(none, llama, None) == []
    assert tensor_parallel_degrees(None, llama, None) == []
    assert tensor_parallel_degrees(nvlink, AttentionHeads(heads=12, kv_heads=12), None) == [2, 4]


def test_attention_heads_read_from_grouped_query_profiles() -> None:
    from advisor.predict.parallel import attention_heads
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    # LLaMA-2-70B: 64 query heads, 8 K/V heads; TinyLlama-1.1B: 32 and 4
    for model, expected in (("llama-70b", (64, 8)), ("llama-1.1b", (32, 4))):
        decode = count_workload(Workload(model=model, phase="decode", context=64))
        prefill = count_workload(Workload(model=model, phase="prefill", seq_len=16))
        heads = attention_heads(decode)
        assert (heads.heads, heads.kv_heads) == expected
        assert attention_heads(prefill).heads == expected[0]


def test_cli_shows_the_split(db, isolated_db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 2048)
    base = ["recommend", "--model", "llama-70b", "--target", "h100-sxm", "--phase", "decode", "--context", "2048",
            "--frameworks", "tensorrt-llm", "--precisions", "fp16"]
    out = run_cli(*base, "--format", "json")
    assert out.returncode == 0, out.stderr
    (c,) = json.loads(out.stdout)["candidates"]
    assert (c["devices"], c["tensor_parallel"]) == (2, 2) and c["throughput_per_s"] > 0
    table = run_cli(*base)
    assert "fp16 TP2" in table.stdout and "2 x h100-sxm (tensor parallel)" in table.stdout
    capped = run_cli(*base, "--devices", "1")
    assert capped.returncode == 1 and "does not fit" in capped.stdout
