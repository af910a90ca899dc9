"""JSON output that is JSON: every number finite, or one line naming the field.

Why: ``json.dumps`` writes NaN and Infinity by default, which no JSON parser downstream
accepts (a pipeline reading `advisor recommend --format json` breaks far from the cause).
Schema ranges keep stored figures from producing them (advisor.domain.specs); this is
the guard on the way out for the CLI's json output and, through
``first_non_finite_in_json``, for the service's answers (advisor.service.guards.FiniteAnswers).
"""

from __future__ import annotations

import json
import math
from typing import Any

from advisor.errors import InputError


def first_non_finite(data: Any, path: str = "") -> tuple[str, float] | None:  # noqa: ANN401 - any JSON data
    """(dotted path, value) of the first NaN or infinite float in ``data``, else None."""
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return where or "(top level)", value
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None


def check_finite(data: Any, what: str) -> None:  # noqa: ANN401
    """Raise InputError naming the field when ``data`` holds NaN or Infinity."""
    found = first_non_finite(data)
    if found is not None:
        where, value = found
        raise InputError(f"{what}: {where} is {value}, not a finite number; a stored platform, framework "
                         "or calibration figure is out of range (check it with `advisor hardware show`)")


def dumps(data: Any, what: str = "result", **kwargs: Any) -> str:  # noqa: ANN401
    """``json.dumps`` that refuses NaN/Infinity with one line naming the field."""
    try:
        return json.dumps(data, allow_nan=False, **kwargs)
    except ValueError:
        check_finite(data, what)
        raise


def first_non_finite_in_json(text: str | bytes) -> tuple[str, float] | None:
    """(dotted path, value) of the first NaN or infinite number in JSON ``text`` written
    elsewhere (the service's answers), else None; ValueError when ``text`` is not JSON.

    The letters are searched first, the fast path (answers almost never hold them); a hit
    is confirmed by parsing, since a platform may well be named "NaN board"."""
    if isinstance(text, bytes):
        letters = b"NaN" in text or b"Infinity" in text
    else:
        letters = "NaN" in text or "Infinity" in text
    if not letters:
        return None
    return first_non_finite(json.loads(text))
