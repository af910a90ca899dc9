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
    """Every phase: the schema's examples, the boundary-value coverage phase, and fuzzing."""
    config = schemathesis.Config.from_dict({"seed": 20261129})
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", config=config)


@pytest.fixture
def api_schema_no_coverage(live_server: Server):
    """The platform bodies are a large nested schema: the coverage phase alone sends about
    3,000 of them, so the platform writes get examples and fuzzing only."""
    config = schemathesis.Config.from_dict({"seed": 20261129, "phases": {"coverage": {"enabled": False}}})
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", config=config)


everything_else = schemathesis.pytest.from_fixture("api_schema").exclude(tag="platforms", method=["POST", "PUT"])
platform_writes = schemathesis.pytest.from_fixture("api_schema_no_coverage").include(tag="platforms", method=["POST", "PUT"])
COMMON = dict(derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))


def call(case, server: Server) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=CHECKS,
        timeout=120,
    )


@everything_else.parametrize()
@settings(max_examples=12, **COMMON)
def test_openapi_conformance(case, live_server: Server) -> None:
    call(case, live_server)


@platform_writes.parametrize()
@settings(max_examples=25, **COMMON)
def test_openapi_conformance_platform_writes(case, live_server: Server) -> None:
    call(case, live_server)
