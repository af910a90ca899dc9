"""Where things are: the database URL, the migrations and the seed YAML.

Standard library and platformdirs only, so the fast read path of the CLI can use it
without importing SQLAlchemy or Alembic.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from advisor.settings import ENV_DB, database_url

#: The newest migration in migrations/versions/. Database.open compares the database's
#: alembic_version with this string and imports Alembic only when they differ;
#: tests/test_db_migrations.py checks that it matches Alembic's own head.
HEAD_REVISION = "0008_corrections_per_kind"

ENV_URL = ENV_DB
APP_NAME = "advisor"

#: The repository root: migrations/ and hardware_db/ sit next to the advisor package,
#: both in a fresh clone and in an editable install.
REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "migrations"
SEED_DIR = REPO_ROOT / "hardware_db"


def default_sqlite_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "advisor.db"


def resolve_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $ADVISOR_DB, else a SQLite file in the user's
    data directory. A bare path (no '://') is taken as a SQLite file; postgresql:// means
    postgresql+psycopg://."""
    url = url or database_url() or ""
    if not url:
        return f"sqlite:///{default_sqlite_path()}"
    if "://" not in url and not url.startswith("sqlite:"):
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):  # the installed driver is psycopg 3, not SQLAlchemy's default psycopg2
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file behind a sqlite:/// URL; None for other backends and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    if path in ("", ":memory:"):
        return None
    return Path(path)


def display_location(url: str) -> str:
    """What `advisor db path` prints: the file for SQLite, the URL (password hidden) else."""
    file = sqlite_file(url)
    if file is not None:
        return str(file)
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url


def seed_files(seed_dir: Path = SEED_DIR) -> list[Path]:
    """The seed YAML files in a stable order: platforms, then frameworks."""
    files: list[Path] = []
    for sub in ("platforms", "frameworks"):
        files.extend(sorted((seed_dir / sub).glob("*.yaml")))
    return files


def seed_fingerprint(seed_dir: Path = SEED_DIR) -> str:
    """SHA-256 over the seed files' names and bytes and the schema head: changes whenever
    a seed file or the schema does, so first use knows to refresh the seed rows."""
    digest = hashlib.sha256(HEAD_REVISION.encode())
    for file in seed_files(seed_dir):
        digest.update(f"{file.parent.name}/{file.name}\0".encode())
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
