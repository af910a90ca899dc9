"""Render a Profile as a rich table, JSON or CSV. Counting knows nothing of this module.

Names are explicit everywhere: MACs are multiply-accumulates, FLOPs are floating-point
operations (2 per MAC plus elementwise/normalisation arithmetic), and memory traffic is
bytes read / bytes written, never "MAC".
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Any

from advisor.profiling.aggregate import ModuleRow
from advisor.profiling.types import Profile

CSV_COLUMNS = (
    "path", "type", "output_shape", "params", "macs", "flops", "bytes_read", "bytes_written", "intensity",
)


def _number(value: float) -> int | float:
    """Bytes are whole at every width but int4; keep JSON integers where they are whole."""
    return int(value) if float(value).is_integer() else float(value)


def _shape(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape)


def _si(value: float, unit: str = "") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def _bytes(value: float) -> str:
    for factor, prefix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{value:.0f} B"


def layer_dict(row: ModuleRow, precision: str) -> dict[str, Any]:
    return {
        "path": row.path,
        "type": row.type,
        "output_shape": row.output_shape,
        "params": row.params,
        "macs": row.macs,
        "flops": row.flops,
        "bytes_read": _number(row.bytes_read(precision)),
        "bytes_written": _number(row.bytes_written(precision)),
        "intensity": round(row.intensity(precision), 4),
    }


def profile_dict(profile: Profile, rows: list[ModuleRow], precision: str) -> dict[str, Any]:
    """The JSON document of `advisor profile --format json` (keys per design.md, plus context)."""
    return {
        "model": profile.model,
        "input_shape": profile.input_shape,
        "batch": profile.batch,
        "phase": profile.phase,
        "seq_len": profile.seq_len,
        "context": profile.context,
        "precision": precision,
        "params": profile.params,
        "active_params": profile.params if profile.active_params is None else profile.active_params,
        "macs": profile.macs,
        "flops": profile.flops,
        "bytes_read": _number(profile.bytes_read(precision)),
        "bytes_written": _number(profile.bytes_written(precision)),
        "intensity": round(profile.intensity(precision), 4),
        "kv_cache_elems": profile.kv_cache_elems,
        "source": profile.source,
        "native_precision": profile.native_precision,
        "notes": list(profile.notes),
        "layers": [layer_dict(r, precision) for r in rows],
        "unsupported_ops": [u.model_dump() for u in profile.unsupported_ops],
    }


def to_json(profile: Profile, rows: list[ModuleRow], precision: str) -> str:
    from advisor.finite_json import dumps

    return dumps(profile_dict(profile, rows, precision), "profile", indent=2)


def to_csv(rows: list[ModuleRow], precision: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        d = layer_dict(row, precision)
        d["output_shape"] = _shape(d["output_shape"])
        writer.writerow([d[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def unsupported_warning(profile: Profile) -> str | None:
    """One line naming the ops that have no formula (their FLOPs and bytes are not in the totals)."""
    if not profile.unsupported_ops:
        return None
    parts = []
    for u in profile.unsupported_ops:
        where = ", ".join(m or "<root>" for m in u.modules[:3]) + (", ..." if len(u.modules) > 3 else "")
        parts.append(f"{u.op} x{u.count} (in {where})")
    return f"{len(profile.unsupported_ops)} op(s) have no formula and are not counted: " + "; ".join(parts)


def print_table(profile: Profile, rows: list[ModuleRow] | None, precision: str) -> None:
    """Totals, then (with --per-layer / --depth) one row per module, with rich."""
    from rich.console import Console
    from rich.table import Table

    # a pipe or file gets the full width instead of a wrapped 80-column table
    console = Console(width=None if sys.stdout.isatty() else 200)
    title = f"{profile.model}  input {_shape(profile.input_shape)}"
    if profile.phase:
        extra = f"seq_len {profile.seq_len}" if profile.phase == "prefill" else f"context {profile.context}"
        title += f"  {profile.phase} ({extra})"
    totals = Table(title=title, show_header=False, title_justify="left")
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    totals.add_column("exact", justify="right", style="dim")
    read, written = profile.bytes_read(precision), profile.bytes_written(precision)
    totals.add_row("parameters", _si(profile.params), f"{profile.params:,}")
    if profile.active_params is not None and profile.active_params != profile.params:
        totals.add_row("active parameters (per token)", _si(profile.active_params), f"{profile.active_params:,}")
    totals.add_row("MACs (multiply-accumulates)", _si(profile.macs), f"{profile.macs:,}")
    totals.add_row("FLOPs", _si(profile.flops), f"{profile.flops:,}")
    totals.add_row(f"bytes read ({precision})", _bytes(read), f"{read:,.0f}")
    totals.add_row(f"bytes written ({precision})", _bytes(written), f"{written:,.0f}")
    if profile.kv_cache_elems:
        totals.add_row("KV-cache elements (read in decode)", _si(profile.kv_cache_elems), f"{profile.kv_cache_elems:,}")
    totals.add_row("arithmetic intensity (FLOPs/byte)", f"{profile.intensity(precision):.2f}", "")
    if profile.native_precision:
        totals.add_row("stored precision (fixed by the model file)", profile.native_precision, "")
    console.print(totals)
    for note in profile.notes:
        console.print(f"note: {note}", highlight=False)
    if rows is None:
        return
    table = Table(title=f"per layer ({precision} bytes)", title_justify="left")
    for name, justify in (
        ("module", "left"), ("type", "left"), ("output shape", "left"), ("params", "right"),
        ("MACs", "right"), ("FLOPs", "right"), ("bytes read", "right"), ("bytes written", "right"),
        ("FLOPs/byte", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row.path or "<root>", row.type, _shape(row.output_shape), f"{row.params:,}", _si(row.macs),
            _si(row.flops), _bytes(row.bytes_read(precision)), _bytes(row.bytes_written(precision)),
            f"{row.intensity(precision):.2f}",
        )
    console.print(table)
