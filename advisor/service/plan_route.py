"""POST /v1/plan: serving and capacity plans, the JSON of `advisor plan --format json`.

Kept in its own router so the planner's body and bounds live beside its endpoint. Like every
model endpoint it runs in the threadpool and never loads user code or files
(``allow_code=False``): zoo names only.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from advisor.plan.types import MAX_SEQUENCE_TOKENS, PlanReport, PlanRequest
from advisor.service.bodies import Id, Name, Problem
from advisor.service.deps import StoreDep

router = APIRouter(prefix="/v1")


class PlanBody(PlanRequest):
    """POST /v1/plan: a PlanRequest with the service's bounds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"model": "llama-70b", "targets": ["h100-sxm", "h200"], "input_len": 1024, "output_len": 256,
         "ttft_ms": 500, "tpot_ms": 50}]})

    model: Name
    targets: list[Id] = Field(min_length=1, max_length=32)
    devices: list[int] | None = Field(default=None, max_length=16)
    input_len: int = Field(ge=1, le=MAX_SEQUENCE_TOKENS)
    output_len: int = Field(ge=1, le=MAX_SEQUENCE_TOKENS)
    frameworks: list[Id] | None = Field(default=None, max_length=16)
    precisions: list[Id] | None = Field(default=None, max_length=16)
    kv_caches: list[Id] | None = Field(default=None, max_length=8)


@router.post("/plan", response_model=PlanReport, tags=["models"],
             responses={413: {"model": Problem, "description": "Body over the size limit."}})
def plan(store: StoreDep, body: PlanBody) -> PlanReport:
    """Rank serving plans (devices, parallelism, framework, scheme, KV dtype) by cost per
    million output tokens under the objectives; `excluded` says why the others are not there."""
    from advisor.plan.engine import plan as make_plan

    return make_plan(store, PlanRequest.model_validate(body.model_dump()), allow_code=False)
