"""The service's ASGI guards on small apps of their own (advisor.service.guards).

The time budget and the finite-answer guard are checked here on endpoints built to
misbehave (a slow one, one that answers NaN), which the real service must never have.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from advisor.service.guards import FiniteAnswers, JsonBodies, TimeBudget


def slow(request):  # a sync endpoint: Starlette runs it in the threadpool, like the service's
    time.sleep(2.0)
    return JSONResponse({"done": True})


def quick(request):
    return JSONResponse({"done": True})


def nan_answer(request):
    return Response(json.dumps({"latency_ms": float("nan"), "name": "NaN board"}), media_type="application/json")


def nan_in_a_string(request):
    return Response(json.dumps({"name": "NaN board Infinity"}), media_type="application/json")


async def echo(request):
    return JSONResponse({"got": await request.json()})


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


ROUTES = [Route("/slow", slow), Route("/quick", quick), Route("/nan", nan_answer),
          Route("/nan-text", nan_in_a_string), Route("/echo", echo, methods=["POST"])]


def test_time_budget_answers_503_without_waiting_for_the_work() -> None:
    app = TimeBudget(Starlette(routes=ROUTES), seconds=0.3)
    start = time.monotonic()
    r = call(app, "GET", "/slow")
    assert time.monotonic() - start < 1.5
    assert r.status_code == 503 and "time budget of 0.3 s" in r.json()["detail"]
    assert r.headers["retry-after"] == "30"
    assert call(app, "GET", "/quick").json() == {"done": True}


def test_finite_answers_turns_nan_into_a_clear_500() -> None:
    app = FiniteAnswers(Starlette(routes=ROUTES))
    r = call(app, "GET", "/nan")
    assert r.status_code == 500 and "not finite" in r.json()["detail"]
    # the letters inside a string are not numbers
    assert call(app, "GET", "/nan-text").json() == {"name": "NaN board Infinity"}


def test_json_bodies_are_checked_then_replayed() -> None:
    app = JsonBodies(Starlette(routes=ROUTES))
    ok = call(app, "POST", "/echo", content=b'{"a": [1, 2.5]}', headers={"content-type": "application/json"})
    assert ok.json() == {"got": {"a": [1, 2.5]}}
    bad = call(app, "POST", "/echo", content=b'{"a": NaN}', headers={"content-type": "application/json"})
    assert bad.status_code == 422
    assert bad.json() == {"detail": [{"loc": ["body"], "msg": "body: invalid JSON: NaN is not a JSON number "
                                      "(only finite numbers are accepted)", "type": "value_error"}]}
