"""One `advisor sensitivity --weights DIR` reads the directory's model.safetensors.index.json once.

The count is taken on a real sharded checkpoint in a fresh process with a Python audit hook
(``sys.addaudithook``, the interpreter's own report of every ``open``): nothing is patched, so
the hashing, the data-free stream and the state-dict loading all run as a user runs them.
Bad indexes stay one clear line and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from advisor.errors import InputError
from advisor.safe_input import read_json_file
from advisor.sensitivity.files import HF_INDEX, content_hash, resolve_weights
from tests.sensitivity_digits import write_digits_files

MODEL = "tests.sensitivity_digits:cli_mlp"

#: `advisor ARGS` with an audit hook counting the opens of one file (argv[1]), printed last on stderr.
COUNTING_ADVISOR = """
import sys
target = sys.argv.pop(1)
opens = [0]
def count(event, args):
    if event == "open" and isinstance(args[0], str) and args[0] == target:
        opens[0] += 1
sys.addaudithook(count)
import atexit
atexit.register(lambda: print(f"index opens: {opens[0]}", file=sys.stderr))
from advisor.cli import main
main()
"""


def shard(state: dict[str, torch.Tensor], folder: Path) -> Path:
    """``state`` as a Hugging Face two-shard checkpoint with its index."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(state)
    weight_map = {name: f"model-0000{1 + (i >= len(names) // 2)}-of-00002.safetensors" for i, name in enumerate(names)}
    for file in sorted(set(weight_map.values())):
        save_file({n: state[n].contiguous() for n, f in weight_map.items() if f == file}, folder / file)
    (folder / HF_INDEX).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


def counted_sensitivity(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess, int | None]:
    index = str(folder / HF_INDEX)
    proc = subprocess.run([sys.executable, "-c", COUNTING_ADVISOR, index, "sensitivity", "--weights", str(folder), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    lines = [line for line in proc.stderr.splitlines() if line.startswith("index opens: ")]
    return proc, (int(lines[-1].removeprefix("index opens: ")) if lines else None)


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, Path]:
    """(the trained digits MLP as a sharded checkpoint, its calibration samples)."""
    from safetensors.torch import load_file

    folder = write_digits_files(tmp_path_factory.mktemp("digits"))
    sharded = shard(load_file(str(folder / "mlp.safetensors")), folder / "sharded")
    return sharded, folder / "calib.npy"


def test_data_free_run_reads_the_index_once(digits, isolated_db):
    sharded, _ = digits
    proc, opens = counted_sensitivity(sharded, "--method", "data-free", "--schemes", "int8", "--no-save", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["method"] == "data-free"
    assert opens == 1


def test_calibrated_run_reads_the_index_once(digits, isolated_db):
    sharded, calib = digits
    proc, opens = counted_sensitivity(sharded, "--model", MODEL, "--calib", str(calib), "--schemes", "int8",
                                      "--no-save", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["weights_sha256"]) == 64
    assert opens == 1


def test_resolved_weights_hash_like_the_path_and_carry_the_index_reader(tmp_path):
    """The reader is a parameter of resolve_weights: one call per resolution, and a checkpoint
    resolved once hashes like its path (what the stored reports are keyed by)."""
    folder = shard({"a.weight": torch.arange(6.0).reshape(2, 3), "b.weight": torch.ones(4)}, tmp_path / "ckpt")
    reads: list[Path] = []

    def counting_reader(path: Path) -> object:
        reads.append(path)
        return read_json_file(path, what="safetensors index (JSON)")

    resolved = resolve_weights(folder, read_index=counting_reader)
    assert reads == [folder / HF_INDEX]
    assert [f.name for f in resolved.files] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert content_hash(resolved) == content_hash(folder)
    assert len(reads) == 1  # hashing the resolved checkpoint did not go back to the index


@pytest.mark.parametrize("index, message", [
    ({"metadata": {}}, "not a safetensors index (no weight_map)"),
    ({"weight_map": {"a.weight": "model-00003-of-00002.safetensors"}}, "shard"),
])
def test_a_bad_index_is_one_line_and_exit_2(tmp_path, isolated_db, index, message):
    folder = shard({"a.weight": torch.ones(2, 2), "b.weight": torch.ones(2)}, tmp_path / "ckpt")
    (folder / HF_INDEX).write_text(json.dumps(index))
    with pytest.raises(InputError, match="no weight_map|is missing"):
        resolve_weights(folder)
    proc, opens = counted_sensitivity(folder, "--method", "data-free", "--no-save")
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.strip().splitlines() if not line.startswith("index opens: ")]
    assert len(errors) == 1 and message in errors[0] and str(folder / HF_INDEX) in errors[0]
    assert opens == 1
