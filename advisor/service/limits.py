"""How much work one request may ask of the service.

Why: the body bounds (batch <= 4096, an ``input_shape`` of at most 64 Mi elements) let a
request without a token ask for ``{"model": "ssdlite320_mobilenet_v3_large", "batch": 4096}``:
the batch times the model's *default* shape was never checked, and torchvision's detection
models run their forward on real CPU tensors (the profiler cannot put their data-dependent
post-processing on meta tensors), so that request allocated about 5 GB and fasterrcnn took
15 s at batch 4 (issue 14). Every other zoo model is counted on meta tensors, whose cost
does not grow with the input, so its limit is only a sanity bound.

`check_workload` runs inside the endpoint's worker thread and raises InputError, which
the service answers with 422 and the message naming the limit. A workload whose profile is
already cached costs nothing to answer, so it is not checked: the endpoints pass
`check_workload` as ``before_counting`` to advisor.db.profile_cache.profile_for, which calls
it on a cache miss only (one cache read per workload). That keeps cached answers free of
torch (learning a torchvision model's default size imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.errors import InputError
from advisor.workload import Workload

#: Input elements (batch x the rest of the shape) of a model counted on meta tensors.
MAX_INPUT_ELEMENTS = 64 * 1024 * 1024
#: Input elements of a model that runs on real CPU tensors (torchvision detection): one
#: image at the R-CNNs' default 800x800, about 4 s of one core for fasterrcnn.
MAX_REAL_TENSOR_ELEMENTS = 3 * 800 * 800
#: Tokens (batch x prompt or batch x KV-cache context) of a language model.
MAX_BATCH_TOKENS = 1 << 24


@dataclass(frozen=True)
class WorkLimits:
    """The limits one service applies (tests build smaller ones)."""

    input_elements: int = MAX_INPUT_ELEMENTS
    real_tensor_elements: int = MAX_REAL_TENSOR_ELEMENTS
    tokens: int = MAX_BATCH_TOKENS


def _resolved_shape(workload: Workload, default: list[int]) -> list[int]:
    from advisor.models.shapes import resolve_shape

    return resolve_shape(workload.model, default, workload.input_shape, workload.batch)


def check_workload(workload: Workload, limits: WorkLimits = WorkLimits()) -> None:
    """Refuse a zoo workload whose batch x shape is over the service's limits; called
    before a cache miss is counted (a cached profile builds nothing and is not checked).

    Names that are not zoo models (a model source of the --models-dir, or an unknown
    name) are left to the loader, which refuses them or bounds them by their input_shape."""
    from advisor.models import zoo

    name = workload.model
    if zoo.is_language_model(name) or name == zoo.BERT_NAME:
        if workload.phase == "decode" and name != zoo.BERT_NAME:
            tokens = (workload.batch or 1) * (workload.context or zoo.DECODE_CONTEXT)
            what = "batch x context"
        else:
            default_len = zoo.BERT_SEQ_LEN if name == zoo.BERT_NAME else zoo.PREFILL_SEQ_LEN
            shape = _resolved_shape(workload, [1, workload.seq_len or default_len])
            tokens = math.prod(shape)
            what = "batch x sequence length"
        if tokens > limits.tokens:
            raise InputError(f"{name}: {what} is {tokens:,} tokens, over the service's limit of {limits.tokens:,}")
        return
    if name in zoo.YOLO_NAMES:
        default, real = [1, 3, zoo.YOLO_INPUT, zoo.YOLO_INPUT], False
    elif zoo.is_zoo_name(name):
        from advisor.models import torchvision_zoo as tv

        side = tv.default_image_size(name)
        default, real = [1, 3, side, side], tv.torchvision_names()[name] == tv.DETECTION
    else:
        return
    elements = math.prod(_resolved_shape(workload, default))
    limit = limits.real_tensor_elements if real else limits.input_elements
    if elements > limit:
        why = " (detection models run on real CPU tensors)" if real else ""
        raise InputError(
            f"{name}: batch x input shape is {elements:,} elements, over the service's limit of {limit:,}{why}"
        )
