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
    #: the precision the model file fixes (a GGUF "q4_k_m", fp8 safetensors); None: any scheme
    native_precision: str | None = None
    #: one-line facts about how the model was built (shown by profile)
    notes: list[str] = field(default_factory=list)
    #: parameters one token uses (MoE: routed top-k experts plus shared parts); None: all of them
    active_params: int | None = None
    #: experts each token is routed to in a mixture-of-experts model; None for dense models
    expert_top_k: int | None = None
