"""The Database: one object every stage uses to read and write platforms, frameworks,
calibrations, cached profiles and validation results.

Database.open migrates an empty or older database to head and (re)loads the seed YAML
from hardware_db/ when it changed, under a cross-process lock, so the first use of a
fresh install "just works" and eight processes starting at once do not trip over each
other. Every write is one transaction; a bad input raises InputError before anything is
written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from advisor.db import migrate
from advisor.db.engine import make_engine, schema_lock, writer
from advisor.db.integrity import CorruptDatabase, check_file, corruption_problem
from advisor.db.locations import ENV_URL, SEED_DIR, display_location, resolve_url, seed_fingerprint, seed_files, sqlite_file
from advisor.db.records import framework_columns, platform_columns
from advisor.db.store import SEED_STATE_NAME, DuplicateIdError, Row, SqlValue, StoreReads, profile_key_hash
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.db.tables import (
    ORIGIN_SEED,
    ORIGIN_USER,
    CalibrationRow,
    FrameworkRow,
    PlatformRow,
    ProfileCacheRow,
    SeedStateRow,
    SensitivityReportRow,
    ValidationResultRow,
    utcnow,
)
from advisor.errors import InputError, unknown_name

VALIDATION_COLUMNS = ("model", "batch", "precision", "framework", "target", "predicted_ms", "measured_ms")


class Database(StoreReads):
    """Access to the advisor database at one URL. Create with Database.open()."""

    def __init__(self, url: str, engine: Engine, seed_dir: Path = SEED_DIR) -> None:
        self.url = url
        self.engine = engine
        self._writer = writer(engine)
        self.seed_dir = seed_dir

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, url: str | None = None, *, seed_dir: Path | None = None, migrate_schema: bool = True) -> "Database":
        """Open the database at ``url`` (default: $ADVISOR_DB, else a SQLite file in the
        user data dir), migrating it to head and refreshing the seed rows if needed."""
        resolved = resolve_url(url)
        _refuse_damaged_file(resolved)
        try:
            engine = make_engine(resolved)
        except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
            raise InputError(f"{ENV_URL}: invalid database URL '{display_location(resolved)}' ({_first_line(exc)})") from None
        db = cls(resolved, engine, seed_dir or SEED_DIR)
        if migrate_schema:
            try:
                db.ensure_ready()
            except DatabaseError as exc:
                engine.dispose()
                problem = corruption_problem(exc)
                if problem is not None:
                    raise CorruptDatabase(db.location, problem) from None
                if not isinstance(exc, OperationalError):
                    raise
                raise InputError(f"cannot open the database at {db.location}: {_first_line(exc.orig or exc)}") from None
        return db

    @property
    def location(self) -> str:
        """The file path for SQLite, the URL (password hidden) otherwise."""
        return display_location(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_ready(self) -> None:
        """Migrate to head and load the seed if either is out of date. Cheap when both
        are current: one query for the revision, one for the seed fingerprint."""
        fingerprint = seed_fingerprint(self.seed_dir)
        if migrate.is_current(self.engine) and self._stored_fingerprint() == fingerprint:
            return
        with schema_lock(self.engine):
            if not migrate.is_current(self.engine):
                migrate.upgrade(self.engine)
            if self._stored_fingerprint() != fingerprint:
                self.refresh_seed(fingerprint)

    def upgrade(self) -> None:
        """`advisor db upgrade`: migrate to head and re-apply the seed (user rows kept)."""
        with schema_lock(self.engine):
            migrate.upgrade(self.engine)
            self.refresh_seed(seed_fingerprint(self.seed_dir))

    def revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def _stored_fingerprint(self) -> str | None:
        if not migrate.is_current(self.engine):
            return None
        with Session(self.engine) as session:
            row = session.get(SeedStateRow, SEED_STATE_NAME)
            return row.fingerprint if row else None

    # ------------------------------------------------------------------ seed
    def load_seed(self) -> tuple[list[PlatformSpec], list[FrameworkSpec]]:
        """Parse and validate every seed file (InputError naming the file otherwise)."""
        from advisor.db.yaml_io import load_framework_file, load_platform_file

        platforms: list[PlatformSpec] = []
        frameworks: list[FrameworkSpec] = []
        for file in seed_files(self.seed_dir):
            if file.parent.name == "platforms":
                platforms.extend(load_platform_file(file))
            else:
                frameworks.extend(load_framework_file(file))
        _refuse_duplicates([p.id for p in platforms], "platform", self.seed_dir / "platforms")
        _refuse_duplicates([f.id for f in frameworks], "framework", self.seed_dir / "frameworks")
        return platforms, frameworks

    def refresh_seed(self, fingerprint: str | None = None) -> None:
        """Make the seed rows match hardware_db/: insert new ids, update seed rows, delete
        seed rows whose file is gone. Rows with origin 'user' are never touched, even
        when a seed file has the same id (the user's version wins)."""
        platforms, frameworks = self.load_seed()
        now = utcnow()
        with Session(self._writer) as session:
            _sync_seed(session, PlatformRow, {p.id: platform_columns(p.model_dump(mode="json")) for p in platforms}, now)
            _sync_seed(session, FrameworkRow, {f.id: framework_columns(f.model_dump(mode="json")) for f in frameworks}, now)
            state = session.get(SeedStateRow, SEED_STATE_NAME)
            value = fingerprint or seed_fingerprint(self.seed_dir)
            if state is None:
                session.add(SeedStateRow(name=SEED_STATE_NAME, fingerprint=value, applied_at=now))
            else:
                state.fingerprint, state.applied_at = value, now
            session.commit()

    # ------------------------------------------------------------------ reads (StoreReads)
    def _rows(self, sql: str, params: Mapping[str, SqlValue] | None = None) -> Sequence[Row]:
        with self.engine.connect() as conn:
            # SQLAlchemy's RowMapping is the Mapping[str, object] that StoreReads reads
            rows: Sequence[Row] = conn.execute(sql_text(sql), dict(params or {})).mappings().all()  # type: ignore[assignment]
            return rows

    # ------------------------------------------------------------------ platforms
    def platform_origin(self, platform_id: str) -> str | None:
        """'seed' or 'user' (None when there is no such platform)."""
        with Session(self.engine) as session:
            row = session.get(PlatformRow, platform_id)
            return row.origin if row else None

    def add_platforms(self, specs: list[PlatformSpec], replace: bool = False) -> None:
        """Add user platforms in one transaction: all of them or none. An id already in
        the database is an InputError unless ``replace``; so is an id twice in ``specs``."""
        self._add_user_rows("platform", PlatformRow, [(s.id, platform_columns(s.model_dump(mode="json"))) for s in specs],
                            replace)

    def _add_user_rows(self, kind: str, table: type, rows: list[tuple[str, dict]], replace: bool) -> None:
        """add_platforms / add_frameworks: ``rows`` are (id, columns), written in one transaction."""
        _refuse_duplicates([rid for rid, _ in rows], kind, None)
        now = utcnow()
        try:
            with Session(self._writer) as session:
                for rid, columns in rows:
                    row = session.get(table, rid)
                    if row is not None and not replace:
                        raise DuplicateIdError(kind, rid, f"{kind} '{rid}' already exists (origin: {row.origin}); use --replace to overwrite it")
                    _put(session, table, row, columns, ORIGIN_USER, now)
                session.commit()
        except IntegrityError:
            # PostgreSQL: another process inserted one of these ids between our check and insert.
            ids = ", ".join(rid for rid, _ in rows)
            raise DuplicateIdError(kind, rows[0][0], f"{kind} '{ids}' was added by someone else meanwhile; use --replace to overwrite it") from None

    def upsert_platform(self, spec: PlatformSpec) -> bool:
        """Insert or replace one platform as a user row; True when it was created.

        Decided inside the write transaction (BEGIN IMMEDIATE on SQLite), so of several
        writers racing to create one id exactly one sees it missing: the service's PUT
        answers 201 once. On PostgreSQL the loser of an insert race gets IntegrityError
        and replaces the winner's row instead."""
        columns = platform_columns(spec.model_dump(mode="json"))
        for attempt in range(2):
            try:
                with Session(self._writer) as session:
                    row = session.get(PlatformRow, spec.id)
                    _put(session, PlatformRow, row, columns, ORIGIN_USER, utcnow())
                    session.commit()
                    return row is None
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def remove_platform(self, platform_id: str) -> None:
        """Delete a platform. A removed seed platform comes back only when the seed data
        changes (or with `advisor db upgrade`)."""
        with Session(self._writer) as session:
            row = session.get(PlatformRow, platform_id)
            if row is None:
                session.rollback()
                raise unknown_name("platform", platform_id, self.platform_ids())
            session.delete(row)
            session.commit()

    # ------------------------------------------------------------------ frameworks
    def add_frameworks(self, specs: list[FrameworkSpec], replace: bool = False) -> None:
        """Add user frameworks in one transaction (same rules as add_platforms, including a
        PostgreSQL insert race reported as a duplicate id instead of a traceback)."""
        self._add_user_rows("framework", FrameworkRow, [(s.id, framework_columns(s.model_dump(mode="json"))) for s in specs],
                            replace)

    # ------------------------------------------------------------------ calibrations
    def add_calibration(self, rec: CalibrationSpec) -> None:
        self.record_calibration(None, [rec])

    def record_calibration(self, platform: PlatformSpec | None, records: list[CalibrationSpec]) -> None:
        """`advisor calibrate`'s write in one transaction: the platform (None: keep the
        stored one) and its calibration records. A kill between two separate writes used
        to leave a platform without its calibration, which recommend then used silently."""
        with Session(self._writer) as session:
            if platform is not None:
                row = session.get(PlatformRow, platform.id)
                _put(session, PlatformRow, row, platform_columns(platform.model_dump(mode="json")), ORIGIN_USER, utcnow())
            session.add_all([CalibrationRow(**rec.model_dump(mode="json")) for rec in records])
            session.commit()

    # ------------------------------------------------------------------ profile cache
    def put_cached_profile(self, key: str, payload: str) -> None:
        """Store (or overwrite) the JSON text of a Profile under the profiler's key."""
        digest = profile_key_hash(key)
        with Session(self._writer) as session:
            row = session.get(ProfileCacheRow, digest)
            if row is None:
                session.add(ProfileCacheRow(key_sha256=digest, key=key, payload=payload))
            else:
                row.key, row.payload, row.created_at = key, payload, utcnow()
            try:
                session.flush()
                self._evict_profiles(session)
                session.commit()
            except IntegrityError:  # another process cached the same key first: same content
                session.rollback()

    def _evict_profiles(self, session: Session) -> None:
        """Keep the newest ADVISOR_PROFILE_CACHE_ROWS profiles: every distinct model, batch
        and shape adds a row, and the service must not grow its database without bound."""
        from advisor.settings import profile_cache_rows

        every = "-1" if self.engine.dialect.name == "sqlite" else "ALL"
        session.execute(sql_text(
            "DELETE FROM profile_cache WHERE key_sha256 IN (SELECT key_sha256 FROM profile_cache "
            f"ORDER BY created_at DESC, key_sha256 DESC LIMIT {every} OFFSET :keep)"  # noqa: S608 - fixed text
        ), {"keep": profile_cache_rows()})

    # ------------------------------------------------------------------ sensitivity reports
    def put_sensitivity_report(self, weights_sha256: str, model: str, method: str, payload: str) -> None:
        """Store one `advisor sensitivity` report (JSON text); reads return the newest."""
        with Session(self._writer) as session:
            session.add(SensitivityReportRow(weights_sha256=weights_sha256, model=model, method=method,
                                             payload=payload))
            session.commit()

    # ------------------------------------------------------------------ validation results
    def add_validation_results(self, rows: list[dict]) -> None:
        """Store rows of `advisor validate` in one transaction. Each row needs model,
        batch, precision, framework, target, predicted_ms and measured_ms; ``error``
        defaults to (predicted - measured) / measured and ``created_at`` to now; any other
        keys are kept in ``details``."""
        records = [_validation_record(i, row) for i, row in enumerate(rows)]
        with Session(self._writer) as session:
            session.add_all(records)
            session.commit()

    def validation_results(self, target: str | None = None) -> list[dict[str, Any]]:
        query = select(ValidationResultRow).order_by(ValidationResultRow.id)
        if target is not None:
            query = query.where(ValidationResultRow.target == target)
        with Session(self.engine) as session:
            return [r.model_dump() for r in session.exec(query).scalars()]


# ---------------------------------------------------------------------- helpers
def _refuse_damaged_file(url: str) -> None:
    """An existing SQLite file is checked (PRAGMA quick_check, about 1 ms) before anything
    opens it for writing or migrating: a damaged file is named, never written to."""
    file = sqlite_file(url)
    if file is not None and file.is_file() and file.stat().st_size > 0:
        check_file(str(file))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refuse_duplicates(ids: Iterable[str], kind: str, where: Path | None) -> None:
    seen: set[str] = set()
    for spec_id in ids:
        if spec_id in seen:
            place = f"{where}: " if where else ""
            raise DuplicateIdError(kind, spec_id, f"{place}{kind} id '{spec_id}' is given twice")
        seen.add(spec_id)


def _put(session: Session, table: type, row: Any, columns: dict[str, Any], origin: str, now: datetime) -> None:
    """Insert a new row or overwrite an existing one in place."""
    if row is None:
        session.add(table(**columns, origin=origin, created_at=now, updated_at=now))
        return
    for name, value in columns.items():
        setattr(row, name, value)
    row.origin, row.updated_at = origin, now


def _sync_seed(session: Session, table: type, wanted: dict[str, dict[str, Any]], now: datetime) -> None:
    existing = {row.id: row for row in session.exec(select(table)).scalars()}
    for spec_id, columns in wanted.items():
        row = existing.get(spec_id)
        if row is not None and row.origin != ORIGIN_SEED:
            continue  # a user row with this id: leave it alone
        if row is not None and all(getattr(row, k) == v for k, v in columns.items()):
            continue
        _put(session, table, row, columns, ORIGIN_SEED, now)
    gone = [spec_id for spec_id, row in existing.items() if row.origin == ORIGIN_SEED and spec_id not in wanted]
    if gone:
        session.execute(delete(table).where(table.id.in_(gone)))


def _validation_record(index: int, row: dict) -> ValidationResultRow:
    if not isinstance(row, dict):
        raise InputError(f"validation row {index}: expected a mapping, got {type(row).__name__}")
    missing = [name for name in VALIDATION_COLUMNS if row.get(name) is None]
    if missing:
        raise InputError(f"validation row {index}: missing {', '.join(missing)}")
    try:
        predicted = float(row["predicted_ms"])
        measured = float(row["measured_ms"])
        batch = int(row["batch"])
    except (TypeError, ValueError):
        raise InputError(f"validation row {index}: predicted_ms, measured_ms and batch must be numbers") from None
    if measured <= 0:
        raise InputError(f"validation row {index}: measured_ms must be > 0 (got {measured:g})")
    error = row.get("error")
    error = (predicted - measured) / measured if error is None else float(error)
    created = row.get("created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    known = {*VALIDATION_COLUMNS, "error", "created_at"}
    details = {k: v for k, v in row.items() if k not in known} or None
    return ValidationResultRow(
        model=str(row["model"]), batch=batch, precision=str(row["precision"]), framework=str(row["framework"]),
        target=str(row["target"]), predicted_ms=predicted, measured_ms=measured, error=error,
        details=details, created_at=created or utcnow(),
    )


__all__ = ["Database", "DuplicateIdError"]
