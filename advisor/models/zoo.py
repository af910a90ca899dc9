"""The built-in model zoo: names, default input shapes, and building a ModelSpec from a name.

Families: YOLOv5/YOLOv8 (640x640), every torchvision classification/detection/segmentation
model (its evaluation resolution), BERT-base (128 tokens) and the Llama decoders (prefill of
512 tokens or decode against a 2048-token KV cache by default).
"""

from __future__ import annotations

import functools

import torch

from advisor.errors import InputError, unknown_name
from advisor.models.meta import on_meta
from advisor.models.shapes import format_shape, resolve_shape
from advisor.models.spec import ModelSpec

YOLO_INPUT = 640
YOLO_STRIDE = 32  # the coarsest feature map is 1/32 of the input; sides must divide by it
BERT_NAME = "bert-base"
BERT_SEQ_LEN = 128
PREFILL_SEQ_LEN = 512
DECODE_CONTEXT = 2048
LLAMA_NAMES = ("llama-1.1b", "llama-7b", "llama-13b", "llama-70b")
YOLO_NAMES = tuple(f"yolov{v}{s}" for v in ("5", "8") for s in "nsmlx")


@functools.lru_cache(maxsize=1)
def _all_names() -> tuple[str, ...]:
    from advisor.models.torchvision_zoo import torchvision_names

    return tuple(sorted({*YOLO_NAMES, BERT_NAME, *LLAMA_NAMES, *torchvision_names()}))


def zoo_names() -> list[str]:
    """Every built-in model name."""
    return list(_all_names())


def is_language_model(name: str) -> bool:
    """True for decoder LLMs profiled per phase (prefill/decode); BERT is an encoder: False."""
    return name in LLAMA_NAMES


def is_builtin_name(name: str) -> bool:
    """A zoo name that needs no torchvision import to recognise (importing it takes seconds)."""
    return name in YOLO_NAMES or name in LLAMA_NAMES or name == BERT_NAME


def is_zoo_name(name: str) -> bool:
    return is_builtin_name(name) or name in _all_names()


def load_zoo_model(
    name: str,
    *,
    input_shape: str | list[int] | None,
    batch: int | None,
    phase: str | None,
    seq_len: int | None,
    context: int | None,
) -> ModelSpec:
    """Build a zoo model on meta (CPU for torchvision detectors) with its example inputs."""
    if not is_zoo_name(name):
        raise unknown_name("model", name, zoo_names())
    if name in LLAMA_NAMES:
        return _llama_spec(name, input_shape, batch, phase, seq_len, context)
    if phase is not None or context is not None:
        option = "--phase" if phase is not None else "--context"
        raise InputError(f"{option} applies only to language models ({', '.join(LLAMA_NAMES)}), not {name}")
    if name == BERT_NAME:
        return _bert_spec(input_shape, batch, seq_len)
    if seq_len is not None:
        raise InputError(f"--seq-len applies only to language models and {BERT_NAME}, not {name}")
    if name in YOLO_NAMES:
        return _yolo_spec(name, input_shape, batch)
    return _torchvision_spec(name, input_shape, batch)


def _yolo_spec(name: str, input_shape, batch) -> ModelSpec:
    from advisor.models.yolo import build_yolov5, build_yolov8

    shape = resolve_shape(name, [1, 3, YOLO_INPUT, YOLO_INPUT], input_shape, batch)
    if shape[1] != 3:
        raise InputError(f"input shape {format_shape(shape)} for {name}: expected 3 channels, got {shape[1]}")
    if shape[2] % YOLO_STRIDE or shape[3] % YOLO_STRIDE:
        raise InputError(
            f"input shape {format_shape(shape)} for {name}: height and width must be multiples of {YOLO_STRIDE}"
        )
    build = build_yolov5 if name.startswith("yolov5") else build_yolov8
    with on_meta():
        module = build(name[-1]).eval()
        args = (torch.empty(shape),)
    return ModelSpec(name=name, module=module, args=args, input_shape=shape, batch=shape[0])


