"""The service's FastAPI dependencies: the store every endpoint reads and writes.

The app opens one store at startup (advisor.service.app) and keeps it in ``app.state``;
endpoints take it as a typed parameter, ``store: StoreDep``, instead of reaching into the
request, so a test can override `get_store` and the type checker sees what they call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from advisor.db.store import WritableStore


def get_store(request: Request) -> WritableStore:
    """The store the app opened at startup."""
    store: WritableStore = request.app.state.store
    return store


StoreDep = Annotated[WritableStore, Depends(get_store)]
