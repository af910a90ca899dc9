"""Shared fixtures: a throw-away advisor database for every test that needs one.

    def test_something(isolated_db):          # isolated_db is the URL; $ADVISOR_DB points at it
        db = Database.open()                  # (or Database.open(isolated_db))
        ...

    def test_other(db):                        # an opened, migrated, seeded Database
        assert db.get_platform("h200")

- ``isolated_db``: URL of a fresh, migrated and seeded database, with ``ADVISOR_DB`` set to
  it for the test (so CLI subprocesses started with os.environ use it too). Runs once on
  SQLite (a temp file) and, when ``ADVISOR_TEST_POSTGRES_URL`` is set (as .ci/run does),
  once more on PostgreSQL, in a database of its own that is dropped afterwards.
- ``db``: ``Database.open(isolated_db)``, closed after the test.
- ``empty_db_url``: like isolated_db but not migrated (for migration tests).
- ``sqlite_db_url``: SQLite only, migrated and seeded (WAL, file-level tests, and the slow
  CLI-output tests whose subject is not the database: running those a second time on
  PostgreSQL doubled their minutes without exercising anything the store, service, migration
  and bad-input tests on PostgreSQL do not).

The seeded databases are built once per test session (per xdist worker) and copied per
test: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL (~0.25 s against
~1 s for migrating and seeding a fresh schema), so the fixture costs a copy, not a migration.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_ENV = "ADVISOR_TEST_POSTGRES_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(POSTGRES_ENV) else [])


def _postgres_base() -> str:
    from advisor.db.locations import resolve_url

    return resolve_url(os.environ[POSTGRES_ENV])  # postgresql:// -> postgresql+psycopg://


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _psycopg_dsn(url: str) -> str:
    """psycopg wants postgresql://, SQLAlchemy URLs say postgresql+psycopg://."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin(base_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    import psycopg

    with psycopg.connect(_psycopg_dsn(base_url), autocommit=True) as conn:
        conn.execute(statement)


def _new_pg_schema(base_url: str) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _admin(base_url, f'CREATE SCHEMA "{schema}"')
    return schema, _with_search_path(base_url, schema)


def _drop_pg_schema(base_url: str, schema: str) -> None:
    _admin(base_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def _postgres_schema_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a fresh PostgreSQL schema of its own, ADVISOR_DB pointing at it; dropped afterwards."""
    base = _postgres_base()
    schema, url = _new_pg_schema(base)
    monkeypatch.setenv("ADVISOR_DB", url)
    try:
        yield url
    finally:
        _drop_pg_schema(base, schema)


def _database_url(base_url: str, name: str) -> str:
    """``base_url`` pointing at database ``name`` on the same server."""
    from sqlalchemy.engine import make_url

    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _seeded_postgres_template() -> Iterator[str]:
    """Name of a migrated + seeded PostgreSQL database that tests clone (one per xdist worker;
    no connection is left open to it, as CREATE DATABASE ... TEMPLATE requires)."""
    from advisor.db import Database

    base = _postgres_base()
    name = f"tmpl_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    _admin(base, f'CREATE DATABASE "{name}"')
    try:
        Database.open(_database_url(base, name)).close()
        yield name
    finally:
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _postgres_database_url(template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a fresh PostgreSQL database cloned from ``template``, ADVISOR_DB pointing at it;
    dropped afterwards (WITH (FORCE): a server test may leave a pooled connection behind)."""
    base = _postgres_base()
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(base, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = _database_url(base, name)
    monkeypatch.setenv("ADVISOR_DB", url)
    try:
        yield url
    finally:
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _seeded_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from advisor.db import Database

    path = tmp_path_factory.mktemp("advisor-db-template") / "template.db"
    db = Database.open(f"sqlite:///{path}")
    db.close()
    return path


def _copy_sqlite(template: Path, dest: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{template}{suffix}")
        if src.exists():
            shutil.copyfile(src, f"{dest}{suffix}")


@pytest.fixture(params=BACKENDS)
def isolated_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a fresh migrated + seeded database; ADVISOR_DB points at it."""
    if request.param == "sqlite":
        path = tmp_path / "advisor.db"
        _copy_sqlite(request.getfixturevalue("_seeded_sqlite_template"), path)
        url = f"sqlite:///{path}"
        monkeypatch.setenv("ADVISOR_DB", url)
        yield url
        return
    with _postgres_database_url(request.getfixturevalue("_seeded_postgres_template"), monkeypatch) as url:
        yield url


@pytest.fixture
def db(isolated_db: str):
    from advisor.db import Database

    database = Database.open(isolated_db)
    yield database
    database.close()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of an empty database (no tables yet); ADVISOR_DB points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        monkeypatch.setenv("ADVISOR_DB", url)
        yield url
        return
    with _postgres_schema_url(monkeypatch) as url:
        yield url


@pytest.fixture
def sqlite_db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _seeded_sqlite_template: Path) -> str:
    """SQLite only: URL of a migrated + seeded database file; ADVISOR_DB points at it."""
    path = tmp_path / "advisor.db"
    _copy_sqlite(_seeded_sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("ADVISOR_DB", url)
    return url
