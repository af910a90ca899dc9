"""Alembic, configured from code: migrations/ holds env.py and versions/, and there is
no alembic.ini at the top level (design.md fixes the top-level layout).

Alembic is imported only inside these functions: Database.open checks the stored
revision with one query and calls in here only when the schema is behind.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from advisor.db.locations import HEAD_REVISION, MIGRATIONS_DIR


def alembic_config(engine: Engine, connection=None):  # noqa: ANN001,ANN201 - alembic types imported lazily
    from alembic.config import Config

    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise RuntimeError(f"advisor's migrations are missing: expected {MIGRATIONS_DIR}/env.py next to the advisor package")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_head(engine: Engine) -> str:
    """Alembic's own idea of the head revision (tests compare it with HEAD_REVISION)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision stored in the database; None for an empty database."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == HEAD_REVISION


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run migrations up to ``revision`` in one transaction (callers hold schema_lock). A database
    stamped with a revision this advisor does not know (written by a newer one) is refused in one
    line naming it, before Alembic fails on it."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from advisor.db.engine import writer
    from advisor.db.locations import display_location
    from advisor.errors import InputError

    stored = current_revision(engine)
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
    if stored is not None and stored not in known:
        raise InputError(f"database {display_location(engine.url.render_as_string(hide_password=False))} is at "
                         f"revision {stored!r}, which this advisor does not know (a newer advisor wrote it?); "
                         f"upgrade advisor or point $ADVISOR_DB at another database")
    with writer(engine).connect() as conn:
        with conn.begin():
            command.upgrade(alembic_config(engine, connection=conn), revision)
