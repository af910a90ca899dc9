"""The /v1 endpoints.

Model work (profiling, prediction, ranking, gates) runs in plain ``def`` endpoints, which
FastAPI runs in its threadpool, so the event loop keeps answering health checks and
cached requests while a cold profile is being counted. Every model call passes
``allow_code=False``: the service never imports user code or loads files, and never
unpickles anything from a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from advisor.domain.specs import MAX_ID_LENGTH, FrameworkSpec, PlatformSpec
from advisor.errors import InputError
from advisor.gate.types import GateResult
from advisor.predict.types import Prediction
from advisor.recommend.types import Recommendation
from advisor.service.auth import require_writer
from advisor.service.bodies import (
    EXAMPLE_PLATFORM,
    YAML_TYPES,
    Added,
    GateBody,
    Health,
    Invalid,
    PredictBody,
    Problem,
    ProfileBody,
    RecommendBody,
    parse_body,
    platforms_from,
)
from advisor.service.deps import StoreDep
from advisor.service.guards import JSON_TYPES
from advisor.service.limits import check_workload

router = APIRouter(prefix="/v1")


def _id_path() -> Any:
    """A fresh Path() per parameter: FastAPI binds a Path object to the first name it serves."""
    return Path(min_length=1, max_length=MAX_ID_LENGTH, description="Kebab-case id, e.g. jetson-nano.")


_Found = TypeVar("_Found")


def _or_404(lookup: Callable[[str], _Found], item_id: str) -> _Found:
    """``lookup(item_id)``; the store's InputError for an unknown id (naming the nearest
    ones) becomes a 404 with that message."""
    try:
        return lookup(item_id)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None


_NOT_FOUND = {404: {"model": Problem, "description": "No such id."}}
#: FastAPI answers 400 itself when a JSON body is not even text (e.g. not UTF-8).
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Body could not be read as JSON text."},
    413: {"model": Problem, "description": "Body over the size limit."},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No bearer token."},
    403: {"model": Problem, "description": "Wrong token, or the server has no ADVISOR_API_TOKEN."},
    413: {"model": Problem, "description": "Body over the size limit."},
    415: {"model": Problem, "description": "Body is neither JSON nor YAML."},
    422: {"model": Invalid, "description": "Body does not parse or does not validate; loc names the field."},
}


def _platform_body(single: bool) -> dict[str, Any]:
    """OpenAPI for a body read by hand (JSON or YAML by Content-Type)."""
    ref = {"$ref": "#/components/schemas/PlatformSpec"}
    schema = ref if single else {"anyOf": [ref, {"type": "array", "items": ref, "minItems": 1}]}
    content = {t: {"schema": schema} for t in ("application/json", "application/yaml")}
    if not single:  # PUT's example would need the path's id as well
        content["application/json"]["example"] = EXAMPLE_PLATFORM
    return {"requestBody": {"required": True, "content": content}}


# ---- health and reference data -------------------------------------------------------

@router.get("/health", response_model=Health, tags=["service"])
def health(store: StoreDep) -> Health:
    """Liveness and readiness: answers only when the database answers."""
    from advisor import __version__

    dialect = store.url.split(":", 1)[0].split("+", 1)[0]
    return Health(
        status="ok", version=__version__, database=dialect,
        platforms=len(store.platform_ids()), frameworks=len(store.framework_ids()),
    )


@router.get("/platforms", response_model=list[PlatformSpec], tags=["platforms"])
def list_platforms(store: StoreDep) -> list[PlatformSpec]:
    return store.list_platforms()


@router.get("/platforms/{platform_id}", response_model=PlatformSpec, responses=_NOT_FOUND, tags=["platforms"])
def get_platform(store: StoreDep, platform_id: str = _id_path()) -> PlatformSpec:
    return _or_404(store.get_platform, platform_id)


@router.get("/frameworks", response_model=list[FrameworkSpec], tags=["frameworks"])
def list_frameworks(store: StoreDep) -> list[FrameworkSpec]:
    return store.list_frameworks()


@router.get("/frameworks/{framework_id}", response_model=FrameworkSpec, responses=_NOT_FOUND, tags=["frameworks"])
def get_framework(store: StoreDep, framework_id: str = _id_path()) -> FrameworkSpec:
    return _or_404(store.get_framework, framework_id)


# ---- platform writes (token required) ------------------------------------------------

async def _read_specs(request: Request, *, single: bool) -> list[PlatformSpec]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in JSON_TYPES + YAML_TYPES:
        raise HTTPException(415, f"send the platform as application/json or application/yaml, not '{content_type or 'nothing'}'")
    return platforms_from(parse_body(await request.body(), content_type), single=single)


@router.post(
    "/platforms", status_code=201, response_model=Added, tags=["platforms"],
    dependencies=[Depends(require_writer)],
    responses={**_WRITE_ERRORS, 409: {"model": Problem, "description": "An id exists already."}},
    openapi_extra=_platform_body(single=False),
)
async def add_platforms(request: Request, store: StoreDep) -> Added:
    """Add one platform or a list, all or none, in one transaction. JSON or YAML (by
    Content-Type), validated like `advisor hardware add`; an existing id is a 409."""
    from starlette.concurrency import run_in_threadpool

    specs = await _read_specs(request, single=False)

    def add() -> None:
        existing = set(store.platform_ids())
        taken = [s.id for s in specs if s.id in existing]
        if taken:
            raise HTTPException(409, f"platform '{taken[0]}' exists already; PUT /v1/platforms/{taken[0]} replaces it")
        try:
            store.add_platforms(specs, replace=False)
        except InputError as exc:  # another writer added one of the ids since the check
            raise HTTPException(409, str(exc)) from None

    await run_in_threadpool(add)
    return Added(added=[s.id for s in specs])


@router.put(
    "/platforms/{platform_id}", response_model=PlatformSpec, tags=["platforms"],
    dependencies=[Depends(require_writer)],
    responses={**_WRITE_ERRORS, 201: {"model": PlatformSpec, "description": "Created."}},
    openapi_extra=_platform_body(single=True),
)
async def put_platform(
    request: Request, response: Response, store: StoreDep, platform_id: str = _id_path(),
) -> PlatformSpec:
    """Create or replace one platform; the body's id must equal the path's."""
    from fastapi.exceptions import RequestValidationError
    from starlette.concurrency import run_in_threadpool

    (spec,) = await _read_specs(request, single=True)
    if spec.id != platform_id:
        raise RequestValidationError([{
            "loc": ["body", "id"], "type": "value_error",
            "msg": f"id '{spec.id}' in the body differs from '{platform_id}' in the path",
        }])

    # whether the id was new is decided inside the write: of racing PUTs one gets 201
    if await run_in_threadpool(store.upsert_platform, spec):
        response.status_code = status.HTTP_201_CREATED
    return spec


@router.delete(
    "/platforms/{platform_id}", status_code=204, tags=["platforms"],
    dependencies=[Depends(require_writer)],
    responses={**_WRITE_ERRORS, **_NOT_FOUND},
)
def delete_platform(store: StoreDep, platform_id: str = _id_path()) -> Response:
    _or_404(store.remove_platform, platform_id)
    return Response(status_code=204)


# ---- model work (threadpool) ---------------------------------------------------------

@router.post("/profile", tags=["models"], responses=_BODY_ERRORS)
def profile(store: StoreDep, body: ProfileBody) -> dict[str, Any]:
    """Count a zoo model (cached in the database): the JSON of `advisor profile --format json`."""
    from advisor.db.profile_cache import profile_for  # from the cache without importing torch
    from advisor.profiling.aggregate import by_module
    from advisor.profiling.render import profile_dict

    # the limits apply to a cache miss only, inside profile_for: the cache is read once
    prof = profile_for(store, body.workload(), allow_code=False, before_counting=check_workload)
    return profile_dict(prof, by_module(prof, body.depth), body.precision)


@router.post("/predict", response_model=Prediction, tags=["models"], responses=_BODY_ERRORS)
def predict(store: StoreDep, body: PredictBody) -> Response:
    """One model x precision x framework on a target: the JSON of `advisor predict --format json`
    (``layers`` filled only with ``per_layer``, as with --per-layer)."""
    from advisor.predict.api import predict_case
    from advisor.predict.command import to_json
    from advisor.rules.notes import with_rule_notes

    # the limits apply to a cache miss only (see profile): the cache is read once
    pred = with_rule_notes(predict_case(
        store, body.workload(), target=body.target, precision=body.precision,
        framework=body.framework, allow_code=False, before_counting=check_workload,
    ))
    return Response(to_json(pred, body.per_layer), media_type="application/json")


@router.post("/recommend", response_model=Recommendation, tags=["models"], responses=_BODY_ERRORS)
def recommend(request: Request, store: StoreDep, body: RecommendBody) -> Response:
    """Rank every candidate under the constraints: the JSON of `advisor recommend --format json`
    (each candidate's ``rules`` only with ``explain``, as --explain).

    Answers are cached per request and per database state (see advisor.service.cache)."""
    from advisor.service.cache import recommend_key

    cache = request.app.state.recommend_cache
    key = recommend_key(store, body)  # the body: the request plus ``explain``
    payload = cache.get(key)
    if payload is None:
        from advisor.db.profile_cache import profiles_for
        from advisor.recommend.engine import recommend as rank
        from advisor.recommend.render import to_json

        asked = body.as_request()
        # every model's limits before any is counted (a refusal caches nothing); one read each
        profiles = profiles_for(store, [asked.workload(m) for m in asked.models], allow_code=False,
                                before_counting=check_workload)
        ranked = rank(store, asked, allow_code=False, profiles=profiles)
        payload = to_json(ranked, body.explain).encode()
        cache.put(key, payload)
    return Response(payload, media_type="application/json")


@router.post("/gate", response_model=GateResult, tags=["models"], responses=_BODY_ERRORS)
def gate(store: StoreDep, body: GateBody) -> GateResult:
    """Run a gate config (JSON); 200 with ``passed`` true or false, like `advisor gate --format json`."""
    from advisor.gate.evaluate import evaluate_gate

    return evaluate_gate(body, store, allow_code=False, source="body", before_counting=check_workload)
