"""Domain types: findings stay structured, their sentences are derived; vocabularies agree."""

from __future__ import annotations

import json
from typing import get_args

from advisor.domain.candidates import Candidate, Exclusion
from advisor.domain.findings import Finding, excluded, penalty_factor
from advisor.domain.vocab import (
    CPU_CLASSES, DEVICE_CLASSES, GPU_CLASSES, NPU_CLASS, DeviceClass, compute_capability_tuple, is_gpu,
)
from advisor.recommend.render import not_applicable

NO_INT8 = Finding(rule="precision_support", action="exclude", message="no int8 support in trt on nano")
TIGHT = Finding(rule="memory_fit", action="warning", message="tight fit", details={"need_gb": 3.5})
SLOW = Finding(rule="max_latency_ms", action="exclude", message="predicted latency 12 ms > --max-latency-ms 10",
               source="constraint", details={"value": 12.0, "limit": 10.0})


def test_exclusion_json_keeps_the_reasons_strings_of_the_cli_contract() -> None:
    e = Exclusion(model="m", precision="int8", framework="trt", findings=[TIGHT, NO_INT8])
    assert json.loads(e.model_dump_json()) == {
        "model": "m", "precision": "int8", "framework": "trt",
        "reasons": ["no int8 support in trt on nano [precision_support]"],  # warnings are not reasons
    }


def test_a_missed_budget_reads_without_a_rule_name() -> None:
    e = Exclusion(model="m", precision="fp16", framework="trt", findings=[TIGHT, SLOW])
    assert e.reasons == ["predicted latency 12 ms > --max-latency-ms 10"]
    assert e.findings[1].details == {"value": 12.0, "limit": 10.0}


def test_not_applicable_reads_the_rule_names_not_the_sentences() -> None:
    other = Finding(rule="framework_device_class", action="exclude", message="ends like [model_family]")
    assert not_applicable(Exclusion(model="m", precision="fp16", framework="trt", findings=[other]))
    assert not not_applicable(Exclusion(model="m", precision="int8", framework="trt", findings=[other, NO_INT8]))
    mimic = Finding(rule="max_latency_ms", action="exclude", message="x [model_family]", source="constraint")
    assert not not_applicable(Exclusion(model="m", precision="fp16", framework="trt", findings=[mimic]))


def test_candidate_json_hides_profile_counts_and_keeps_the_rules_keys() -> None:
    c = Candidate(rank=1, model="m", precision="fp16", framework="trt", latency_ms=2.0, throughput_per_s=500.0,
                  bound="compute", memory_mb=10.0, rules=[TIGHT], params=7_000_000, flops=16_000_000_000)
    data = c.model_dump(mode="json")
    assert "params" not in data and "flops" not in data
    assert data["rules"] == [{"rule": "memory_fit", "action": "warning", "reason": "tight fit", "penalty": 1.0}]
    assert (c.params, c.flops) == (7_000_000, 16_000_000_000)


def test_penalties_multiply_and_exclusions_are_found() -> None:
    p1 = Finding(rule="npu_fallback", action="penalty", message="a", penalty=1.5)
    p2 = Finding(rule="hardware_precision", action="penalty", message="b", penalty=2.0)
    assert penalty_factor([p1, TIGHT, p2]) == 3.0
    assert not excluded([p1, TIGHT]) and excluded([p1, NO_INT8])


def test_device_class_vocabulary_is_one_partition() -> None:
    assert get_args(DeviceClass) == DEVICE_CLASSES
    assert GPU_CLASSES | CPU_CLASSES | {NPU_CLASS} == set(DEVICE_CLASSES)
    assert not GPU_CLASSES & CPU_CLASSES
    assert is_gpu("datacenter_gpu") and not is_gpu("mobile_soc")


def test_compute_capability_compares_as_numbers() -> None:
    assert compute_capability_tuple("10.0") > compute_capability_tuple("9.0") > compute_capability_tuple("8.9")
