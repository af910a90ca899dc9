"""Models from outside the zoo: a ``package.module:callable`` and a ``torch.export`` .pt2 file.

A callable is invoked with no arguments while the meta device is the default, so the
modules it builds allocate no real weights. It may return a ``(module, example_inputs)``
pair, where ``example_inputs`` is a tensor or a tuple of tensors, or just the module: then
``--input-shape`` gives the input, or the model's own config does (Hugging Face models,
timm models' pretrained input size). The current directory is importable. A .pt2 file is loaded with
``torch.export.load`` and run through ``ExportedProgram.module()`` on meta, with inputs shaped
like the program's user-input placeholders.
"""

from __future__ import annotations

import importlib
import logging
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from advisor.errors import InputError
from advisor.models.meta import on_meta
from advisor.models.shapes import format_shape, parse_shape
from advisor.models.spec import ModelSpec
from advisor.models.user_code import (
    cwd_importable,
    explain_run_failure,
    is_hf_model,
    timm_input_shape,
    unregistered_ops,
)
from advisor.quiet_logs import logger_level

if TYPE_CHECKING:
    from advisor.workload import Workload


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _to_meta(value: Any) -> Any:
    """Tensors (also inside tuples/lists/dicts) -> meta tensors of the same shape and dtype."""
    if isinstance(value, torch.Tensor):
        return value if value.device.type == "meta" else torch.empty_like(value, device="meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_to_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_meta(v) for k, v in value.items()}
    return value


def _module_to_meta(module: nn.Module) -> nn.Module:
    """Move parameters, buffers and plain tensor attributes (export constants) to meta."""
    module = module.to("meta")
    for sub in module.modules():
        for attr, value in list(vars(sub).items()):
            if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter) and value.device.type != "meta":
                setattr(sub, attr, torch.empty_like(value, device="meta"))
    return module


def _with_batch(args: tuple[Any, ...], batch: int | None) -> tuple[Any, ...]:
    if batch is None:
        return args
    return tuple(torch.empty([batch, *a.shape[1:]], dtype=a.dtype, device="meta")
                 if isinstance(a, torch.Tensor) and a.dim() > 0 else a for a in args)


def _dry_run(label: str, module: nn.Module, args: tuple[Any, ...]) -> None:
    """One forward on meta, so inputs the model cannot take fail here with one line (and a
    forward that needs tensor values says what to do instead)."""
    try:
        with torch.no_grad():
            module(*args)
    except Exception as exc:  # noqa: BLE001 - any failure means these inputs do not fit the model
        shapes = ", ".join(format_shape(list(a.shape)) for a in args if isinstance(a, torch.Tensor))
        raise InputError(explain_run_failure(label, exc, shapes)) from None


def _shape_and_batch(input_shape: str | list[int] | None, batch: int | None) -> list[int] | None:
    if input_shape is None:
        return None
    shape = parse_shape(input_shape)
    if batch is not None and shape[0] != batch:
        raise InputError(f"input shape '{format_shape(shape)}' has batch {shape[0]} but --batch is {batch}")
    return shape


