"""The model-source registry: which source claims a spec, what a caller's policy allows, and the
one-line answer for a spec no source recognises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from onnx import TensorProto, helper, save

from advisor.errors import InputError
from advisor.models.graph import GraphSpec
from advisor.models.sources import LoadPolicy, SourceRegistry, default_registry
from advisor.workload import Workload

SERVICE = LoadPolicy(allow_code=False)


def _tiny_onnx(path: Path) -> Path:
    value = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [value("x", TensorProto.FLOAT, [1, 4])], [value("y", TensorProto.FLOAT, [1, 4])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize(("spec", "source"), [
    ("resnet50", "zoo"), ("llama-7b", "zoo"), ("yolov5s", "zoo"), ("bert-base", "zoo"),
    ("model.onnx", "onnx"), ("dir/Model.ONNX", "onnx"), ("exported.pt2", "pt2"),
    ("mypkg.models:build", "callable"),
])
def test_each_spec_goes_to_its_source(spec: str, source: str) -> None:
    assert default_registry().resolve(spec).name == source


@pytest.mark.parametrize(("spec", "kind"), [("llama-7b", "llm"), ("bert-base", "encoder"), ("resnet50", "vision"),
                                            ("model.onnx", "other")])
def test_info_gives_the_kind(spec: str, kind: str) -> None:
    assert default_registry().info(spec).kind == kind


def test_unknown_spec_names_every_source_with_an_example() -> None:
    registry = default_registry()
    with pytest.raises(InputError) as caught:
        registry.resolve("resnet5O")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("unknown model 'resnet5O'; did you mean")
    for source in registry:
        assert f"{source.label} ({source.example})" in message


def test_empty_spec() -> None:
    with pytest.raises(InputError, match="model name is empty"):
        default_registry().resolve("  ")


def test_service_never_loads_code() -> None:
    registry = default_registry()
    for spec in ("mypkg.models:build", "exported.pt2"):
        with pytest.raises(InputError, match="code is never loaded from a request"):
            registry.resolve(spec, SERVICE)
    assert registry.resolve("resnet50", SERVICE).name == "zoo"


def test_service_reads_files_only_from_its_models_dir(tmp_path: Path) -> None:
    registry = default_registry()
    with pytest.raises(InputError, match="start the server with --models-dir"):
        registry.resolve("model.onnx", SERVICE)
    models = tmp_path / "models"
    models.mkdir()
    _tiny_onnx(models / "tiny.onnx")
    _tiny_onnx(tmp_path / "secret.onnx")
    policy = LoadPolicy(allow_code=False, models_dir=models)
    source, built = registry.build(Workload(model="tiny.onnx"), policy)
    assert source.name == "onnx" and isinstance(built, GraphSpec) and built.path == models / "tiny.onnx"
    for outside in ("../secret.onnx", str(tmp_path / "secret.onnx")):
        with pytest.raises(InputError, match="outside the models directory"):
            registry.build(Workload(model=outside), policy)


def test_phase_options_need_a_language_model(tmp_path: Path) -> None:
    path = _tiny_onnx(tmp_path / "tiny.onnx")
    with pytest.raises(InputError, match="--phase/--seq-len/--context apply to language models"):
        default_registry().build(Workload(model=str(path), phase="decode"))


def test_duplicate_source_names_are_refused() -> None:
    registry = default_registry()
    first = next(iter(registry))
    with pytest.raises(ValueError, match=f"registered twice: {first.name}"):
        SourceRegistry((first, first))


def test_claiming_an_onnx_spec_imports_no_torch(tmp_path: Path) -> None:
    path = _tiny_onnx(tmp_path / "tiny.onnx")
    code = (
        "import sys\n"
        "from advisor.models.sources import default_registry\n"
        "from advisor.workload import Workload\n"
        "from advisor.profiling.dispatch import count_built\n"
        f"source, built = default_registry().build(Workload(model={str(path)!r}))\n"
        "profile = count_built(built, source=source.name)\n"
        "assert profile.source == 'onnx' and profile.flops == 4\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
