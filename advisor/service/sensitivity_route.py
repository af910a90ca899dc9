"""POST /v1/sensitivity: `advisor sensitivity --format json` over HTTP.

The weights, calibration samples and tokenizer are read only from the directory the operator
named with ``advisor serve --models-dir`` (paths in the body are relative to it; without it the
endpoint answers 422), and only in formats that carry no code: safetensors weights, ``.npy``
samples, image folders, text. The model is any spec the service accepts elsewhere (zoo names,
model files of the models directory); code never. Measuring is a read; storing the report
(``save``) is a write and needs the bearer token like every other write. The analysis runs the model on the CPU: a
request takes seconds for small models and minutes for large ones (``calib_limit`` bounds it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from advisor.service.auth import bearer, require_writer
from advisor.service.bodies import Id, Name, Problem, Shape, _Body, _no_code
from advisor.service.deps import StoreDep

router = APIRouter(prefix="/v1")

#: A path inside the models directory: relative, no '..', no code or pickle suffix.
RelativePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+)*/?$"),
    AfterValidator(_no_code),
]
SchemeList = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[a-z0-9_\-]+(,[a-z0-9_\-]+)*$")]


class SensitivityBody(_Body):
    """What to measure; the CLI's options with the service's bounds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"model": "resnet18", "weights": "resnet18.safetensors", "calib": "calib-images",
         "schemes": "int8,fp8,w8a16"}]})

    model: Name | None = Field(default=None, description="Not needed with method data-free.")
    weights: RelativePath = Field(description="A .safetensors file or a shard directory in the models directory.")
    calib: RelativePath | None = Field(default=None, description="Image folder, text file or .npy in the models directory.")
    calib_random: int | None = Field(default=None, ge=1, le=256)
    calib_limit: int = Field(default=32, ge=1, le=256)
    tokenizer: RelativePath | None = None
    schemes: SchemeList = "int8,fp8,w8a16,w4a16"
    group_size: int = Field(default=128, ge=2, le=4096)
    method: Literal["local", "e2e", "data-free"] = "local"
    target_sqnr_db: float | None = Field(default=None, ge=-1000, le=1000)
    target_top1: float | None = Field(default=None, gt=0, le=1)
    suggest_scheme: Id | None = None
    target: Id | None = None
    framework: Id | None = None
    input_shape: Shape | None = None
    seq_len: int | None = Field(default=None, ge=1, le=8192)
    save: bool = Field(default=False, description="Store the report under the weights' hash (a write: needs the token).")


@router.post("/sensitivity", tags=["models"], response_model=dict[str, Any],
             responses={413: {"model": Problem, "description": "Body over the size limit."}})
def sensitivity(store: StoreDep, body: SensitivityBody, request: Request,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None) -> dict[str, Any]:
    """Accuracy cost of each scheme on the weights (output SQNR, top-1 agreement, perplexity
    change), the most sensitive layers, and the fewest layers to keep in fp16 to reach the
    target, priced on `target` when given. With `save` (a write, so the bearer token is needed)
    the report is stored under the weights' hash for recommend and the gate."""
    if body.save:
        require_writer(request, credentials)
    from advisor.models.sources import LoadPolicy
    from advisor.sensitivity.command import measure
    from advisor.sensitivity.render import to_json_data
    from advisor.sensitivity.run import SensitivityOptions
    from advisor.workload import Workload

    policy = LoadPolicy.of(False)
    options = SensitivityOptions(
        schemes=body.schemes, method=body.method, calib=policy.path(body.calib) if body.calib else None,
        calib_random=body.calib_random, calib_limit=body.calib_limit,
        tokenizer=policy.path(body.tokenizer) if body.tokenizer else None, group_size=body.group_size,
        target_sqnr_db=body.target_sqnr_db, target_top1=body.target_top1, suggest_scheme=body.suggest_scheme,
    )
    workload = Workload(model=body.model, input_shape=body.input_shape, seq_len=body.seq_len) if body.model else None
    report = measure(store, workload, policy.path(body.weights), options, target=body.target,
                     framework=body.framework, save=body.save, allow_code=False)
    return to_json_data(report)
