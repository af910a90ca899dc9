"""What the model zoo and loaders hand to the profiler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelSpec:
    """A built model (on the meta device wherever its forward allows) and its example inputs.

    ``module`` is a torch.nn.Module in eval mode; ``args``/``kwargs`` are the example inputs
    (meta tensors, or CPU tensors where the forward is data-dependent). ``input_shape`` is
    what reports show (e.g. [1, 3, 640, 640], or [1, 128] token ids for an LLM).
    """

    name: str
    module: Any
    args: tuple[Any, ...]
    input_shape: list[int]
    batch: int = 1
    kwargs: dict[str, Any] = field(default_factory=dict)
    phase: str | None = None  # "prefill" | "decode" for language models
    seq_len: int | None = None
    context: int | None = None
    kv_cache_elems: int = 0  # decode: K and V elements held across all layers
    device: str = "meta"  # "meta" or "cpu": where args and parameters live