def load_callable(target: str, workload: Workload) -> ModelSpec:
    """Import ``package.module:callable`` (the current directory is importable), call it on
    meta, and wrap what it returns: a (module, inputs) pair, or a bare module whose inputs
    come from ``--input-shape`` or, for Hugging Face and timm models, from their config."""
    module_name, _, attr_path = target.partition(":")
    if not module_name or not attr_path:
        raise InputError(f"malformed model '{target}': expected package.module:callable")
    try:
        with cwd_importable():
            obj: Any = importlib.import_module(module_name)
        for part in attr_path.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - import errors of user code are input errors
        raise InputError(f"cannot import '{target}': {_first_line(exc)} (run advisor from the directory that "
                         "holds the module, or put it on PYTHONPATH)") from None
    if not callable(obj):
        raise InputError(f"'{target}' is not callable")
    try:
        with on_meta():
            result = obj()
    except Exception as exc:  # noqa: BLE001 - the callable is user code
        raise InputError(f"'{target}' raised {_first_line(exc)}") from None
    example: tuple[Any, ...] | None = None
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        result, inputs = result
        example = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not isinstance(result, nn.Module):
        raise InputError(f"'{target}' returned {type(result).__name__}, not a torch.nn.Module or (module, inputs)")
    module = _module_to_meta(result).eval()
    input_shape, batch = workload.input_shape, workload.batch
    if example is None and input_shape is None and is_hf_model(module):
        from advisor.models.hf_source import spec_from_hf_module

        return spec_from_hf_module(module, workload, name=target)
    if workload.phase is not None or workload.seq_len is not None or workload.context is not None:
        raise InputError(f"--phase/--seq-len/--context apply to language models (zoo LLMs, Hugging Face models), "
                         f"not {target}")
    shape = _shape_and_batch(input_shape, batch)
    if shape is None and example is None:
        shape = timm_input_shape(module, batch)
    if shape is not None:
        first_dtype = example[0].dtype if example and isinstance(example[0], torch.Tensor) else torch.float32
        rest = _to_meta(example[1:]) if example else ()
        args: tuple[Any, ...] = (torch.empty(shape, dtype=first_dtype, device="meta"), *rest)
    elif example is not None:
        args = _with_batch(_to_meta(example), batch)
    else:
        raise InputError(f"'{target}' returned a module without example inputs: pass --input-shape, e.g. "
                         "1x3x224x224, or return (model, example_inputs)")
    _dry_run(target, module, args)
    first = args[0] if args and isinstance(args[0], torch.Tensor) else None
    shown = list(first.shape) if first is not None else []
    return ModelSpec(name=target, module=module, args=args, input_shape=shown, batch=shown[0] if shown else 1)


def _is_pt2_archive(path: Path) -> bool:
    """A .pt2 archive is a zip whose top folder holds ``archive_format`` = 'pt2'. Checked up
    front because torch.export.load logs a full traceback before raising on other files."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        formats = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/archive_format")]
        return any(archive.read(n).strip() == b"pt2" for n in formats)


def load_exported(path: Path, *, input_shape: str | list[int] | None, batch: int | None) -> ModelSpec:
    """Load a ``torch.export`` program (.pt2) and run its module on meta tensors."""
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    if not _is_pt2_archive(path):
        raise InputError(f"{path}: not a torch.export .pt2 archive (save one with torch.export.save)")
    try:
        with logger_level("torch.export", logging.CRITICAL):  # it logs a traceback, then raises
            program = torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a usable program
        missing = unregistered_ops(path)
        if missing:
            raise InputError(
                f"{path}: uses operator(s) {', '.join(missing)} that are not registered in this process: import "
                "the library that defines them first (a callable that imports it and returns "
                "torch.export.load(path).module() with example inputs)") from None
        raise InputError(f"{path}: not a torch.export program ({_first_line(exc)})") from None
    from torch.export.graph_signature import InputKind

    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    user_inputs = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind == InputKind.USER_INPUT]
    args = []
    for name in user_inputs:
        val = placeholders[name].meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise InputError(f"{path}: input '{name}' is not a tensor; only tensor inputs are supported")
        args.append(torch.empty([int(d) for d in val.shape], dtype=val.dtype, device="meta"))
    shape = _shape_and_batch(input_shape, batch)
    if shape is not None:
        if not args:
            raise InputError(f"{path}: the program takes no tensor inputs, --input-shape does not apply")
        args[0] = torch.empty(shape, dtype=args[0].dtype, device="meta")
    args_t = _with_batch(tuple(args), batch if shape is None else None)
    # An exported program's module is already in inference form (its eval() is refused).
    module = _module_to_meta(program.module())
    _dry_run(str(path), module, args_t)
    shown = list(args_t[0].shape) if args_t else []
    return ModelSpec(name=path.name, module=module, args=args_t, input_shape=shown, batch=shown[0] if shown else 1)
