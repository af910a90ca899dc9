"""Loaders (package.module:callable, torch.export .pt2), shape parsing and every bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from advisor.errors import InputError
from advisor.models import load_model
from advisor.models.shapes import parse_shape, resolve_shape
from advisor.workload import Workload

USER_MODULE = textwrap.dedent(
    """
    import torch
    from torch import nn

    def plain():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10))

    def with_inputs():
        return nn.Linear(16, 4), torch.randn(2, 16)

    def with_tuple_inputs():
        class Add(nn.Module):
            def forward(self, a, b):
                return a + b
        return Add(), (torch.zeros(3, 5), torch.zeros(3, 5))

    def big():
        # 10 G parameters: only builds because the loader calls it on the meta device.
        return nn.Linear(100_000, 100_000), torch.zeros(1, 100_000)

    def raises():
        raise ValueError("weights file missing\\nsecond line")

    def not_a_model():
        return 42

    class Factory:
        @staticmethod
        def make():
            return nn.Linear(3, 3), torch.zeros(1, 3)
    """
)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "user_models.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("user_models", None)
    return "user_models"


class Exportable(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(8, 4)
        self.register_buffer("offset", torch.ones(4))
        self.scale = torch.tensor([2.0])  # becomes a lifted constant in the exported program

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.linear(x).relu() + self.offset) * self.scale


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "small.pt2"
    torch.export.save(torch.export.export(Exportable(), (torch.randn(2, 8),)), str(path))
    return path


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("text", "dims"),
    [("1x3x640x640", [1, 3, 640, 640]), ("3X224X224", [3, 224, 224]), (" 1x128 ", [1, 128]), ([2, 3], [2, 3])],
)
def test_parse_shape(text, dims) -> None:
    assert parse_shape(text) == dims


@pytest.mark.parametrize("text", ["", "1x", "x3", "1x3x-2", "1x3x0x4", "1,3,4", "axb", "1x3.5", "1x2x3x4x5x6x7x8x9", [1, "3"], [True]])
def test_malformed_shapes_are_input_errors(text) -> None:
    with pytest.raises(InputError, match="malformed input shape"):
        parse_shape(text)


def test_resolve_shape_batch_rules() -> None:
    default = [1, 3, 224, 224]
    assert resolve_shape("m", default, None, None) == default
    assert resolve_shape("m", default, None, 8) == [8, 3, 224, 224]
    assert resolve_shape("m", default, "3x160x160", None) == [1, 3, 160, 160]
    assert resolve_shape("m", default, "3x160x160", 4) == [4, 3, 160, 160]
    assert resolve_shape("m", default, "4x3x160x160", 4) == [4, 3, 160, 160]
    with pytest.raises(InputError, match="batch 2 but --batch is 4"):
        resolve_shape("m", default, "2x3x160x160", 4)
    with pytest.raises(InputError, match="expected 4 dimensions"):
        resolve_shape("m", default, "160x160", None)
    with pytest.raises(InputError, match="invalid batch"):
        resolve_shape("m", default, None, 0)


# ----------------------------------------------------------------------------- callables


def test_callable_returning_a_module_uses_the_given_shape(user_module: str) -> None:
    spec = load_model(Workload(model=f"{user_module}:plain", input_shape="2x3x32x32"))
    assert spec.input_shape == [2, 3, 32, 32] and spec.device == "meta"
    assert all(p.device.type == "meta" for p in spec.module.parameters())
    assert not spec.module.training


def test_callable_returning_module_and_inputs(user_module: str) -> None:
    spec = load_model(Workload(model=f"{user_module}:with_inputs"))
    assert spec.input_shape == [2, 16] and spec.args[0].device.type == "meta"
    assert load_model(Workload(model=f"{user_module}:with_inputs", batch=7)).input_shape == [7, 16]
    two = load_model(Workload(model=f"{user_module}:with_tuple_inputs", batch=4))
    assert [list(a.shape) for a in two.args] == [[4, 5], [4, 5]]
    assert load_model(Workload(model=f"{user_module}:Factory.make")).input_shape == [1, 3]


def test_callable_is_built_on_meta_without_real_weights(user_module: str) -> None:
    spec = load_model(Workload(model=f"{user_module}:big"))
    assert sum(p.numel() for p in spec.module.parameters()) == 100_000 * 100_000 + 100_000
    assert spec.module.weight.device.type == "meta"


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("no_such_package.models:build", {}, "cannot import 'no_such_package.models:build': ModuleNotFoundError"),
        ("{m}:missing", {}, "has no attribute 'missing'"),
        ("{m}:raises", {}, "raised ValueError: weights file missing$"),
        ("{m}:not_a_model", {}, "returned int, not a torch.nn.Module"),
        ("{m}:plain", {}, "without example inputs: pass --input-shape"),
        ("{m}:plain", {"input_shape": "1x4x32x32"}, "cannot run on inputs 1x4x32x32"),
        ("{m}:with_inputs", {"input_shape": "2x16", "batch": 3}, "batch 2 but --batch is 3"),
    ],
)
def test_bad_callables_are_one_line_input_errors(user_module: str, target: str, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_model(Workload(model=target.format(m=user_module), **kwargs))
    assert "\n" not in str(info.value)


def test_code_is_refused_when_not_allowed(user_module: str) -> None:
    with pytest.raises(InputError, match="not allowed"):
        load_model(Workload(model=f"{user_module}:with_inputs"), allow_code=False)
    assert "user_models" not in sys.modules  # refused before importing anything


def test_llm_options_do_not_apply_to_callables(user_module: str) -> None:
    with pytest.raises(InputError, match="--phase"):
        load_model(Workload(model=f"{user_module}:with_inputs", phase="decode"))


# ----------------------------------------------------------------------------- .pt2


def test_exported_program_loads_on_meta_with_its_example_shapes(exported: Path) -> None:
    spec = load_model(Workload(model=str(exported)))
    assert spec.input_shape == [2, 8] and spec.name == "small.pt2"
    assert all(t.device.type == "meta" for t in (*spec.module.parameters(), *spec.module.buffers()))
    with torch.no_grad():
        assert list(spec.module(*spec.args).shape) == [2, 4]
    assert sum(p.numel() for p in spec.module.parameters()) == 8 * 4 + 4


def test_files_are_refused_when_code_is_not_allowed(exported: Path) -> None:
    with pytest.raises(InputError, match="torch.export file .* not allowed here: code is never loaded"):
        load_model(Workload(model=str(exported)), allow_code=False)


def test_exported_program_with_other_shape_is_an_input_error(exported: Path) -> None:
    # The program was exported with static shapes: its guards reject other inputs.
    with pytest.raises(InputError, match="cannot run on inputs 3x8"):
        load_model(Workload(model=str(exported), batch=3))


def test_files_that_are_not_exported_programs(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    state_dict = tmp_path / "weights.pt2"
    torch.save({"w": torch.zeros(3)}, state_dict)  # a zip, but not a torch.export archive
    other_zip = tmp_path / "data.pt2"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("data/archive_format", "not-pt2")
    for path in (text, state_dict, other_zip):
        with pytest.raises(InputError, match="not a torch.export .pt2 archive"):
            load_model(Workload(model=str(path)))
    with pytest.raises(InputError, match="model file not found"):
        load_model(Workload(model=str(tmp_path / "missing.pt2")))


# ----------------------------------------------------------------------------- names


def test_unknown_zoo_name_suggests_nearest() -> None:
    with pytest.raises(InputError, match="unknown model 'yolov5q'; did you mean .*yolov5"):
        load_model(Workload(model="yolov5q"))
    with pytest.raises(InputError, match="did you mean .*resnet50"):
        load_model(Workload(model="resnet05"))
    with pytest.raises(InputError, match="empty"):
        load_model(Workload(model=""))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["profile", "yolov5q"], "unknown model 'yolov5q'"),
        (["profile", "yolov5s", "--input-shape", "1x3xx640"], "malformed input shape '1x3xx640'"),
        (["profile", "yolov5s", "--phase", "decode"], "--phase applies only to language models"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "advisor.cli", *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
