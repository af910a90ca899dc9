"""Showing a sensitivity report: a one-line answer, a table per scheme, the most sensitive layers,
the suggestion; as rich tables, markdown or JSON. Three significant figures, units always."""

from __future__ import annotations

import json

from advisor.display import ms, sig3
from advisor.sensitivity.report import SensitivityReport, risk_level

DEFAULT_TOP_LAYERS = 10


def _db(value: float | None) -> str:
    return "exact" if value is None else f"{sig3(value)} dB"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{sig3(100 * value)} %"


def _ms(value: float | None) -> str:
    return "-" if value is None else ms(value)


def _bits(value: float | None) -> str:
    return "-" if value is None else sig3(value)


def _delta(value: float | None) -> str:
    """A signed change: "+0.125", "-3.40"."""
    return "-" if value is None else ("+" if value >= 0 else "") + sig3(value)


def headline(report: SensitivityReport) -> str:
    """The one-line answer: the suggestion in words."""
    s = report.suggestion
    if s is None:
        if not report.schemes:
            return f"{report.model}: nothing measured"
        best = max(report.schemes, key=lambda r: -1e9 if r.weight_sqnr_db is None else r.weight_sqnr_db)
        return f"{report.model}: weights quantize best with {best.scheme} ({_db(best.weight_sqnr_db)} weight SQNR)"
    kept = len(s.keep_16bit)
    layers = f"{kept} layer{'s' if kept != 1 else ''} in fp16"
    latency = ""
    if s.latency_ms is not None and s.baseline_latency_ms is not None:
        latency = f": {_ms(s.latency_ms)} instead of {_ms(s.baseline_latency_ms)}"
    verdict = "" if s.met else f" (target {s.target} not reached even so)"
    return (f"{s.scheme} with {layers}{latency}, output SQNR {_db(s.output_sqnr_db)} instead of "
            f"{_db(s.baseline_output_sqnr_db)}{verdict}")


def to_json_data(report: SensitivityReport, per_layer: bool = True) -> dict:
    """The JSON object: every layer with ``per_layer``, else the most sensitive ten."""
    data = report.to_json()
    if not per_layer:
        data["layers"] = data["layers"][:DEFAULT_TOP_LAYERS]
    return data


def to_json(report: SensitivityReport, per_layer: bool = True) -> str:
    return json.dumps(to_json_data(report, per_layer), indent=2, allow_nan=False)


def _scheme_rows(report: SensitivityReport) -> tuple[list[str], list[list[str]]]:
    data_free = report.method == "data-free"
    if data_free:
        header = ["scheme", "bits/weight", "weight SQNR"]
        rows = [[s.scheme, _bits(s.weight_bits), _db(s.weight_sqnr_db)] for s in report.schemes]
        return header, rows
    header = ["scheme", "bits/weight", "output SQNR", "cosine", "top-1 agreement", "perplexity change", "risk"]
    rows = [[s.scheme, _bits(s.weight_bits), _db(s.output_sqnr_db), "-" if s.cosine is None else f"{s.cosine:.4f}",
             _share(s.top1_agreement), _delta(s.perplexity_delta),
             risk_level(s.output_sqnr_db)] for s in report.schemes]
    return header, rows


def _layer_rows(report: SensitivityReport, limit: int) -> tuple[list[str], list[list[str]]]:
    label = {"local": "layer output SQNR", "e2e": "model output SQNR", "data-free": "weight SQNR"}[report.method]
    header = ["layer", "kind", "params", "scheme", label]
    rows = [[r.name, r.kind, f"{r.params:,}", r.scheme, _db(r.sqnr_db)] for r in report.layers[:limit]]
    return header, rows


def _suggestion_rows(report: SensitivityReport) -> list[list[str]]:
    s = report.suggestion
    if s is None:
        return []
    rows = [["scheme", s.scheme], ["target", s.target + ("" if s.met else " (not met)")],
            ["keep in fp16", ", ".join(s.keep_16bit) or "none"],
            ["output SQNR", f"{_db(s.output_sqnr_db)} (all quantized: {_db(s.baseline_output_sqnr_db)})"]]
    if s.top1_agreement is not None:
        rows.append(["top-1 agreement", f"{_share(s.top1_agreement)} (all quantized: {_share(s.baseline_top1_agreement)})"])
    if s.latency_ms is not None:
        rows.append(["latency", f"{_ms(s.latency_ms)} (all quantized: {_ms(s.baseline_latency_ms)})"])
    return rows


def print_table(report: SensitivityReport, *, per_layer: bool = False, top: int = DEFAULT_TOP_LAYERS) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(headline(report))
    for warning in report.warnings:
        console.print(f"[bold red]{warning}[/]")
    header, rows = _scheme_rows(report)
    table = Table(title=f"{report.model}: {report.method} analysis on {report.samples} {report.calib} samples")
    for column in header:
        table.add_column(column, justify="left" if column == "scheme" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if per_layer:
        header, rows = _layer_rows(report, top)
        layers = Table(title=f"most sensitive layers (top {min(top, len(report.layers))} of {len(report.layers)})")
        for column in header:
            layers.add_column(column, justify="left" if column in ("layer", "kind", "scheme") else "right",
                              overflow="fold", max_width=40 if column == "layer" else None)
        for row in rows:
            layers.add_row(*row)
        console.print(layers)
    suggestion = _suggestion_rows(report)
    if suggestion:
        table = Table(title="mixed-precision suggestion", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold", max_width=80)
        for row in suggestion:
            table.add_row(*row)
        console.print(table)


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def to_markdown(report: SensitivityReport, *, per_layer: bool = False, top: int = DEFAULT_TOP_LAYERS) -> str:
    lines = [f"## Quantization sensitivity: {report.model}", "", f"**{headline(report)}**", ""]
    lines += [f"> {w}" for w in report.warnings] + ([""] if report.warnings else [])
    lines += [f"{report.method} analysis on {report.samples} {report.calib} samples.", ""]
    lines += _markdown_table(*_scheme_rows(report)) + [""]
    if per_layer:
        lines += ["### Most sensitive layers", ""] + _markdown_table(*_layer_rows(report, top)) + [""]
    suggestion = _suggestion_rows(report)
    if suggestion:
        lines += ["### Mixed-precision suggestion", ""] + _markdown_table(["field", "value"], suggestion) + [""]
    return "\n".join(lines)
