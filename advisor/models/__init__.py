"""Models to profile, from every model source (advisor.models.sources): the built-in zoo,
ONNX files, Hugging Face configs, checkpoint headers, timm, ``package.module:callable`` and
``torch.export`` files.

Importing this package does not import torch; each source imports it when it builds.
"""

from __future__ import annotations

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
    """Build the torch model of ``workload`` and its example inputs, without real weights.

    ``workload.model`` is any spec a torch model source claims (advisor.models.sources: the
    zoo, Hugging Face configs, checkpoint headers, timm, ``module:callable``, .pt2);
    ``allow_code`` False is the HTTP service's policy. For the commands that run the torch
    model itself (bench, validate); an ONNX file is counted from its graph and has no torch
    module. Every bad input raises InputError with one line naming the value.
    """
    from advisor.models.sources import LoadPolicy, default_registry
    source, built = default_registry().build(workload, LoadPolicy.of(allow_code))
    if not isinstance(built, ModelSpec):
        raise InputError(f"{workload.model} ({source.label}) is not a torch model, which this command runs; "
                         "time an ONNX file with: advisor bench --model FILE -F onnxruntime-cpu")
    return built
