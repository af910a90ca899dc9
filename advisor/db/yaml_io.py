"""Reading and writing platform and framework YAML.

One job: turn a file into validated specs (or one InputError line naming the file, the
field and the value) and specs back into YAML that reads in again to the same bytes.
Used by the seed loader, `advisor hardware add` and `advisor hardware export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from advisor.domain.specs import FrameworkSpec, PlatformSpec
from advisor.errors import InputError
from advisor.precision import PRECISIONS
from advisor.safe_input import read_yaml_file

#: Larger files are refused before parsing: a platform file is a few kB.
MAX_FILE_BYTES = 1_000_000

SpecT = TypeVar("SpecT", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file through the bounded reader (advisor.safe_input: regular files
    only, at most MAX_FILE_BYTES read, no aliases, bounded nesting and integers, no
    duplicate keys), refusing an empty file."""
    data = read_yaml_file(path, MAX_FILE_BYTES, what="YAML file")
    if data is None:
        raise InputError(f"{path}: file is empty (expected a mapping with id, name, ...)")
    return data


def _one_line(value: Any, limit: int = 60) -> str:
    text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_message(path: Path | str, error: ValidationError, prefix: str = "") -> str:
    """The first pydantic error as one line: file, dotted field path, problem, value."""
    first = error.errors(include_url=False)[0]
    parts = [str(part) for part in (prefix, *first["loc"]) if part != ""]
    kind = first["type"]
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if parts and parts[-1] == "[key]":  # a dict key failed: peak tables are keyed by precision
        parts.pop()
        msg = f"unknown precision name '{first['input']}' (valid: {', '.join(PRECISIONS)})"
        kind = "value_error"
    loc = ".".join(parts)
    where = f"field {loc}: " if loc else ("field " if kind == "value_error" else "")
    more = error.error_count() - 1
    tail = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    if kind == "missing":
        return f"{path}: {where}required field is missing{tail}"
    if kind == "extra_forbidden":
        return f"{path}: {where}unknown field, not part of the schema (got {_one_line(first['input'])}){tail}"
    scalar = not isinstance(first["input"], (dict, list))
    named = kind == "value_error" and ("got" in msg or f"'{first['input']}'" in msg)
    value = f" (got {_one_line(first['input'])})" if scalar and not named else ""
    return f"{path}: {where}{msg}{value}{tail}"


def _validate(model: type[SpecT], data: Any, path: Path | str, prefix: str = "") -> SpecT:
    if not isinstance(data, dict):
        raise InputError(f"{path}: {prefix + ': ' if prefix else ''}expected a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(path, exc, prefix)) from None


def _load_specs(model: type[SpecT], path: Path) -> list[SpecT]:
    """A file holds one spec (a mapping) or several (a list of mappings)."""
    data = read_yaml(path)
    if isinstance(data, list):
        if not data:
            raise InputError(f"{path}: file holds an empty list")
        return [_validate(model, item, path, prefix=f"[{i}]") for i, item in enumerate(data)]
    return [_validate(model, data, path)]


def load_platform_file(path: Path) -> list[PlatformSpec]:
    return _load_specs(PlatformSpec, path)


def load_framework_file(path: Path) -> list[FrameworkSpec]:
    return _load_specs(FrameworkSpec, path)


def spec_to_data(spec: BaseModel) -> dict[str, Any]:
    """The plain-data form that YAML, JSON and the database store: defaults left out so a
    file holds only what someone wrote, in the model's field order."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: model field order, block style, no aliases."""

    class _NoAliasDumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - PyYAML's signature
            return True

    return yaml.dump(
        data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
