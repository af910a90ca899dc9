"""`advisor profile` as a user runs it: a subprocess per command, checking output and exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ADVISOR = [sys.executable, "-m", "advisor.cli"]

# ResNet-18 at 1x3x224x224: 1,814.1 M conv+linear MACs and 11,689,512 parameters
# (shared/reference/profiler-peers.md; torchvision lists 1.81 GFLOPS = GMACs).
RESNET18_PARAMS = 11_689_512


def advisor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ADVISOR, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture(scope="module")
def user_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A package of user callables on PYTHONPATH, as `package.module:callable` loads them."""
    root = tmp_path_factory.mktemp("user_models")
    (root / "usermodels.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Bessel(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(4, 4)

            def forward(self, x):
                return torch.special.bessel_j0(self.proj(x))

        def with_unsupported_op():
            return Bessel(), (torch.randn(2, 4),)

        def raises():
            raise RuntimeError("weights server unreachable")
    '''))
    (root / "not_a_model.pt2").write_text("this is a text file, not a torch.export archive\n")
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return {"root": str(root), **env}


def test_json_totals_and_layers() -> None:
    result = advisor("profile", "resnet18", "--format", "json", "--per-layer")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    for key in ("model", "input_shape", "params", "flops", "macs", "bytes_read", "bytes_written", "intensity", "layers", "unsupported_ops"):
        assert key in doc
    assert doc["model"] == "resnet18" and doc["input_shape"] == [1, 3, 224, 224]
    assert doc["params"] == RESNET18_PARAMS
    assert doc["macs"] / 1e6 == pytest.approx(1814.1, abs=0.05)
    assert doc["flops"] > 2 * doc["macs"]  # plus bias, batch-norm, relu, pooling arithmetic
    assert doc["intensity"] == pytest.approx(doc["flops"] / (doc["bytes_read"] + doc["bytes_written"]), rel=1e-4)
    assert doc["unsupported_ops"] == []
    assert sum(layer["macs"] for layer in doc["layers"]) == doc["macs"]
    assert sum(layer["params"] for layer in doc["layers"]) == doc["params"]
    conv1 = next(layer for layer in doc["layers"] if layer["path"] == "conv1")
    # 64x112x112 outputs x 3x7x7 taps, no bias
    assert conv1["macs"] == 64 * 112 * 112 * 147 and conv1["type"] == "Conv2d" and conv1["output_shape"] == [1, 64, 112, 112]


def test_precision_changes_bytes_not_flops() -> None:
    fp32 = json.loads(advisor("profile", "resnet18", "-f", "json").stdout)
    int8 = json.loads(advisor("profile", "resnet18", "-f", "json", "--precision", "int8").stdout)
    assert int8["flops"] == fp32["flops"] and int8["macs"] == fp32["macs"]
    assert int8["bytes_read"] * 4 == fp32["bytes_read"] and int8["bytes_written"] * 4 == fp32["bytes_written"]


def test_csv_depth_rolls_up() -> None:
    result = advisor("profile", "resnet18", "--format", "csv", "--depth", "1")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"] for r in rows] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    assert sum(int(r["params"]) for r in rows) == RESNET18_PARAMS
    total = list(csv.DictReader(io.StringIO(advisor("profile", "resnet18", "-f", "csv").stdout)))
    assert len(total) == 1 and total[0]["path"] == ""
    assert sum(int(r["macs"]) for r in rows) == int(total[0]["macs"])
    assert sum(float(r["bytes_read"]) for r in rows) == float(total[0]["bytes_read"])


def test_table_names_every_quantity() -> None:
    result = advisor("profile", "resnet18", "--per-layer", "--precision", "fp16")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label in ("MACs (multiply-accumulates)", "FLOPs", "bytes read (fp16)", "bytes written (fp16)", "parameters", "FLOPs/byte", "layer4.1.conv2"):
        assert label in out
    assert "1,814,073,344" in out


def test_unsupported_op_warns_and_strict_exits_2(user_models: dict[str, str]) -> None:
    env = {k: v for k, v in user_models.items() if k != "root"}
    ok = advisor("profile", "usermodels:with_unsupported_op", "-f", "json", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "aten.special_bessel_j0" in ok.stderr and "warning" in ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["unsupported_ops"] == [{"op": "aten.special_bessel_j0", "count": 1, "modules": [""]}]
    assert doc["macs"] == 2 * 4 * 4
    strict = advisor("profile", "usermodels:with_unsupported_op", "--strict", env=env)
    assert_one_line_error(strict, "--strict", "aten.special_bessel_j0")


def test_unknown_model_names_the_nearest() -> None:
    assert_one_line_error(advisor("profile", "resnet51"), "resnet51", "resnet50")


def test_malformed_shape() -> None:
    assert_one_line_error(advisor("profile", "resnet18", "--input-shape", "1x3xfoo"), "1x3xfoo")


def test_unknown_precision() -> None:
    assert_one_line_error(advisor("profile", "resnet18", "--precision", "int3"), "int3")


def test_file_that_is_not_a_model(user_models: dict[str, str]) -> None:
    path = str(Path(user_models["root"]) / "not_a_model.pt2")
    assert_one_line_error(advisor("profile", path), "not_a_model.pt2")


def test_callable_that_raises(user_models: dict[str, str]) -> None:
    env = {k: v for k, v in user_models.items() if k != "root"}
    assert_one_line_error(advisor("profile", "usermodels:raises", env=env), "usermodels:raises", "weights server unreachable")


@pytest.mark.slow
def test_llama_70b_decode_counts_weights_and_cache() -> None:
    """A 69 B-parameter model profiles on meta tensors (speed and RSS: benchmarks/profile_speed.py)."""
    result = advisor("profile", "llama-70b", "--phase", "decode", "--context", "4096", "-f", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["params"] > 68e9 and doc["kv_cache_elems"] > 0
    # decode reads every weight once (of the embedding table only the one looked-up row)
    # and the whole KV cache once
    embedding = sum(layer["params"] for layer in doc["layers"] if layer["type"] == "Embedding")
    floor = 4 * (doc["params"] - embedding + doc["kv_cache_elems"])
    assert floor <= doc["bytes_read"] <= floor * 1.01
