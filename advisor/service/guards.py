"""Pure ASGI guards around the app: what a body may contain, what an answer may contain,
and how long an answer may take.

Why (issue 14, each found by a hostile user without a token):
- `JsonBodies`: Python's json accepts NaN, Infinity, 5,000-digit integers, duplicate keys
  and any nesting; FastAPI parsed them, pydantic choked or the 422 reply tried to echo
  NaN and failed (500). Every JSON body now goes through advisor.safe_input's limits
  first (the same reader as files), and a refused body is a 422 naming the problem.
- `validation_error`: 422 answers list loc, msg and type only, never the input (which
  may be NaN, megabytes long, or an escape sequence).
- `FiniteAnswers`: an answer holding NaN or Infinity is not JSON; schema ranges keep
  stored figures from producing one, and this guard turns any that slips through into a
  clear 500 instead of invalid JSON.
- `TimeBudget`: a request still unanswered after ``seconds`` gets 503; the work limits
  (advisor.service.limits) bound the work itself, this bounds the wait.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from advisor.errors import InputError
from advisor.finite_json import first_non_finite_in_json
from advisor.safe_input import decode_text, load_json

#: content types read as JSON (also ``*/*+json``): the guard checks these bodies, and
#: advisor.service.bodies parses a platform upload of these types as JSON
JSON_TYPES = ("application/json",)


def _content_type(headers: list[tuple[bytes, bytes]]) -> str:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _is_json(content_type: str) -> bool:
    return content_type in JSON_TYPES or content_type.endswith("+json")


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:  # noqa: ANN401
    payload = json.dumps(body, allow_nan=False).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                    *(headers or [])],
    })
    await send({"type": "http.response.body", "body": payload})


def invalid_body(message: str) -> dict[str, Any]:
    """A 422 body in FastAPI's error shape with one message about the body."""
    return {"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]}


async def validation_error(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    """FastAPI's RequestValidationError as 422 without echoing any input back."""
    errors: list[dict[str, Any]] = list(getattr(exc, "errors", lambda: [])())
    detail = []
    for error in errors:
        msg = str(error.get("msg", "invalid value"))
        ctx = error.get("ctx") or {}
        if error.get("type") == "json_invalid" and isinstance(ctx.get("error"), str):
            msg = f"{msg}: {ctx['error']}"
        detail.append({"loc": [p if isinstance(p, (str, int)) else str(p) for p in error.get("loc", ())],
                       "msg": msg, "type": str(error.get("type", "value_error"))})
    return JSONResponse(status_code=422, content={"detail": detail})


class JsonBodies:
    """Read a JSON request body in full and check it with advisor.safe_input.load_json
    before the app parses it; replay it to the app unchanged when it passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(_content_type(scope.get("headers", []))):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if raw:
            try:
                load_json(decode_text(raw, "body"), "body")
            except InputError as exc:
                await send_json(send, 422, invalid_body(str(exc)))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class FiniteAnswers:
    """Hold each JSON answer until it is complete; send it when every number in it is
    finite, else a 500 that says so (never NaN/Infinity, which is not JSON)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def checking_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if _is_json(_content_type(message.get("headers", []))):
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            try:
                finite = first_non_finite_in_json(body) is None
            except ValueError:  # labelled JSON but not JSON: nothing to vouch for
                finite = False
            if not finite:
                await send_json(send, 500, {"detail": (
                    "the answer held a number that is not finite (NaN or Infinity); a stored platform, "
                    "framework or calibration figure is out of range: check the target with GET /v1/platforms/{id}")})
                return
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, checking_send)


class TimeBudget:
    """Answer 503 when the app has not started answering within ``seconds``.

    The endpoint keeps running in its worker thread (a thread cannot be stopped from
    outside) and whatever it sends later is dropped; a cold profile it finishes is still
    cached, so a retry is then quick. 0 turns the budget off."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False
        abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if task in done or started:
            await task
            return
        abandoned = True
        task.add_done_callback(_discard_result)
        await send_json(send, 503, {"detail": (
            f"the request was not answered within the service's time budget of {self.seconds:g} s; "
            "a model counted meanwhile is cached, so retrying later may be quick")},
            headers=[(b"retry-after", b"30")])


def _discard_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
