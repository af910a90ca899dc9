"""Serving requirements of a gate (ttft_ms, tpot_ms, min_output_tokens_per_s,
max_cost_per_million_tokens): each allowed candidate gets the figures of its best serving plan.

For every model the planner (advisor.plan) is asked twice on the gate's target: with the
latency objectives (the cheapest plan per framework x scheme that meets them), and at
concurrency 1 (the fastest a combination can go) for the combinations that meet nothing, so
a failing gate still says by how much. Candidates the planner cannot serve (not an LLM
server, does not fit) keep no serving figures and fail those requirements as unmeasured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.gate.config import GateConfig
from advisor.gate.types import CandidateFigures

if TYPE_CHECKING:
    from advisor.db.store import Store
    from advisor.plan.types import Plan

SERVING_REQUIREMENTS = ("ttft_ms", "tpot_ms", "min_output_tokens_per_s", "max_cost_per_million_tokens")


def wants_serving(config: GateConfig) -> bool:
    return any(getattr(config.requirements, name) is not None for name in SERVING_REQUIREMENTS)


def _best_plans(db: Store, config: GateConfig, model: str, *, allow_code: bool) -> dict[tuple[str, str], Plan]:
    """(framework, precision) -> the plan whose figures the gate judges."""
    from advisor.plan.engine import load_model_for_serving, plan
    from advisor.plan.types import PlanRequest

    from advisor.plan.data import serving_traits

    shape = config.serving
    req = config.requirements
    frameworks = None
    if config.frameworks:  # the gate may allow frameworks that are no LLM servers: they get no plan
        frameworks = [f for f in config.frameworks if serving_traits(db.get_framework(f)) is not None]
        if not frameworks:
            return {}
    base = PlanRequest(
        model=model, targets=[config.target], devices=shape.devices, input_len=shape.input_len,
        output_len=shape.output_len, frameworks=frameworks, precisions=config.precisions,
        kv_caches=shape.kv_caches,
    )
    loaded = load_model_for_serving(db, model, shape.input_len, shape.output_len, allow_code=allow_code)
    meeting = plan(db, base.model_copy(update={"ttft_ms": req.ttft_ms, "tpot_ms": req.tpot_ms}), loaded)
    chosen: dict[tuple[str, str], Plan] = {}
    for p in meeting.plans:  # ranked cheapest first
        chosen.setdefault((p.framework, p.precision), p)
    fastest = plan(db, base.model_copy(update={"concurrency": 1}), loaded)
    for p in sorted(fastest.plans, key=lambda p: p.tpot_ms):
        chosen.setdefault((p.framework, p.precision), p)
    return chosen


def with_serving(config: GateConfig, db: Store, figures: list[CandidateFigures], *, allow_code: bool,
                 source: str) -> list[CandidateFigures]:
    """``figures`` with ttft_ms, tpot_ms, output_tokens_per_s, cost_per_million_tokens and
    devices from each candidate's best plan (unchanged when the gate has no serving requirement)."""
    if not wants_serving(config):
        return figures
    plans: dict[tuple[str, str, str], Plan] = {}
    for i, model in enumerate(config.models):
        try:
            best = _best_plans(db, config, model, allow_code=allow_code)
        except InputError as exc:
            raise InputError(f"{source}: models[{i}]: serving requirements: {exc}") from None
        plans.update({(model, fw, prec): p for (fw, prec), p in best.items()})
    out = []
    for cand in figures:
        p = plans.get((cand.model, cand.framework, cand.precision))
        if p is None:
            out.append(cand)
            continue
        out.append(cand.model_copy(update={
            "ttft_ms": p.ttft_ms, "tpot_ms": p.tpot_ms, "output_tokens_per_s": p.output_tokens_per_s,
            "cost_per_million_tokens": p.cost_per_million_tokens, "devices": p.devices,
        }))
    return out
