"""The database tables (SQLModel).

Platforms and frameworks keep their key columns (id, name, vendor, class, the figures
people sort by) as real, indexed columns and their nested parts (peak tables, support
matrix, fusion traits...) as JSON, so a row turns back into the exact pydantic spec it
came from. ``origin`` says whether a row came from the seed YAML in hardware_db/ or from
a user (`hardware add`, `calibrate`): seed refreshes only ever touch seed rows.

The migrations in migrations/versions/ create these tables; a test checks that the
migrated schema and these models agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, SQLModel

ORIGIN_SEED = "seed"
ORIGIN_USER = "user"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def _stamp() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class PlatformRow(SQLModel, table=True):
    __tablename__ = "platforms"

    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    vendor: str = Field(index=True)
    device_class: str = Field(index=True)
    compute_capability: Optional[str] = None
    bandwidth_gbs: float
    capacity_gb: float
    matrix_peaks: dict = _json()
    vector_peaks: dict = _json()
    npu_peaks: Optional[dict] = _json(nullable=True)
    sparse_headline: Optional[dict] = _json(nullable=True)
    memory: dict = _json()
    power_w: Optional[dict] = _json(nullable=True)
    features: list = _json()
    parallelism: dict = _json()
    interconnect: Optional[dict] = _json(nullable=True)
    price_per_device_hour: Optional[dict] = _json(nullable=True)
    notes: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    sources: list = _json()
    origin: str = Field(default=ORIGIN_USER, index=True)
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class FrameworkRow(SQLModel, table=True):
    __tablename__ = "frameworks"

    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    device_classes: list = _json()
    support: list = _json()
    int8_calibration: str
    fusion: dict = _json()
    overhead: dict = _json()
    efficiency: dict = _json()
    serving: Optional[dict] = _json(nullable=True)
    notes: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    sources: list = _json()
    origin: str = Field(default=ORIGIN_USER, index=True)
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class CalibrationRow(SQLModel, table=True):
    __tablename__ = "calibrations"

    id: Optional[int] = Field(default=None, primary_key=True)
    platform_id: str = Field(index=True)
    framework_id: Optional[str] = Field(default=None, index=True)
    measured_at: str = Field(index=True)
    method: str
    tool_version: str
    matmul_tflops: dict = _json()
    vector_tflops: dict = _json()
    bandwidth_gbs: Optional[float] = None
    per_op_overhead_us: Optional[float] = None
    graph_kernel_us: Optional[float] = None
    module_call_us: Optional[float] = None
    view_op_us: Optional[float] = None
    utilisation_curve: list = _json()
    conv_tflops: Optional[dict] = _json(nullable=True)
    conv_utilisation_curve: Optional[list] = _json(nullable=True)
    notes: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    corrections: dict = _json(nullable=True)
    correction_sources: dict = _json(nullable=True)
    created_at: datetime = _stamp()


class ProfileCacheRow(SQLModel, table=True):
    """Profiles keyed by the profiler's string key; the primary key is its SHA-256 so
    that keys of any length index well on every backend."""

    __tablename__ = "profile_cache"

    key_sha256: str = Field(primary_key=True, max_length=64)
    key: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _stamp()


class ValidationResultRow(SQLModel, table=True):
    """One predicted-vs-measured point written by `advisor validate`."""

    __tablename__ = "validation_results"

    id: Optional[int] = Field(default=None, primary_key=True)
    model: str = Field(index=True)
    batch: int
    precision: str
    framework: str
    target: str = Field(index=True)
    predicted_ms: float
    measured_ms: float
    error: float  # (predicted - measured) / measured
    details: Optional[dict] = _json(nullable=True)
    created_at: datetime = _stamp()


class SensitivityReportRow(SQLModel, table=True):
    """One `advisor sensitivity` report (its JSON text), keyed by the SHA-256 of the weight
    files it measured and the model spec they were loaded into; reads take the newest."""

    __tablename__ = "sensitivity_reports"

    id: Optional[int] = Field(default=None, primary_key=True)
    weights_sha256: str = Field(index=True, max_length=64)
    model: str = Field(index=True)
    method: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _stamp()


class SeedStateRow(SQLModel, table=True):
    """Fingerprint of the seed YAML last applied, so first use can tell cheaply whether
    hardware_db/ changed since."""

    __tablename__ = "seed_state"

    name: str = Field(primary_key=True)
    fingerprint: str
    applied_at: datetime = _stamp()
