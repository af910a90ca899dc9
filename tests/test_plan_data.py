"""Serving facts in the database: every platform has an interconnect and board power, prices
carry sources, and the planner's framework traits are there for the serving frameworks."""

from __future__ import annotations

import pytest

from advisor.domain.serving import HOURS_PER_YEAR

#: platforms with no public list price found (the planner reports cost as unknown)
NO_PRICE = {"hailo-8"}


@pytest.fixture()
def store(isolated_db):
    from advisor.db.store import open_store

    return open_store(isolated_db, readonly=True)


def test_every_platform_has_interconnect_power_and_price(store):
    from advisor.plan.data import platform_serving

    for platform in store.list_platforms():
        facts = platform_serving(platform)
        assert facts.interconnect is not None, platform.id
        assert facts.interconnect.source, platform.id
        assert facts.power_w is not None and facts.power_w.value > 0, platform.id
        if platform.id in NO_PRICE:
            assert facts.price is None
            continue
        assert facts.price is not None, platform.id
        assert facts.price.source.strip(), platform.id
        if facts.price.basis == "purchase_amortised":
            assert facts.price.usd_per_hour == pytest.approx(
                facts.price.purchase_usd / (facts.price.lifetime_years * HOURS_PER_YEAR), rel=0.01)


def test_linked_platforms_are_the_multi_gpu_ones(store):
    from advisor.plan.data import platform_serving

    linked = {p.id for p in store.list_platforms() if platform_serving(p).interconnect.kind != "none"}
    assert {"h100-sxm", "h200", "a100-sxm", "mi300x", "l4", "l40s", "a10", "t4"} <= linked
    assert not linked & {"jetson-nano", "raspberry-pi-5", "coral-edge-tpu", "apple-m2"}
    h100 = platform_serving(store.get_platform("h100-sxm")).interconnect
    # NVLink 4: 450 GB/s per direction on the wire, 370 GB/s through NCCL; 8 GPUs on an HGX board
    assert (h100.kind, h100.bandwidth_gbs, h100.max_devices) == ("nvlink", 370, 8)


def test_serving_frameworks_have_traits(store):
    from advisor.plan.data import serving_traits

    traits = {fw.id: serving_traits(fw) for fw in store.list_frameworks()}
    assert traits["vllm"].kv_block_tokens == 16 and traits["vllm"].memory_fraction == 0.9
    assert traits["tensorrt-llm"].kv_block_tokens == 32 and traits["tensorrt-llm"].fraction_of == "free"
    assert traits["llama-cpp"].tensor_parallel is False
    assert traits["tensorrt"] is None  # not an LLM server
