"""POST /v1/sensitivity: weights and samples only from the operator's models directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from advisor.settings import ENV_MODELS_DIR

MODEL = "squeezenet1_0"  # a zoo model (no code over HTTP), 1.2 M parameters, no batch norm


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    import torchvision

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_file(torchvision.models.squeezenet1_0().state_dict(), folder / "squeeze.safetensors")
    np.save(folder / "calib.npy", np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32))
    return folder


TOKEN = "sensitivity-test-token"


@pytest.fixture()
def client(isolated_db):
    from fastapi.testclient import TestClient

    from advisor.service.app import create_app

    with TestClient(create_app(db_url=isolated_db, token=TOKEN)) as c:
        yield c


BODY = {"model": MODEL, "weights": "squeeze.safetensors", "calib": "calib.npy", "schemes": "w8a16"}


def test_without_a_models_dir_nothing_is_read(client, monkeypatch):
    monkeypatch.delenv(ENV_MODELS_DIR, raising=False)
    response = client.post("/v1/sensitivity", json=BODY)
    assert response.status_code == 422 and "--models-dir" in response.text


def test_report_from_the_models_dir_is_returned_and_stored_with_the_token(client, monkeypatch, models_dir,
                                                                         isolated_db):
    monkeypatch.setenv(ENV_MODELS_DIR, str(models_dir))
    assert client.post("/v1/sensitivity", json={**BODY, "save": True}).status_code == 401  # a write
    response = client.post("/v1/sensitivity", json={**BODY, "save": True},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert [s["scheme"] for s in report["schemes"]] == ["w8a16"]
    assert report["calib"] == "tensor" and report["samples"] == 2
    assert len(report["layers"]) == 26  # squeezenet1_0: 26 convolutions, one scheme
    assert report["suggestion"]["scheme"] == "w8a16"
    from advisor.db.store import open_store

    with open_store(isolated_db, readonly=True) as store:
        stored = json.loads(store.get_sensitivity_report(report["weights_sha256"], MODEL))
        assert stored["schemes"] == report["schemes"]
        # Without save (the default) the same request is a read: answered, nothing stored.
        assert client.post("/v1/sensitivity", json=BODY).status_code == 200
        assert store.count_sensitivity_reports() == 1


@pytest.mark.parametrize("change", [
    {"weights": "../squeeze.safetensors"},  # outside the models directory
    {"weights": "/etc/passwd"},
    {"weights": "model.pt"},  # a pickle: never loaded from a request
    {"model": "tests.sensitivity_digits:cli_mlp"},  # code
    {"schemes": "int3"},
    {"calib_random": 100000},
])
def test_bad_bodies_are_422(client, monkeypatch, models_dir, change):
    monkeypatch.setenv(ENV_MODELS_DIR, str(models_dir))
    response = client.post("/v1/sensitivity", json={**BODY, **change})
    assert response.status_code == 422, response.text
