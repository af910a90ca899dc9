"""SQLAlchemy engines for any URL, with SQLite set up for several processes at once.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and write
transactions start with BEGIN IMMEDIATE: a deferred transaction that reads first and
then writes can fail at once with "database is locked" when another process committed
in between, and the busy timeout does not help there. Taking the write lock up front
makes concurrent writers queue instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text

from advisor.db.locations import sqlite_file

BUSY_TIMEOUT_MS = 30_000
#: execution option that marks an engine (or connection) as one that writes
WRITE_OPTION = "advisor_write"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the file's folder is created if missing."""
    if url.startswith("sqlite"):
        file = sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine, wal=file is not None)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) with write transactions marked, see module doc."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextlib.contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations and seed refreshes across processes.

    SQLite: an exclusive flock on '<file>.lock' next to the database. PostgreSQL: a
    session advisory lock. Other backends and in-memory SQLite: none (one process)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        file = sqlite_file(str(engine.url))
        if file is None:
            yield
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            yield
            return
        lock_path = Path(f"{file}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    if dialect == "postgresql":
        key = 0x61647669  # "advi"
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    yield
