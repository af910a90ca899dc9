"""The store: the one typed seam between the stages and the database.

Every stage reads platforms, frameworks, calibrations and cached profiles through `Store`
and gets domain specs back (never dicts, never `Any`). Writers (`hardware add`,
`calibrate`, `validate`, the database commands) get a `WritableStore`.

`open_store` picks the implementation: for read-only use of a SQLite file that is already
migrated and seeded, advisor.db.sqlite_store.SqliteStore (standard-library sqlite3, so
`hardware list` and a cached `recommend` start without importing SQLAlchemy); in every
other case advisor.db.database.Database (SQLModel; migrates and seeds on open). Both run
the same SQL text for their reads: the `StoreReads` base below holds it once, and each
implementation only says how to run a query.

Standard library and the domain specs only: importing this module imports neither
SQLAlchemy nor torch.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, Self, TypeVar, overload

from advisor.db.records import FRAMEWORK_FIELDS, PLATFORM_FIELDS, framework_data, platform_data
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.errors import InputError, unknown_name
from advisor.safe_input import describe

#: The seed_state row that holds the fingerprint of the seed YAML last applied.
SEED_STATE_NAME = "hardware_db"

#: A value bound to a SQL parameter (named ``:name`` style, which both sqlite3 and
#: SQLAlchemy's text() accept).
SqlValue = str | int | float | None
#: A result row by column name.
Row = Mapping[str, object]
#: (kind, id, change stamp) of one row an answer depends on; see StoreReads.answer_state.
StateStamp = tuple[str, str | None, str | None]


class DuplicateIdError(InputError):
    """An id that is already in the store (or twice in one call), without replace."""

    def __init__(self, kind: str, spec_id: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.spec_id = spec_id


class Store(Protocol):
    """What every stage reads: specs, the newest calibration, the profile cache."""

    @property
    def url(self) -> str:
        """The resolved URL (sqlite:///..., postgresql+psycopg://...)."""
        ...

    @property
    def location(self) -> str:
        """The file for SQLite, the URL (password hidden) otherwise."""
        ...

    def list_platforms(self, device_class: str | None = None) -> list[PlatformSpec]: ...
    def get_platform(self, platform_id: str) -> PlatformSpec: ...
    def platform_ids(self) -> list[str]: ...
    def platform_origins(self) -> dict[str, str]: ...
    def list_frameworks(self) -> list[FrameworkSpec]: ...
    def get_framework(self, framework_id: str) -> FrameworkSpec: ...
    def framework_ids(self) -> list[str]: ...
    def framework_origins(self) -> dict[str, str]: ...
    def latest_calibration(self, platform_id: str, framework_id: str | None = None) -> CalibrationSpec | None: ...
    def answer_state(self, platform_id: str) -> list[StateStamp]: ...
    def get_cached_profile(self, key: str) -> str | None: ...
    def put_cached_profile(self, key: str, payload: str) -> None: ...
    def get_sensitivity_report(self, weights_sha256: str, model: str | None = None) -> str | None: ...
    def count_sensitivity_reports(self) -> int: ...
    def put_sensitivity_report(self, weights_sha256: str, model: str, method: str, payload: str) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


class WritableStore(Store, Protocol):
    """A Store that also takes the writes of `hardware add/remove`, `calibrate` and `validate`."""

    def add_platforms(self, specs: list[PlatformSpec], replace: bool = False) -> None: ...
    def upsert_platform(self, spec: PlatformSpec) -> bool:
        """Insert or replace; True when this call created the id (decided inside the write)."""
        ...
    def remove_platform(self, platform_id: str) -> None: ...
    def add_frameworks(self, specs: list[FrameworkSpec], replace: bool = False) -> None: ...
    def add_calibration(self, rec: CalibrationSpec) -> None: ...
    def record_calibration(self, platform: PlatformSpec | None, records: list[CalibrationSpec]) -> None:
        """`advisor calibrate`'s write: the platform (when new) and its records, all or none."""
        ...
    def add_validation_results(self, rows: list[dict]) -> None: ...
    def validation_results(self, target: str | None = None) -> list[dict[str, object]]: ...


# ---------------------------------------------------------------------- the shared reads
_CALIBRATION_COLUMNS = (
    "platform_id", "framework_id", "measured_at", "method", "tool_version", "matmul_tflops",
    "vector_tflops", "bandwidth_gbs", "per_op_overhead_us", "graph_kernel_us", "utilisation_curve", "notes",
    "corrections", "correction_sources", "module_call_us", "view_op_us", "conv_tflops", "conv_utilisation_curve",
)
_CALIBRATION_JSON = frozenset({"matmul_tflops", "vector_tflops", "utilisation_curve", "corrections", "correction_sources",
                               "conv_tflops", "conv_utilisation_curve"})
SpecT = TypeVar("SpecT", PlatformSpec, FrameworkSpec)


@dataclass(frozen=True)
class _SpecTable(Generic[SpecT]):
    """Where one kind of spec lives and how a row turns back into it (advisor.db.records)."""

    kind: str
    table: Literal["platforms", "frameworks"]
    fields: tuple[str, ...]
    spec: type[SpecT]
    data: Callable[[Row, bool], dict[str, object]]

    @property
    def select(self) -> str:
        return f"SELECT {', '.join(self.fields)} FROM {self.table}"  # noqa: S608 - fixed names


_PLATFORMS = _SpecTable("platform", "platforms", PLATFORM_FIELDS, PlatformSpec, platform_data)
_FRAMEWORKS = _SpecTable("framework", "frameworks", FRAMEWORK_FIELDS, FrameworkSpec, framework_data)
_CALIBRATION_SELECT = f"SELECT {', '.join(_CALIBRATION_COLUMNS)} FROM calibrations WHERE platform_id = :platform"  # noqa: S608
_NEWEST_FIRST = " ORDER BY measured_at DESC, id DESC LIMIT 1"
#: Plain portable SQL (SQLite and PostgreSQL), one UNION ALL: about a sixth of the cost of
#: three separate queries, and most of the cost of a cached service answer.
_ANSWER_STATE = (
    "SELECT 'platform' AS kind, id AS name, CAST(updated_at AS VARCHAR) AS stamp FROM platforms WHERE id = :target "
    "UNION ALL SELECT 'framework', id, CAST(updated_at AS VARCHAR) FROM frameworks "
    "UNION ALL SELECT 'calibrations', CAST(count(id) AS VARCHAR), CAST(max(id) AS VARCHAR) "
    "FROM calibrations WHERE platform_id = :target"
)


def profile_key_hash(key: str) -> str:
    """The profile cache's primary key: SHA-256 of the profiler's key, so keys of any
    length index well on every backend."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class StoreReads(ABC):
    """The read half of a Store, written once over one abstract query runner."""

    @abstractmethod
    def _rows(self, sql: str, params: Mapping[str, SqlValue] | None = None) -> Sequence[Row]:
        """Run one SELECT and return its rows by column name."""

    def _ids(self, table: Literal["platforms", "frameworks"]) -> list[str]:
        return [str(r["id"]) for r in self._rows(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608 - fixed names

    def _origins(self, table: Literal["platforms", "frameworks"]) -> dict[str, str]:
        return {str(r["id"]): str(r["origin"]) for r in self._rows(f"SELECT id, origin FROM {table}")}  # noqa: S608

    def _specs(self, table: _SpecTable[SpecT], where: str = "", params: Mapping[str, SqlValue] | None = None) -> list[SpecT]:
        rows = self._rows(f"{table.select}{where} ORDER BY id", params)
        return [_stored_spec(table, r) for r in rows]

    def _spec(self, table: _SpecTable[SpecT], spec_id: str) -> SpecT:
        found = self._specs(table, " WHERE id = :id", {"id": spec_id})
        if not found:
            raise unknown_name(table.kind, spec_id, self._ids(table.table))
        return found[0]

    # -- platforms
    def list_platforms(self, device_class: str | None = None) -> list[PlatformSpec]:
        """Every platform sorted by id; only those of ``device_class`` when given."""
        if device_class is None:
            return self._specs(_PLATFORMS)
        return self._specs(_PLATFORMS, " WHERE device_class = :device_class", {"device_class": device_class})

    def get_platform(self, platform_id: str) -> PlatformSpec:
        return self._spec(_PLATFORMS, platform_id)

    def platform_ids(self) -> list[str]:
        return self._ids("platforms")

    def platform_origins(self) -> dict[str, str]:
        """id -> 'seed' or 'user' for every platform."""
        return self._origins("platforms")

    # -- frameworks
    def list_frameworks(self) -> list[FrameworkSpec]:
        return self._specs(_FRAMEWORKS)

    def get_framework(self, framework_id: str) -> FrameworkSpec:
        return self._spec(_FRAMEWORKS, framework_id)

    def framework_ids(self) -> list[str]:
        return self._ids("frameworks")

    def framework_origins(self) -> dict[str, str]:
        return self._origins("frameworks")

    # -- calibrations
    def latest_calibration(self, platform_id: str, framework_id: str | None = None) -> CalibrationSpec | None:
        """The most recent calibration for a platform.

        With ``framework_id``: the newest record for that framework, else the newest
        framework-independent one (framework_id NULL). Without: the newest
        framework-independent record, else the newest of any framework."""
        queries: list[tuple[str, dict[str, SqlValue]]] = []
        if framework_id is not None:
            queries.append((_CALIBRATION_SELECT + " AND framework_id = :framework",
                            {"platform": platform_id, "framework": framework_id}))
        queries.append((_CALIBRATION_SELECT + " AND framework_id IS NULL", {"platform": platform_id}))
        if framework_id is None:
            queries.append((_CALIBRATION_SELECT, {"platform": platform_id}))
        for sql, params in queries:
            rows = self._rows(sql + _NEWEST_FIRST, params)
            if rows:
                return _calibration(rows[0])
        return None

    def answer_state(self, platform_id: str) -> list[StateStamp]:
        """What a recommendation for ``platform_id`` was computed from, without building a
        spec: the platform's row and every framework row by ``updated_at`` (each write
        stamps it), and the platform's calibrations by count and newest id (they are only
        ever added). Sorted; an unknown platform simply has no 'platform' entry."""
        rows = self._rows(_ANSWER_STATE, {"target": platform_id})
        return sorted((str(r["kind"]), _text(r["name"]), _text(r["stamp"])) for r in rows)

    # -- the profile cache
    def get_cached_profile(self, key: str) -> str | None:
        """The JSON text of a Profile cached under the profiler's key, or None."""
        rows = self._rows("SELECT key, payload FROM profile_cache WHERE key_sha256 = :digest",
                          {"digest": profile_key_hash(key)})
        return str(rows[0]["payload"]) if rows and rows[0]["key"] == key else None

    # -- sensitivity reports (advisor sensitivity), keyed by the weights' content hash
    def get_sensitivity_report(self, weights_sha256: str, model: str | None = None) -> str | None:
        """The JSON text of the newest report on these weights (and model spec, if given), or None."""
        sql = "SELECT payload FROM sensitivity_reports WHERE weights_sha256 = :sha"
        params: dict[str, SqlValue] = {"sha": weights_sha256}
        if model is not None:
            sql += " AND model = :model"
            params["model"] = model
        rows = self._rows(sql + " ORDER BY id DESC LIMIT 1", params)
        return str(rows[0]["payload"]) if rows else None

    def count_sensitivity_reports(self) -> int:
        return int(self._rows("SELECT COUNT(*) AS n FROM sensitivity_reports")[0]["n"])


