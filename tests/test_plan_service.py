"""POST /v1/plan: the same plans as the CLI's JSON; zoo names only; bad bodies are 422."""

from __future__ import annotations

import pytest

BODY = {"model": "llama-1.1b", "targets": ["l4"], "input_len": 256, "output_len": 64,
        "frameworks": ["vllm"], "precisions": ["fp16"], "tpot_ms": 100}


@pytest.fixture()
def client(isolated_db):
    from fastapi.testclient import TestClient

    from advisor.service.app import create_app

    with TestClient(create_app(db_url=isolated_db)) as c:
        yield c


def test_plan_answers_like_the_cli(client):
    response = client.post("/v1/plan", json=BODY)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ranked_by"] == "cost_per_million_tokens"
    assert report["plans"] and all(p["tpot_ms"] <= 100 for p in report["plans"])
    assert {p["target"] for p in report["plans"]} == {"l4"}


def test_plan_refuses_files_and_bad_fields(client):
    assert client.post("/v1/plan", json={**BODY, "model": "/etc/hosts"}).status_code == 422
    assert client.post("/v1/plan", json={**BODY, "targets": []}).status_code == 422
    assert client.post("/v1/plan", json={**BODY, "gpus": 4}).status_code == 422
    assert client.post("/v1/plan", json={**BODY, "targets": ["no-such-gpu"]}).status_code == 422
