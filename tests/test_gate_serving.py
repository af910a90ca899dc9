"""Serving requirements in a gate: figures from the candidate's best plan, hand-checked cost."""

from __future__ import annotations

import pytest

from advisor.gate.config import GateConfig

BASE = {"models": ["llama-1.1b"], "target": "l4", "phase": "decode", "frameworks": ["vllm", "pytorch"],
        "precisions": ["fp16"], "serving": {"input_len": 256, "output_len": 64, "devices": [1]}}


def gate(requirements: dict, isolated_db):
    from advisor.db.store import open_store
    from advisor.gate.evaluate import evaluate_gate

    config = GateConfig.model_validate({**BASE, "requirements": requirements})
    return evaluate_gate(config, open_store(isolated_db, readonly=True), allow_code=False)


def test_serving_requirements_pass_with_the_plan_figures(isolated_db):
    result = gate({"tpot_ms": 100, "max_cost_per_million_tokens": 5.0}, isolated_db)
    assert result.passed
    best = result.selected
    assert best.framework == "vllm" and best.tpot_ms <= 100 and best.devices == 1
    # cost = devices x price / (output tokens/s x 3600) x 1e6, L4 at $0.7992/h
    assert best.cost_per_million_tokens == pytest.approx(0.7992 / (best.output_tokens_per_s * 3600) * 1e6)
    # eager PyTorch is no LLM server: no plan, the requirement fails as unmeasured
    (eager,) = [c for c in result.candidates if c.framework == "pytorch"]
    assert eager.tpot_ms is None and not eager.passed


def test_a_missed_objective_says_by_how_much(isolated_db):
    result = gate({"tpot_ms": 0.5}, isolated_db)
    assert not result.passed
    (check,) = result.checks
    assert check.requirement == "tpot_ms" and check.value > 0.5 and "misses tpot_ms" in check.message


def test_serving_shape_is_validated():
    with pytest.raises(ValueError, match="input_len"):
        GateConfig.model_validate({**BASE, "serving": {"input_len": 0}, "requirements": {"tpot_ms": 50}})
