"""How a spec maps onto table columns and back. Standard library only, shared by the
Database class and the CLI's fast SQLite reader so both rebuild specs the same way."""

from __future__ import annotations

import json
from typing import Any, Mapping

PLATFORM_FIELDS: tuple[str, ...] = (
    "id", "name", "vendor", "device_class", "matrix_peaks", "vector_peaks", "npu_peaks",
    "sparse_headline", "memory", "power_w", "compute_capability", "features", "parallelism",
    "interconnect", "price_per_device_hour", "notes", "sources",
)
PLATFORM_JSON: frozenset[str] = frozenset(
    {"matrix_peaks", "vector_peaks", "npu_peaks", "sparse_headline", "memory", "power_w", "features", "parallelism",
     "interconnect", "price_per_device_hour", "sources"}
)
FRAMEWORK_FIELDS: tuple[str, ...] = (
    "id", "name", "device_classes", "support", "int8_calibration", "fusion", "overhead",
    "efficiency", "serving", "notes", "sources",
)
FRAMEWORK_JSON: frozenset[str] = frozenset(
    {"device_classes", "support", "fusion", "overhead", "efficiency", "serving", "sources"}
)


def platform_columns(data: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for a platform given its full model_dump(mode='json')."""
    row = {name: data.get(name) for name in PLATFORM_FIELDS}
    row["bandwidth_gbs"] = data["memory"]["bandwidth_gbs"]["value"]
    row["capacity_gb"] = data["memory"]["capacity_gb"]["value"]
    return row


def framework_columns(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in FRAMEWORK_FIELDS}


def _from_row(row: Mapping[str, Any], fields: tuple[str, ...], json_fields: frozenset[str], decode: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = row[name]
        if decode and name in json_fields and isinstance(value, str):
            value = json.loads(value)
        if value is not None:
            out[name] = value
    return out


def platform_data(row: Mapping[str, Any], decode: bool = False) -> dict[str, Any]:
    """Spec data (ready for PlatformSpec.model_validate) from a row mapping; ``decode``
    parses JSON text, for readers that get raw SQLite values."""
    return _from_row(row, PLATFORM_FIELDS, PLATFORM_JSON, decode)


def framework_data(row: Mapping[str, Any], decode: bool = False) -> dict[str, Any]:
    return _from_row(row, FRAMEWORK_FIELDS, FRAMEWORK_JSON, decode)
