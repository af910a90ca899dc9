"""A read-mostly view of the database for `predict` and `recommend` that starts fast.

Why: with the profile already cached, `advisor recommend` must answer in under half a
second, and importing SQLAlchemy, SQLModel and Alembic alone takes longer than that on a
small machine. When the database is a current SQLite file, advisor.db.catalog reads
platforms and frameworks with the standard library; this class adds the two other reads the
predictor needs (newest calibration, cached profile) the same way, with the semantics of
Database.latest_calibration / get_cached_profile. Anything else (a write, any other backend,
an out-of-date file) goes through the real Database, opened on first need.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.errors import unknown_name

_CALIBRATION_COLUMNS = (
    "platform_id", "framework_id", "measured_at", "method", "tool_version", "matmul_tflops",
    "vector_tflops", "bandwidth_gbs", "per_op_overhead_us", "graph_kernel_us", "utilisation_curve", "notes",
)
_JSON_COLUMNS = frozenset({"matmul_tflops", "vector_tflops", "utilisation_curve"})


class FastDatabase:
    """The read subset of Database over sqlite3, delegating writes to a lazily opened Database."""

    def __init__(self, url: str, connection: sqlite3.Connection, catalog: Any) -> None:
        self._url = url
        self._conn = connection
        self._catalog = catalog
        self._platforms: dict[str, PlatformSpec] | None = None
        self._frameworks: dict[str, FrameworkSpec] | None = None
        self._full: Any = None

    # -- platforms and frameworks (validated once per process)
    def _platform_map(self) -> dict[str, PlatformSpec]:
        if self._platforms is None:
            self._platforms = {d["id"]: PlatformSpec.model_validate({k: v for k, v in d.items() if k != "origin"})
                               for d in self._catalog.platforms()}
        return self._platforms

    def _framework_map(self) -> dict[str, FrameworkSpec]:
        if self._frameworks is None:
            self._frameworks = {d["id"]: FrameworkSpec.model_validate({k: v for k, v in d.items() if k != "origin"})
                                for d in self._catalog.frameworks()}
        return self._frameworks

    def get_platform(self, platform_id: str) -> PlatformSpec:
        platforms = self._platform_map()
        if platform_id not in platforms:
            raise unknown_name("platform", platform_id, platforms)
        return platforms[platform_id]

    def list_platforms(self) -> list[PlatformSpec]:
        return [p for _, p in sorted(self._platform_map().items())]

    def get_framework(self, framework_id: str) -> FrameworkSpec:
        frameworks = self._framework_map()
        if framework_id not in frameworks:
            raise unknown_name("framework", framework_id, frameworks)
        return frameworks[framework_id]

    def list_frameworks(self) -> list[FrameworkSpec]:
        return [f for _, f in sorted(self._framework_map().items())]

    # -- calibrations and the profile cache
    def latest_calibration(self, platform_id: str, framework_id: str | None = None) -> CalibrationSpec | None:
        """Same order as Database.latest_calibration: the framework's newest record, else the
        newest framework-independent one; without a framework, else the newest of any."""
        cols = ", ".join(_CALIBRATION_COLUMNS)
        base = f"SELECT {cols} FROM calibrations WHERE platform_id = ?"  # noqa: S608 - fixed names
        order = " ORDER BY measured_at DESC, id DESC LIMIT 1"
        queries: list[tuple[str, tuple[Any, ...]]] = []
        if framework_id is not None:
            queries.append((base + " AND framework_id = ?" + order, (platform_id, framework_id)))
        queries.append((base + " AND framework_id IS NULL" + order, (platform_id,)))
        if framework_id is None:
            queries.append((base + order, (platform_id,)))
        for sql, params in queries:
            row = self._conn.execute(sql, params).fetchone()
            if row is not None:
                data = {c: (json.loads(row[c]) if c in _JSON_COLUMNS and isinstance(row[c], str) else row[c])
                        for c in _CALIBRATION_COLUMNS}
                data["utilisation_curve"] = [tuple(p) for p in (data["utilisation_curve"] or [])]
                data["matmul_tflops"] = data["matmul_tflops"] or {}
                data["vector_tflops"] = data["vector_tflops"] or {}
                return CalibrationSpec.model_validate(data)
        return None

    def get_cached_profile(self, key: str) -> str | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        row = self._conn.execute("SELECT key, payload FROM profile_cache WHERE key_sha256 = ?", (digest,)).fetchone()
        return row["payload"] if row is not None and row["key"] == key else None

    def put_cached_profile(self, key: str, payload: str) -> None:
        """Same row as Database.put_cached_profile writes (created_at in SQLAlchemy's SQLite
        DATETIME text form), without importing SQLAlchemy: a cold `recommend` stays fast."""
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO profile_cache (key_sha256, key, payload, created_at) VALUES (?, ?, ?, ?)",
                (digest, key, payload, now),
            )

    def full(self) -> Any:
        """The real Database (migrations, writes), opened on first use."""
        if self._full is None:
            from advisor.db import Database

            self._full = Database.open(self._url)
        return self._full

    def __getattr__(self, name: str) -> Any:
        # every other Database method goes to the real one
        return getattr(self.full(), name)


def open_database(url: str | None = None) -> Any:
    """A FastDatabase when the SQLite file is current, else Database.open(url)."""
    from advisor.db.catalog import SqliteCatalog
    from advisor.db.locations import resolve_url

    resolved = resolve_url(url)
    catalog = SqliteCatalog.try_open(resolved)
    if catalog is None:
        from advisor.db import Database

        return Database.open(url)
    return FastDatabase(resolved, catalog._conn, catalog)
