"""The service and model files (issue 9, item 6): files only from the operator's --models-dir,
code never, and the OpenAPI schema lists the accepted forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from onnx import TensorProto, helper, numpy_helper, save

from tests.service_server import Server, start_server


def _conv_onnx(path: Path) -> Path:
    import numpy as np

    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), dtype=np.float32), "conv.weight")
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "conv.weight"], ["y"], name="/conv/Conv")], "g",
        [value("x", TensorProto.FLOAT, [1, 3, 8, 8])], [value("y", TensorProto.FLOAT, [1, 4, 6, 6])],
        initializer=[weight])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("service_models")
    models = tmp / "models"
    (models / "vision").mkdir(parents=True)
    _conv_onnx(models / "vision" / "conv.onnx")
    _conv_onnx(tmp / "outside.onnx")
    server = start_server(tmp, db_url=f"sqlite:///{tmp / 'advisor.db'}", token=None, models_dir=models)
    yield server, tmp
    server.stop()


def test_model_file_inside_the_models_dir(served: tuple[Server, Path]) -> None:
    server, _ = served
    r = httpx.post(f"{server.url}/v1/profile", json={"model": "vision/conv.onnx"}, timeout=120)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["source"] == "onnx" and data["macs"] == 4 * 6 * 6 * 27 and data["params"] == 108


def test_nothing_outside_the_models_dir(served: tuple[Server, Path]) -> None:
    server, tmp = served
    for model in ("../outside.onnx", str(tmp / "outside.onnx"), "vision/../../outside.onnx"):
        r = httpx.post(f"{server.url}/v1/profile", json={"model": model}, timeout=120)
        assert r.status_code == 422, (model, r.text)
    r = httpx.post(f"{server.url}/v1/profile", json={"model": "missing.onnx"}, timeout=120)
    assert r.status_code == 422 and "missing.onnx" in r.text


def test_code_is_never_loaded(served: tuple[Server, Path]) -> None:
    server, _ = served
    for model in ("os:system", "model.pt2", "weights.pkl"):
        r = httpx.post(f"{server.url}/v1/profile", json={"model": model}, timeout=120)
        assert r.status_code == 422, model


def test_openapi_lists_the_accepted_forms(served: tuple[Server, Path]) -> None:
    server, _ = served
    schema = httpx.get(f"{server.url}/openapi.json", timeout=60).json()
    text = str(schema["components"]["schemas"]["ProfileBody"]["properties"]["model"])
    for form in ("zoo name", "hf:org/name", "timm:NAME", "--models-dir", "model.onnx", "never accepted"):
        assert form in text, form
