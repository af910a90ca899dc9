"""The read-only Store over a current SQLite file, with the standard library only.

Why: `advisor hardware list` and a cached `advisor recommend` must answer in well under
half a second, and importing SQLAlchemy, SQLModel and Alembic alone takes longer than
that on a small machine. When the database is a SQLite file already at the head revision
and holding the current seed, this store reads it with sqlite3, running the same SQL as
Database (advisor.db.store.StoreReads). Writing a profile to the cache (after a model was
counted, which imported torch anyway) opens the real Database for that one write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from advisor.db.locations import HEAD_REVISION, display_location, seed_fingerprint, sqlite_file
from advisor.db.store import SEED_STATE_NAME, Row, SqlValue, StoreReads, WritableStore


class SqliteStore(StoreReads):
    """Reads an up-to-date SQLite database; see the module doc."""

    def __init__(self, url: str, connection: sqlite3.Connection) -> None:
        self.url = url
        self._conn = connection
        self._cache_writer: WritableStore | None = None

    @classmethod
    def try_open(cls, url: str) -> SqliteStore | None:
        """A store when ``url`` is a SQLite file that exists and is current; None when
        Database must migrate or seed it first (or it is another backend)."""
        file = sqlite_file(url)
        if file is None or not file.is_file() or "?" in url:
            return None
        try:
            conn = sqlite3.connect(str(file), timeout=30)
            conn.row_factory = sqlite3.Row
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            state = conn.execute("SELECT fingerprint FROM seed_state WHERE name = ?", (SEED_STATE_NAME,)).fetchone()
        except sqlite3.Error:
            return None
        if revision is None or revision[0] != HEAD_REVISION or state is None or state[0] != seed_fingerprint():
            conn.close()
            return None
        return cls(url, conn)

    @property
    def location(self) -> str:
        return display_location(self.url)

    def _rows(self, sql: str, params: Mapping[str, SqlValue] | None = None) -> Sequence[Row]:
        return self._conn.execute(sql, dict(params or {})).fetchall()

    def _writer(self) -> WritableStore:
        """Database at the same URL, opened on the first write (the one writer of every row)."""
        if self._cache_writer is None:
            from advisor.db.database import Database

            self._cache_writer = Database.open(self.url)
        return self._cache_writer

    def put_cached_profile(self, key: str, payload: str) -> None:
        """Cache a Profile through Database (the one writer of the table's rows)."""
        self._writer().put_cached_profile(key, payload)

    def put_sensitivity_report(self, weights_sha256: str, model: str, method: str, payload: str) -> None:
        """Store a sensitivity report through Database (the one writer of the table's rows)."""
        self._writer().put_sensitivity_report(weights_sha256, model, method, payload)

    def close(self) -> None:
        self._conn.close()
        if self._cache_writer is not None:
            self._cache_writer.close()
            self._cache_writer = None

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
