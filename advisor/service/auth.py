"""Bearer-token check for the write endpoints.

Reads are open; writes need ``Authorization: Bearer <token>`` equal to the server's token
(ADVISOR_API_TOKEN). A server started without a token refuses every write: an open write
endpoint on a shared database is never the safe default.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="ADVISOR_API_TOKEN of the server; needed for writes.")


def require_writer(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """401 without a bearer token, 403 with a wrong one or when the server has none.
    The comparison is constant-time so the token cannot be guessed byte by byte."""
    expected: str | None = request.app.state.settings.token
    if not expected:
        raise HTTPException(403, "writes are disabled: the server was started without ADVISOR_API_TOKEN")
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, "wrong bearer token")
