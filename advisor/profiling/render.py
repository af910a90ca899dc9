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
    """Three significant figures with an SI prefix: 1.81 G, 11.7 M (the exact count is beside it)."""
    from advisor.display import count

    return count(value, unit)


def _bytes(value: float) -> str:
    """Bytes at three significant figures in decimal units: 46.8 MB, 1.23 GB."""
    from advisor.display import sig3

    for factor, prefix in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(value) >= factor:
            return f"{sig3(value / factor)} {prefix}"
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

    from advisor.display import Column, fitted_table, sig3
    from advisor.display import console as fitting_console

    console = fitting_console()
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
    totals.add_row("arithmetic intensity (FLOPs/byte)", sig3(profile.intensity(precision)), "")
    if profile.native_precision:
        totals.add_row("stored precision (fixed by the model file)", profile.native_precision, "")
    console.print(totals)
    for note in profile.notes:
        console.print(f"note: {note}", highlight=False)
    if rows is None:
        return
    columns = [Column("module", shrink=True, min_width=24), Column("type", priority=3),
               Column("output shape", priority=2), Column("params", "right"), Column("MACs", "right", priority=1),
               Column("FLOPs", "right"), Column("bytes read", "right"), Column("bytes written", "right", priority=1),
               Column("FLOPs/byte", "right")]
    cells = [[row.path or "<root>", row.type, _shape(row.output_shape), _si(row.params), _si(row.macs),
              _si(row.flops), _bytes(row.bytes_read(precision)), _bytes(row.bytes_written(precision)),
              sig3(row.intensity(precision))] for row in rows]
    console.print(fitted_table(columns, cells, console.width, title=f"per layer ({precision} bytes)"))
