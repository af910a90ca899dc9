"""Errors that the CLI and the service turn into exit codes and HTTP statuses.

Only these two are part of the contract: everything a user typed or supplied that is wrong
is an ``InputError`` (exit 2, one line on stderr naming the file, field or value), and an
unmet gate or constraint is a ``ConstraintNotMet`` (exit 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InputError(Exception):
    """Bad input: unknown model/target/framework/precision, invalid YAML, bad shape... (exit 2)."""

    exit_code = 2


class ConstraintNotMet(Exception):
    """A gate requirement or a recommend constraint could not be met (exit 1)."""

    exit_code = 1


def unknown_name(kind: str, value: str, valid: Iterable[str]) -> InputError:
    """An InputError for an unknown name that suggests the nearest valid ones."""
    valid = sorted(set(valid))
    near = difflib.get_close_matches(value, valid, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return InputError(f"unknown {kind} '{value}'{hint} (valid: {', '.join(valid[:12])}{', ...' if len(valid) > 12 else ''})")
