"""Helpers that make the ``module:callable`` and ``.pt2`` routes work on the first try.

Why: the ordinary first-try failures of bringing your own torch code are the current
directory not being importable from a console script, a callable that returns only the
model, a forward that needs tensor values (meta tensors have none) and a .pt2 archive that
uses a custom operator. Each gets a fix here or one line that says what to do instead.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

#: what torch says when a forward needs the values of a meta tensor
_DATA_DEPENDENT_MARKERS = (
    "cannot be called on meta tensors",
    "Cannot copy out of meta tensor",
    "data-independent implementation does not exist",
    "data-dependent",
    "Could not guard on data-dependent",
)

DATA_DEPENDENT_HINT = (
    "its forward needs tensor values (data-dependent control flow such as .item() or `if x.sum() > 0`), "
    "which meta tensors do not have: profile a traced or exported model instead (torch.export to a .pt2, "
    "or an ONNX file), or pass --input-shape if the inputs were guessed wrong"
)


@contextmanager
def cwd_importable() -> Iterator[None]:
    """The current directory on ``sys.path`` while user code is imported.

    ``python -m`` and ``python -c`` put it there; the ``advisor`` console script does not, so
    ``models:build`` next to the user would not import. Removed again afterwards.
    """
    cwd = os.getcwd()
    added = "" not in sys.path and cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            with suppress(ValueError):
                sys.path.remove(cwd)


def is_data_dependent(exc: BaseException) -> bool:
    """True when ``exc`` says a forward needed a meta tensor's values."""
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in _DATA_DEPENDENT_MARKERS)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def explain_run_failure(label: str, exc: BaseException, shapes: str) -> str:
    """One line for a model that failed to run on meta inputs, with a hint where one helps."""
    if is_data_dependent(exc):
        return f"{label} cannot be profiled on meta tensors: {DATA_DEPENDENT_HINT}"
    return f"{label} cannot run on inputs {shapes}: {first_line(exc)}"


def timm_input_shape(module: Any, batch: int | None) -> list[int] | None:
    """[batch, C, H, W] from a timm model's pretrained config (``input_size``), else None."""
    cfg = getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None)
    if not isinstance(cfg, dict):
        return None
    size = cfg.get("input_size")
    if not (isinstance(size, (tuple, list)) and len(size) == 3 and all(isinstance(d, int) for d in size)):
        return None
    return [batch or 1, *size]


def is_hf_model(module: Any) -> bool:
    """A transformers PreTrainedModel, recognised without importing transformers."""
    return any(c.__name__ == "PreTrainedModel" and c.__module__.startswith("transformers")
               for c in type(module).__mro__)


_OP_TARGET = re.compile(rb"torch\.ops\.([A-Za-z_][\w]*)\.([A-Za-z_][\w]*)")


def unregistered_ops(path: Path) -> list[str]:
    """Operators a .pt2 archive calls that are not registered in this process (custom ops
    whose library was not imported), read from the archive's serialized graph."""
    import torch

    names: set[str] = set()
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".json"):
                names.update(f"{ns.decode()}::{op.decode()}" for ns, op in _OP_TARGET.findall(archive.read(member)))
    missing = []
    for name in sorted(names):
        namespace, op = name.split("::")
        try:
            getattr(getattr(torch.ops, namespace), op)
        except (AttributeError, RuntimeError):
            missing.append(name)
    return missing