def _torchvision_spec(name: str, input_shape, batch) -> ModelSpec:
    from advisor.models import torchvision_zoo as tv

    side = tv.default_image_size(name)
    shape = resolve_shape(name, [1, 3, side, side], input_shape, batch)
    tv.check_image_shape(name, shape)
    if input_shape is None:
        module, device = tv.build(name, shape[2])
        args = tv.example_inputs(name, shape, device)
    else:
        module, device, args = _build_checked(name, shape)
    return ModelSpec(name=name, module=module, args=args, input_shape=shape, batch=shape[0], device=device)


def _build_checked(name: str, shape: list[int]):
    """Build for a user-chosen shape and run it once on meta (milliseconds), so a shape the
    architecture cannot take is a one-line InputError here, not a traceback in the profiler."""
    from advisor.models import torchvision_zoo as tv

    try:
        module, device = tv.build(name, shape[2])
        args = tv.example_inputs(name, shape, device)
        if device == "meta":
            with torch.no_grad():
                module(*args)
    except Exception as exc:  # noqa: BLE001 - any failure here means the shape does not fit
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(f"input shape {format_shape(shape)} does not fit {name}: {first}") from None
    return module, device, args


def _token_ids(shape: list[int]) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.long, device="meta")


def _bert_spec(input_shape, batch, seq_len) -> ModelSpec:
    from advisor.models.transformers import Bert, BertConfig

    cfg = BertConfig()
    shape = resolve_shape(BERT_NAME, [1, seq_len or BERT_SEQ_LEN], input_shape, batch)
    if len(shape) != 2:
        raise InputError(f"input shape {format_shape(shape)} for {BERT_NAME}: expected BxS token ids, e.g. 1x128")
    if seq_len is not None and shape[1] != seq_len:
        raise InputError(f"input shape {format_shape(shape)} disagrees with --seq-len {seq_len}")
    if shape[1] > cfg.max_positions:
        raise InputError(f"sequence length {shape[1]} for {BERT_NAME}: at most {cfg.max_positions} positions")
    with on_meta():
        module = Bert(cfg).eval()
    return ModelSpec(name=BERT_NAME, module=module, args=(_token_ids(shape),), input_shape=shape,
                     batch=shape[0], seq_len=shape[1])


def _llama_spec(name, input_shape, batch, phase, seq_len, context) -> ModelSpec:
    from advisor.models.transformers import LLAMA_CONFIGS, Llama

    cfg = LLAMA_CONFIGS[name]
    phase = phase or "prefill"
    if phase not in ("prefill", "decode"):
        raise InputError(f"unknown phase '{phase}': expected prefill or decode")
    for option, value in (("--seq-len", seq_len), ("--context", context), ("--batch", batch)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InputError(f"invalid {option} {value!r}: expected a positive integer")
    with on_meta():
        module = Llama(cfg).eval()
    if phase == "prefill":
        if context is not None:
            raise InputError("--context applies to --phase decode; use --seq-len for the prefill prompt length")
        shape = resolve_shape(name, [1, seq_len or PREFILL_SEQ_LEN], input_shape, batch)
        if seq_len is not None and shape[1] != seq_len:
            raise InputError(f"input shape {format_shape(shape)} disagrees with --seq-len {seq_len}")
        return ModelSpec(name=name, module=module, args=(_token_ids(shape),), input_shape=shape,
                         batch=shape[0], phase="prefill", seq_len=shape[1])
    if seq_len is not None:
        raise InputError("--seq-len applies to --phase prefill; decode runs one token, set the cache with --context")
    if input_shape is not None:
        raise InputError("--input-shape is not used with --phase decode (one token); use --batch and --context")
    batch = batch or 1
    context = context or DECODE_CONTEXT
    cache_shape = [batch, cfg.kv_heads, context, cfg.head_dim]
    cache = tuple(torch.empty(cache_shape, device="meta") for _ in range(2 * cfg.layers))
    return ModelSpec(
        name=name, module=module, args=(_token_ids([batch, 1]), *cache), input_shape=[batch, 1], batch=batch,
        phase="decode", context=context,
        kv_cache_elems=2 * cfg.layers * batch * context * cfg.kv_heads * cfg.head_dim,
    )
