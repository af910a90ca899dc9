"""timm models by name (``timm:NAME``), built on meta with their pretrained configuration's input.

``timm.create_model(NAME, pretrained=False)`` builds the architecture without weights (no
download); its ``pretrained_cfg["input_size"]`` (e.g. (3, 224, 224), or (3, 384, 384) for a
``.._384`` variant) is the default input, as the model was trained and evaluated.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.models.sources import LoadPolicy, ModelSource, SourceInfo

if TYPE_CHECKING:
    from advisor.models.spec import ModelSpec
    from advisor.workload import Workload

TIMM_PREFIX = "timm:"
FALLBACK_INPUT = (3, 224, 224)


def _timm() -> Any:
    try:
        import timm
    except ImportError:
        raise InputError("timm models need the extra: pip install 'advisor[timm]'") from None
    return timm


def default_input_size(module: Any) -> tuple[int, int, int]:
    """(C, H, W) from the model's pretrained configuration, else 3x224x224."""
    cfg = getattr(module, "pretrained_cfg", None) or {}
    size = cfg.get("input_size") or FALLBACK_INPUT
    return tuple(int(d) for d in size)  # type: ignore[return-value]


def build_timm(name: str) -> Any:
    """The timm model ``name`` on meta, eval mode, no weights; InputError for an unknown name."""
    timm = _timm()
    from advisor.models.meta import on_meta

    if not timm.is_model(name):
        near = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else " (see timm.list_models())"
        raise InputError(f"unknown timm model '{name}'{hint}")
    try:
        with on_meta():
            module = timm.create_model(name, pretrained=False)
    except Exception as exc:  # noqa: BLE001 - the model's constructor failed: its own message
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot build timm model '{name}': {text}") from None
    return module.eval()


def spec_from_timm_module(module: Any, workload: Workload, *, name: str | None = None) -> ModelSpec:
    """Inputs for a built timm model: its pretrained input size at the workload's batch/shape."""
    import torch

    from advisor.models.shapes import format_shape, resolve_shape
    from advisor.models.spec import ModelSpec

    name = name or workload.model
    if workload.phase is not None or workload.seq_len is not None or workload.context is not None:
        raise InputError(f"--phase/--seq-len/--context apply to language models; {name} takes images")
    channels, height, width = default_input_size(module)
    shape = resolve_shape(name, [1, channels, height, width], workload.input_shape, workload.batch)
    if len(shape) != 4 or shape[1] != channels:
        raise InputError(f"input shape {format_shape(shape)} for {name}: expected Bx{channels}xHxW")
    return ModelSpec(name=name, module=module, args=(torch.empty(shape, device="meta"),), input_shape=shape,
                     batch=shape[0])


class TimmSource(ModelSource):
    """``timm:NAME``: any architecture timm knows, default input from its pretrained config."""

    name = "timm"
    example = "timm:convnext_tiny"
    label = "timm model"
    access = "builtin"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        return spec.startswith(TIMM_PREFIX)

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        return SourceInfo(source=self.name, kind="vision", name=spec[len(TIMM_PREFIX):])

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        name = workload.model[len(TIMM_PREFIX):].strip()
        if not name:
            raise InputError(f"'{workload.model}': expected timm:NAME, e.g. {self.example}")
        return spec_from_timm_module(build_timm(name), workload, name=name)
