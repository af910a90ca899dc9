"""schemathesis against the live server's OpenAPI: no 5xx, and every answer matches the
schema (status code, content type, headers, body).

Bounded and deterministic: a few derandomized examples per operation, with the write
token, so the write endpoints are exercised past the auth check too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service_server import Server, start_server

TOKEN = "schemathesis-token"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    srv = start_server(tmp, db_url=f"sqlite:///{tmp / 'advisor.db'}", token=TOKEN, name="schemathesis")
    yield srv
    srv.stop()


@pytest.fixture
def api_schema(live_server: Server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_openapi_conformance(case, live_server: Server) -> None:
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=CHECKS,
        timeout=120,
    )
