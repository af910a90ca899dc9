"""Comma-separated lists given on the command line (``--frameworks a,b``, ``--target t4,a100``).

Why here: recommend and plan parse the same options and rank alike, so neither may import the
other (tests/test_layering.py); each kept its own copy of the splitter until this bottom helper.
"""

from __future__ import annotations

from collections.abc import Iterable

from advisor.errors import InputError


def comma_list(values: Iterable[str]) -> list[str]:
    """``["a,b", " c "]`` -> ``["a", "b", "c"]``: every value split at commas, blanks dropped,
    order kept (an option given several times, each time a list)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def split_names(what: str, value: str | None) -> list[str] | None:
    """The names of a comma-separated option value; None when the option was not given.
    A value with no name in it is an InputError "<what> '<value>': give comma-separated names"."""
    if value is None:
        return None
    names = comma_list([value])
    if not names:
        raise InputError(f"{what} '{value}': give comma-separated names")
    return names
