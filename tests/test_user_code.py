"""Bringing your own torch code (issue 9, item 5): the first try works or fails in one line.

Run through the installed ``advisor`` console script, as a user does: unlike ``python -m``, it
does not put the current directory on the import path by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).with_name("advisor")

USER_CODE = textwrap.dedent(
    """
    import torch
    from torch import nn

    def plain():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())

    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x):
            if x.sum().item() > 0:  # data-dependent control flow
                return self.fc(x)
            return x

    def gated():
        return Gated(), torch.zeros(1, 16)

    def bert_bare():
        from transformers import BertConfig, BertModel
        return BertModel(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                    intermediate_size=128, vocab_size=1000))

    def timm_bare():
        import timm
        return timm.create_model("resnet18", pretrained=False)
    """
)

CUSTOM_OP_EXPORT = textwrap.dedent(
    """
    import torch

    @torch.library.custom_op("advisortest::twice", mutates_args=())
    def twice(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    @twice.register_fake
    def _(x):
        return torch.empty_like(x)

    class M(torch.nn.Module):
        def forward(self, x):
            return torch.ops.advisortest.twice(x) + 1

    torch.export.save(torch.export.export(M(), (torch.randn(2, 3),)), "custom.pt2")
    """
)


def advisor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not CONSOLE_SCRIPT.is_file():
        pytest.skip("the advisor console script is not installed next to this Python")
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("user_code")
    (root / "mymodels.py").write_text(USER_CODE)
    return root


def test_current_directory_is_importable(workdir: Path) -> None:
    result = advisor("profile", "mymodels:plain", "--input-shape", "1x3x10x10", "-f", "json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # Conv2d 3->8, 3x3, on 10x10: 8 x 8 x 8 outputs x 27 MACs each
    assert data["macs"] == 8 * 8 * 8 * 27 and data["source"] == "callable"


def test_data_dependent_forward_is_one_line_with_a_hint(workdir: Path) -> None:
    line = one_line_error(advisor("profile", "mymodels:gated", cwd=workdir))
    assert "mymodels:gated" in line and "data-dependent" in line and "torch.export" in line


def test_debug_shows_the_traceback(workdir: Path) -> None:
    result = advisor("--debug", "profile", "mymodels:gated", cwd=workdir)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_bare_hf_model_gets_inferred_inputs(workdir: Path) -> None:
    pytest.importorskip("transformers")
    result = advisor("profile", "mymodels:bert_bare", "-f", "json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["input_shape"][0] == 1 and len(data["input_shape"]) == 2  # token ids: batch x sequence
    assert data["macs"] > 0


def test_bare_timm_model_gets_its_pretrained_input(workdir: Path) -> None:
    pytest.importorskip("timm")
    result = advisor("profile", "mymodels:timm_bare", "-f", "json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["input_shape"] == [1, 3, 224, 224]
    assert data["macs"] == 1_814_073_344  # timm resnet18 = torchvision resnet18 at 224


def test_bare_module_without_known_inputs_asks_for_a_shape(workdir: Path) -> None:
    line = one_line_error(advisor("profile", "mymodels:plain", cwd=workdir))
    assert "--input-shape" in line


def test_pt2_with_an_unregistered_custom_op(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", CUSTOM_OP_EXPORT], cwd=tmp_path, check=True, capture_output=True,
                   timeout=300)
    line = one_line_error(advisor("profile", "custom.pt2", cwd=tmp_path))
    assert "advisortest::twice" in line and "import" in line
