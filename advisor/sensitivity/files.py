"""Where the user's weights are and what their content hash is: no torch import, so the gate and
recommend can look a stored report up without loading torch.

Accepted: a ``.safetensors`` file; a directory of safetensors shards (with or without
``model.safetensors.index.json``), as a Hugging Face model directory holds; a PyTorch state dict
(``.pt`` / ``.pth`` / ``.bin``).

A directory is resolved once per command (``resolve_weights``): hashing, loading and the data-free
stream all take the resolved ``WeightFiles``, so a Hugging Face index is read and checked once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import InputError

SAFETENSORS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin")
HF_INDEX = "model.safetensors.index.json"
HF_TORCH_FILES = ("pytorch_model.bin",)
HASH_CHUNK = 1 << 22


@dataclass(frozen=True)
class WeightFiles:
    """The files holding the weights given as ``source`` (what the user passed to --weights), in
    a stable order: resolved once, then handed to whatever hashes, loads or streams them."""

    source: Path
    files: tuple[Path, ...]


def read_index(index: Path) -> Any:  # noqa: ANN401 - parsed JSON, checked by the caller
    """A safetensors index parsed by the bounded JSON reader (issue 14)."""
    from advisor.safe_input import read_json_file

    return read_json_file(index, 64_000_000, what="safetensors index (JSON)")


def resolve_weights(path: Path, read_index: Callable[[Path], Any] = read_index) -> WeightFiles:
    """The files that hold the weights at ``path`` (InputError when none). ``read_index`` parses
    a directory's ``model.safetensors.index.json``; it is called at most once."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--weights {path}: no such file or directory")
    if path.is_file():
        if path.suffix == SAFETENSORS_SUFFIX or path.suffix in PICKLE_SUFFIXES:
            return WeightFiles(path, (path,))
        raise InputError(f"--weights {path}: expected a .safetensors file, a .pt/.pth/.bin state dict or a directory")
    index = path / HF_INDEX
    if index.is_file():
        data = read_index(index)
        try:
            shard_names = sorted(set(data["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"--weights {index}: not a safetensors index (no weight_map)") from None
        shards = [path / name for name in shard_names]
        missing = [str(s) for s in shards if not s.is_file()]
        if missing:
            raise InputError(f"--weights {index}: shard {missing[0]} is missing")
        return WeightFiles(path, tuple(shards))
    shards = sorted(path.glob(f"*{SAFETENSORS_SUFFIX}"))
    if shards:
        return WeightFiles(path, tuple(shards))
    for name in HF_TORCH_FILES:
        if (path / name).is_file():
            return WeightFiles(path, (path / name,))
    raise InputError(f"--weights {path}: the directory holds no .safetensors files or pytorch_model.bin")


def as_weight_files(weights: Path | WeightFiles) -> WeightFiles:
    """``weights`` as resolved files: a WeightFiles is passed through, a path resolved."""
    return weights if isinstance(weights, WeightFiles) else resolve_weights(Path(weights))


def weight_files(path: Path | WeightFiles) -> list[Path]:
    """The files that hold the weights at ``path``, in a stable order (InputError when none)."""
    return list(as_weight_files(path).files)


def content_hash(weights: Path | WeightFiles,
                 track: Callable[[Iterable[Path], str, int], Iterable[Path]] | None = None) -> str:
    """SHA-256 over the weight files' bytes (in order, with their names), the key reports are stored
    under. ``track`` wraps the files in a progress bar (a 16 GB checkpoint takes a while)."""
    digest = hashlib.sha256()
    files = weight_files(weights)
    for file in track(files, "hashing the weights", len(files)) if track else files:
        digest.update(file.name.encode())
        with open(file, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
