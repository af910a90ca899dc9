"""Models to profile: the built-in zoo, ``package.module:callable`` and ``torch.export`` files.

Importing this package does not import torch; each loader imports it when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.models.spec import ModelSpec

if TYPE_CHECKING:
    from advisor.workload import Workload

__all__ = ["ModelSpec", "is_language_model", "is_zoo_name", "load_model", "zoo_names"]


def zoo_names() -> list[str]:
    """Every built-in model name (YOLO, torchvision, BERT, Llama), sorted."""
    from advisor.models.zoo import zoo_names as names

    return names()


def is_zoo_name(name: str) -> bool:
    """True for a built-in model name. YOLO, BERT and Llama names are recognised without
    importing torchvision, whose import pulls in torch._dynamo (seconds on a small machine)."""
    from advisor.models.zoo import is_zoo_name as check

    return check(name)


def is_language_model(name: str) -> bool:
    """True for the decoder LLMs that are profiled per phase (prefill / decode)."""
    from advisor.models.zoo import is_language_model as check

    return check(name)


def load_model(workload: Workload, *, allow_code: bool = True) -> ModelSpec:
    """Build the model of ``workload`` and its example inputs, without real weights.

    ``workload.model`` is a zoo name, a path to a ``.pt2`` file, or ``package.module:callable``
    (files and code only when ``allow_code``, a loading policy of the caller: the HTTP service
    passes False). Every bad input raises InputError with one line naming the value.
    """
    from advisor.models import zoo

    name, w = workload.model, workload
    if not name.strip():
        raise InputError("model name is empty")
    if zoo.is_builtin_name(name):
        return zoo.load_zoo_model(name, input_shape=w.input_shape, batch=w.batch, phase=w.phase,
                                  seq_len=w.seq_len, context=w.context)
    path = Path(name)
    looks_like_file = name.endswith(".pt2") or path.is_file()
    looks_like_code = ":" in name and not looks_like_file
    if (looks_like_code or looks_like_file) and not allow_code:
        # Untrusted callers (the HTTP service) may neither run code nor make the server read
        # files: a .pt2 archive can carry pickled sample inputs.
        kind = "code" if looks_like_code else "model files"
        raise InputError(f"loading {kind} ('{name}') is not allowed here; use a zoo model name")
    if (looks_like_file or looks_like_code) and (w.phase is not None or w.seq_len is not None or w.context is not None):
        raise InputError(f"--phase/--seq-len/--context apply only to the zoo's language models, not {name}")
    if looks_like_file:
        from advisor.models.loaders import load_exported

        return load_exported(path, input_shape=w.input_shape, batch=w.batch)
    if looks_like_code:
        from advisor.models.loaders import load_callable

        return load_callable(name, input_shape=w.input_shape, batch=w.batch)
    # torchvision names, or an unknown name (InputError naming the nearest zoo names).
    return zoo.load_zoo_model(name, input_shape=w.input_shape, batch=w.batch, phase=w.phase,
                              seq_len=w.seq_len, context=w.context)
