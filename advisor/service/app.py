"""The FastAPI application factory. No module-level state: every app built by
``create_app`` carries its own settings, store and caches in ``app.state``,
so tests can run several apps side by side and uvicorn workers each build their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DatabaseError

from advisor import __version__
from advisor.errors import InputError
from advisor.service.guards import FiniteAnswers, JsonBodies, TimeBudget, validation_error
from advisor.service.middleware import AccessLog, BodySizeLimit
from advisor.settings import Settings

#: Request bodies over this are refused with 413 (a platform file is a few kB).
DEFAULT_MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class ServiceSettings:
    """What one app runs with: the arguments of create_app, else advisor.settings."""

    db_url: str | None  # None: $ADVISOR_DB, else the per-user SQLite file
    token: str | None  # None or "": writes are refused
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    recommend_cache_size: int = 512
    request_budget_s: float = 60.0  # 0: no time budget


#: Modules the endpoints import on first use; none of them imports torch.
_ENDPOINT_MODULES = (
    "advisor.recommend.engine", "advisor.recommend.render", "advisor.predict.api", "advisor.predict.command",
    "advisor.gate.evaluate", "advisor.profiling.aggregate", "advisor.profiling.render", "advisor.service.cache",
)


def _preload_and_freeze() -> None:
    """Import what the endpoints need, then move every object alive now out of the
    garbage collector's reach (gc.freeze). Why: a full collection otherwise walks all the
    modules' objects and paused a worker for 150-330 ms under load, which was the whole
    p99 of the benchmark (docs/service.md); frozen objects are never scanned."""
    import gc
    import importlib

    for name in _ENDPOINT_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()


def create_app(
    db_url: str | None = None,
    token: str | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    recommend_cache_size: int | None = None,
) -> FastAPI:
    """Build the app. Arguments left out come from the environment (ADVISOR_DB,
    ADVISOR_API_TOKEN, ADVISOR_RECOMMEND_CACHE_SIZE), which is how ``uvicorn --factory``
    workers get them."""
    from advisor.service.cache import RecommendCache
    from advisor.service.plan_route import router as plan_router
    from advisor.service.sensitivity_route import router as sensitivity_router
    from advisor.service.routes import router

    env = Settings.from_env()
    settings = ServiceSettings(
        db_url=db_url if db_url is not None else env.db_url,
        token=token if token is not None else env.api_token,
        max_body_bytes=max_body_bytes,
        recommend_cache_size=recommend_cache_size if recommend_cache_size is not None else env.recommend_cache_size,
        request_budget_s=env.request_budget_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        from advisor.db.store import open_store

        # Opening migrates and seeds on first use: keep it off the event loop.
        app.state.store = await run_in_threadpool(open_store, settings.db_url)
        await run_in_threadpool(_preload_and_freeze)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="advisor",
        version=__version__,
        summary="Which model, precision and inference framework to deploy on a device.",
        description=(
            "Profile zoo models, predict latency/throughput/memory on a platform, rank candidates "
            "and run deployment gates. Reads are open; writes to `/v1/platforms` need "
            "`Authorization: Bearer <ADVISOR_API_TOKEN>`."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.recommend_cache = RecommendCache(settings.recommend_cache_size)
    app.include_router(router)
    app.include_router(plan_router)
    app.include_router(sensitivity_router)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:  # noqa: ARG001
        """Bad values in a body: 422 in FastAPI's own error shape, with the one-line message."""
        return JSONResponse(
            status_code=422,
            content={"detail": [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming the field, never echoing the input (it may be NaN, huge, or escapes)."""
        return await validation_error(request, exc)

    async def damaged_database(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
        """A database file damaged while the service runs: 503 with the one line of the CLI."""
        from advisor.db.integrity import corrupt_message, corruption_problem

        problem = corruption_problem(exc)
        if problem is None:
            raise exc
        return JSONResponse(status_code=503, content={"detail": corrupt_message(app.state.store.location, problem)})

    # SQLAlchemy's (Database) and the standard library's (the read-only SqliteStore)
    app.add_exception_handler(DatabaseError, damaged_database)
    app.add_exception_handler(sqlite3.DatabaseError, damaged_database)

    # Added innermost first; a request passes AccessLog, BodySizeLimit, TimeBudget,
    # JsonBodies, FiniteAnswers, then the app (advisor.service.guards says why each).
    app.add_middleware(FiniteAnswers)
    app.add_middleware(JsonBodies)
    app.add_middleware(TimeBudget, seconds=settings.request_budget_s)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    return app
