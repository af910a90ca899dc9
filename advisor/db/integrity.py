"""A damaged SQLite database: recognised, named in one line, and never written to.

Why: a truncated or garbage database file gave a ~140-line SQLAlchemy traceback on every
command (and `advisor serve` died with exit 3), and with garbage in the middle of the
file `hardware add` still wrote to it (issue 14). Now:

- `corruption_problem(exc)` recognises SQLite's own corruption errors wherever they
  surface (through SQLAlchemy or sqlite3), so the CLI and the service turn them into one
  line with the path and what to do;
- `check_intact(...)` runs ``PRAGMA quick_check`` (about 1 ms on the seeded database:
  it checks the B-tree pages, not index contents) before the first write of a store, so
  a damaged file is not written to.

Standard library only.
"""

from __future__ import annotations

import sqlite3

from advisor.errors import InputError

#: SQLite's messages for a file that is not (or no longer) a well-formed database.
_CORRUPTION_MARKERS = (
    "file is not a database",
    "database disk image is malformed",
    "malformed database schema",
    "file is encrypted or is not a database",
    "database corruption",
)


class CorruptDatabase(InputError):
    """The database file is damaged (exit 2, one line: the path and what to do)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(corrupt_message(location, problem))
        self.location = location
        self.problem = problem


def corrupt_message(location: str, problem: str) -> str:
    lines = [line.strip() for line in problem.strip().splitlines() if line.strip() and not line.strip().startswith("***")]
    detail = "; ".join(lines[:2])[:100] or "damaged"
    return (f"the database at {location} is damaged ({detail}); nothing was changed. Move the file aside "
            "and rerun to build a fresh one from the seed data (platforms you added must be added again), "
            "or restore it from a backup")


def corruption_problem(exc: BaseException) -> str | None:
    """SQLite's corruption message when ``exc`` (or what it wraps) is one, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.DatabaseError):
            text = str(current)
            if any(marker in text.lower() for marker in _CORRUPTION_MARKERS):
                return text.strip().splitlines()[0] if text.strip() else "damaged"
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return None


def quick_check_result(rows: list[tuple[object, ...]]) -> str | None:
    """None when ``PRAGMA quick_check`` answered ok, else its first finding."""
    if len(rows) == 1 and str(rows[0][0]).lower() == "ok":
        return None
    return str(rows[0][0]) if rows else "quick_check returned nothing"


def check_file(path: str) -> None:
    """Raise CorruptDatabase when the SQLite file at ``path`` is damaged. Reads only."""
    try:
        conn = sqlite3.connect(path, timeout=30)  # the caller checked that the file exists
    except sqlite3.Error as exc:
        problem = corruption_problem(exc)
        if problem:
            raise CorruptDatabase(path, problem) from None
        raise
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        problem = corruption_problem(exc)
        if problem is None:
            raise
        raise CorruptDatabase(path, problem) from None
    finally:
        conn.close()
    problem = quick_check_result(rows)
    if problem is not None:
        raise CorruptDatabase(path, problem)
