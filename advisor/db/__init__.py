"""Hardware and framework database: `from advisor.db import Database`.

The import is lazy so that the CLI's fast read path does not pull in SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.db.database import Database


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute
    if name == "Database":
        from advisor.db.database import Database

        return Database
    raise AttributeError(f"module 'advisor.db' has no attribute {name!r}")


__all__ = ["Database"]