def _stored_spec(table: _SpecTable[SpecT], row: Row) -> SpecT:
    """A row as its spec. A row that no longer validates (written by hand, or before a
    range existed) is one InputError naming the row and the field, not a traceback."""
    from pydantic import ValidationError

    try:
        return table.spec.model_validate(table.data(row, True))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or table.kind
        spec_id = describe(str(row.get("id", "?")))
        raise InputError(
            f"stored {table.kind} '{spec_id}' does not validate: field {where}: {first['msg']}; "
            f"replace it (advisor hardware add --replace, or PUT /v1/platforms/{spec_id}) or remove it"
        ) from None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _calibration(row: Row) -> CalibrationSpec:
    """A calibration row (JSON columns as text on SQLite, decoded on PostgreSQL) as a spec."""
    data: dict[str, object] = {}
    for name in _CALIBRATION_COLUMNS:
        value = row[name]
        data[name] = json.loads(value) if name in _CALIBRATION_JSON and isinstance(value, str) else value
    data["matmul_tflops"] = data["matmul_tflops"] or {}
    data["vector_tflops"] = data["vector_tflops"] or {}
    data["corrections"] = data["corrections"] or {}
    data["correction_sources"] = data["correction_sources"] or {}
    data["conv_tflops"] = data["conv_tflops"] or {}
    for name in ("utilisation_curve", "conv_utilisation_curve"):
        curve = data[name]
        data[name] = [tuple(point) for point in curve] if isinstance(curve, list) else []
    return CalibrationSpec.model_validate(data)


# ---------------------------------------------------------------------- opening
@overload
def open_store(url: str | None = None, *, readonly: Literal[True]) -> Store: ...
@overload
def open_store(url: str | None = None, *, readonly: Literal[False] = False) -> WritableStore: ...
@overload
def open_store(url: str | None = None, *, readonly: bool) -> Store: ...
def open_store(url: str | None = None, *, readonly: bool = False) -> Store:
    """The store at ``url`` (default: $ADVISOR_DB, else the user's SQLite file).

    ``readonly``: the caller only reads specs and calibrations (it may still cache
    profiles). Then a current SQLite file is read with the standard library; anything
    else (a writer, PostgreSQL, a file that needs migrating or seeding) opens Database.
    """
    from advisor.db.locations import resolve_url

    resolved = resolve_url(url)
    if readonly:
        from advisor.db.sqlite_store import SqliteStore

        fast = SqliteStore.try_open(resolved)
        if fast is not None:
            return fast
    from advisor.db.database import Database

    return Database.open(resolved)
