"""Reading the user's weights without ever running their code, and putting them into a model.

Accepted: a ``.safetensors`` file; a directory of safetensors shards (with or without
``model.safetensors.index.json``), which is also what a Hugging Face model directory holds; a
PyTorch state dict (``.pt`` / ``.pth`` / ``.bin``) read with ``torch.load(weights_only=True)``,
which refuses pickled code. The model itself is built from a model spec (zoo name, callable...) on
the meta device; ``materialise`` gives it real CPU storage (``to_empty``) and loads the state dict
strictly, so a missing or misnamed tensor is a one-line error instead of silently random weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from advisor.errors import InputError
from advisor.sensitivity.files import SAFETENSORS_SUFFIX, WeightFiles, as_weight_files, content_hash, weight_files

__all__ = ["content_hash", "load_weights_into", "materialise", "read_state_dict", "weight_files"]


def _load_torch(file: Path) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - anything torch refuses (pickled code, corrupt file) is bad input
        text = str(exc).strip().splitlines()
        raise InputError(f"--weights {file}: cannot read as a weights-only state dict ({text[0] if text else type(exc).__name__})") from None
    if isinstance(loaded, dict) and "state_dict" in loaded and isinstance(loaded["state_dict"], dict):
        loaded = loaded["state_dict"]  # Lightning-style checkpoints nest it
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise InputError(f"--weights {file}: expected a dict of tensor names to tensors (a state dict)")
    return dict(loaded)


def _load_safetensors(file: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(file), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"--weights {file}: not a readable safetensors file ({str(exc).strip()[:120]})") from None


def read_state_dict(weights: Path | WeightFiles) -> dict[str, torch.Tensor]:
    """Every tensor at ``weights`` (one file, shards, or a Hugging Face directory; a path or
    already resolved) as one state dict."""
    state: dict[str, torch.Tensor] = {}
    for file in as_weight_files(weights).files:
        part = _load_safetensors(file) if file.suffix == SAFETENSORS_SUFFIX else _load_torch(file)
        clash = state.keys() & part.keys()
        if clash:
            raise InputError(f"--weights {file}: tensor '{sorted(clash)[0]}' appears in two files")
        state.update(part)
    return state


def _strip_common_prefix(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Accept checkpoints saved from a wrapper (``module.`` from DataParallel, ``model.``)."""
    if state.keys() & expected:
        return state
    for prefix in ("module.", "model."):
        if all(k.startswith(prefix) for k in state):
            stripped = {k[len(prefix):]: v for k, v in state.items()}
            if stripped.keys() & expected:
                return stripped
    return state


def materialise(module: nn.Module, state: dict[str, torch.Tensor], *, source: str) -> nn.Module:
    """Give a meta-built ``module`` CPU storage and load ``state`` strictly, as fp32, in eval mode.

    A wrong checkpoint (missing/unexpected names, wrong shapes) is an InputError naming the
    first offending tensor.
    """
    expected = set(module.state_dict().keys())
    state = _fill_tied(module, _strip_common_prefix(state, expected))
    missing = sorted(expected - state.keys())
    unexpected = sorted(state.keys() - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: '{missing[0]}')")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: '{unexpected[0]}')")
        raise InputError(f"--weights {source}: tensor names do not match the model: {', '.join(parts)}")
    reference = module.state_dict()
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(reference[name].shape):
            raise InputError(
                f"--weights {source}: tensor '{name}' has shape {list(tensor.shape)}, "
                f"the model expects {list(reference[name].shape)}"
            )
    module = module.to_empty(device="cpu")
    as_float = {k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in state.items()}
    module.load_state_dict(as_float, strict=True)
    _restore_derived_buffers(module, expected, source)
    return module.float().eval()


def _fill_tied(module: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoints store a tied weight once (e.g. an LM head sharing the embedding): give every
    alias of a stored parameter the same tensor."""
    aliases: dict[int, list[str]] = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(param), []).append(name)
    state = dict(state)
    for names in aliases.values():
        present = next((n for n in names if n in state), None)
        if present is not None:
            for name in names:
                state.setdefault(name, state[present])
    return state


def _restore_derived_buffers(module: nn.Module, persistent: set[str], source: str) -> None:
    """Non-persistent buffers (rotary-embedding frequencies...) are computed in ``__init__`` and
    are in no checkpoint; after building on meta they hold garbage. Submodules configured by a
    ``config`` object (Hugging Face's convention) are rebuilt on the CPU to recompute them; any
    other such buffer is refused rather than silently wrong."""
    for owner_name, owner in module.named_modules():
        derived = [n for n, _ in owner.named_buffers(recurse=False)
                   if (f"{owner_name}.{n}" if owner_name else n) not in persistent]
        if not derived:
            continue
        config = getattr(owner, "config", None)
        try:
            with torch.device("cpu"):
                fresh = type(owner)(config) if config is not None else None
        except Exception:  # noqa: BLE001 - any constructor failure means we cannot recompute
            fresh = None
        if fresh is None:
            name = f"{owner_name}.{derived[0]}" if owner_name else derived[0]
            raise InputError(f"model {source}: buffer '{name}' is computed at construction and cannot be "
                             "restored after building on meta; sensitivity does not support this module yet")
        for name in derived:
            value = getattr(fresh, name)
            setattr(owner, name, value.to(torch.float32) if value.is_floating_point() else value)


def load_weights_into(module: nn.Module, weights: Path | WeightFiles) -> nn.Module:
    """``materialise(module, read_state_dict(weights))``."""
    resolved = as_weight_files(weights)
    return materialise(module, read_state_dict(resolved), source=str(resolved.source))
