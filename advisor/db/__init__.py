"""The store: platforms, frameworks, calibrations, cached profiles.

Stages read and write through `advisor.db.store.Store` / `open_store` (store.py); the
SQLModel implementation is `Database` (database.py), the standard-library read-only one
`SqliteStore` (sqlite_store.py). `from advisor.db import Database` stays lazy so that the
CLI's fast read path does not pull in SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.db.database import Database


def __getattr__(name: str) -> type[Database]:
    if name == "Database":
        from advisor.db.database import Database

        return Database
    raise AttributeError(f"module 'advisor.db' has no attribute {name!r}")


__all__ = ["Database"]
