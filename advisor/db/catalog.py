"""Read-only views of the platforms and frameworks for the CLI, as plain data.

`advisor hardware list` must start in well under half a second, and importing SQLAlchemy,
SQLModel and Alembic alone takes longer than that on a small machine. So when the
database is a SQLite file that is already at the head revision and holds the current
seed, the CLI reads it with the standard library's sqlite3 (same columns, same
row-to-data mapping as the Database class: advisor.db.records). In every other case -
PostgreSQL, a missing or older file, changed seed YAML - it goes through Database.open,
which migrates and seeds first. tests/test_db_catalog.py checks that both paths return
identical data.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol

from advisor.db.locations import HEAD_REVISION, resolve_url, seed_fingerprint, sqlite_file
from advisor.db.records import (
    FRAMEWORK_FIELDS,
    PLATFORM_FIELDS,
    framework_data,
    platform_data,
)

SEED_STATE_NAME = "hardware_db"


class Catalog(Protocol):
    """What the read-only CLI commands need."""

    def platforms(self) -> list[dict[str, Any]]: ...  # full spec data, sorted by id, with "origin"
    def frameworks(self) -> list[dict[str, Any]]: ...


class SqliteCatalog:
    """Reads an up-to-date SQLite database with the standard library only."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @classmethod
    def try_open(cls, url: str) -> "SqliteCatalog | None":
        """A catalog when the file exists and is current; None when the slow path must
        migrate or seed it first."""
        file = sqlite_file(url)
        if file is None or not file.is_file() or "?" in url:
            return None
        try:
            conn = sqlite3.connect(str(file), timeout=30)
            conn.row_factory = sqlite3.Row
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if revision is None or revision[0] != HEAD_REVISION:
                conn.close()
                return None
            state = conn.execute("SELECT fingerprint FROM seed_state WHERE name = ?", (SEED_STATE_NAME,)).fetchone()
            if state is None or state[0] != seed_fingerprint():
                conn.close()
                return None
        except sqlite3.Error:
            return None
        return cls(conn)

    def _rows(self, table: str, fields: tuple[str, ...]) -> list[sqlite3.Row]:
        columns = ", ".join(fields + ("origin",))
        return self._conn.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()  # noqa: S608 - fixed names

    def platforms(self) -> list[dict[str, Any]]:
        return [_with_defaults_platform(platform_data(r, decode=True)) | {"origin": r["origin"]} for r in self._rows("platforms", PLATFORM_FIELDS)]

    def frameworks(self) -> list[dict[str, Any]]:
        return [_with_defaults_framework(framework_data(r, decode=True)) | {"origin": r["origin"]} for r in self._rows("frameworks", FRAMEWORK_FIELDS)]


class DatabaseCatalog:
    """The general path: any backend, through Database (migrates and seeds on open)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def _open(self):  # noqa: ANN202 - Database imported lazily
        from advisor.db.database import Database

        return Database.open(self._url)

    def platforms(self) -> list[dict[str, Any]]:
        with self._open() as db:
            origins = db.platform_origins()
            return [p.model_dump(mode="json") | {"origin": origins[p.id]} for p in db.list_platforms()]

    def frameworks(self) -> list[dict[str, Any]]:
        with self._open() as db:
            origins = db.framework_origins()
            return [f.model_dump(mode="json") | {"origin": origins[f.id]} for f in db.list_frameworks()]


def _with_defaults_platform(data: dict[str, Any]) -> dict[str, Any]:
    """Stored rows hold the full model dump; NULL JSON columns added by a migration read
    back as absent, so restore the model defaults for them."""
    for name in ("npu_peaks", "sparse_headline"):
        data.setdefault(name, {})
    for name in ("power_w", "compute_capability", "notes"):
        data.setdefault(name, None)
    return {name: data[name] for name in PLATFORM_FIELDS}


def _with_defaults_framework(data: dict[str, Any]) -> dict[str, Any]:
    data.setdefault("notes", None)
    return {name: data[name] for name in FRAMEWORK_FIELDS}


def open_catalog(url: str | None = None) -> Catalog:
    resolved = resolve_url(url)
    fast = SqliteCatalog.try_open(resolved)
    return fast if fast is not None else DatabaseCatalog(resolved)
