"""Parsing and resolving ``--input-shape`` / ``--batch`` against a model's default shape.

Format: dimensions joined by ``x`` (``1x3x640x640``). A shape may omit the batch
dimension (``3x640x640``): it is then taken from ``--batch`` (default 1). A full shape whose
first dimension disagrees with ``--batch`` is an error rather than a silent override.
"""

from __future__ import annotations

from advisor.errors import InputError

MAX_DIMS = 8


def format_shape(shape: list[int]) -> str:
    """[1, 3, 640, 640] -> '1x3x640x640'."""
    return "x".join(str(d) for d in shape)


def parse_shape(value: str | list[int]) -> list[int]:
    """'1x3x640x640' (or a list of ints) -> [1, 3, 640, 640]; InputError naming the value if malformed."""
    if isinstance(value, str):
        parts = value.strip().lower().split("x")
        if not value.strip() or any(not p.strip().isdigit() for p in parts):
            raise InputError(
                f"malformed input shape '{value}': expected positive integers joined by 'x', e.g. 1x3x640x640"
            )
        dims = [int(p) for p in parts]
    else:
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in value):
            raise InputError(f"malformed input shape {value!r}: expected a list of positive integers")
        dims = list(value)
    if not dims or len(dims) > MAX_DIMS or any(d <= 0 for d in dims):
        raise InputError(f"malformed input shape '{value if isinstance(value, str) else format_shape(dims)}': "
                         f"expected 1 to {MAX_DIMS} positive dimensions")
    return dims


def resolve_shape(name: str, default: list[int], input_shape: str | list[int] | None, batch: int | None) -> list[int]:
    """The input shape to profile: ``default`` (batch first) overridden by shape and batch.

    ``input_shape`` may have the same rank as ``default`` (batch included) or one less
    (batch taken from ``batch``, else 1).
    """
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise InputError(f"invalid batch {batch!r}: expected a positive integer")
    if input_shape is None:
        return [batch or default[0], *default[1:]]
    dims = parse_shape(input_shape)
    rank = len(default)
    if len(dims) == rank - 1:
        return [batch or 1, *dims]
    if len(dims) != rank:
        raise InputError(
            f"input shape '{format_shape(dims)}' for {name}: expected {rank} dimensions like "
            f"{format_shape(default)} (or {rank - 1} without the batch)"
        )
    if batch is not None and batch != dims[0]:
        raise InputError(f"input shape '{format_shape(dims)}' has batch {dims[0]} but --batch is {batch}")
    return dims
