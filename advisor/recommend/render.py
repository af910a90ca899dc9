"""Recommendation -> table (rich), JSON or Markdown. Rendering only: no ranking here."""

from __future__ import annotations

import math
from collections import OrderedDict

from advisor.domain.candidates import Candidate, Exclusion
from advisor.finite_json import dumps
from advisor.recommend import accuracy
from advisor.recommend.types import Recommendation


def to_json(rec: Recommendation, explain: bool = False) -> str:
    """model_dump of the Recommendation; the per-candidate ``rules`` only with --explain."""
    data = rec.model_dump(mode="json")
    accuracy.add_to_json(data, rec)
    if not explain:
        for c in data["candidates"]:
            c.pop("rules", None)
    return dumps(data, "recommendation", indent=2)  # NaN/Infinity: one line naming the field


#: exclusions that only say a framework does not apply at all (shown in full with --explain)
NOT_APPLICABLE_RULES = ("framework_device_class", "model_family")


def not_applicable(e: Exclusion) -> bool:
    return e.only_rules(NOT_APPLICABLE_RULES)


def grouped_excluded(excluded: list[Exclusion]) -> list[tuple[str, str, str, list[str]]]:
    """(model, framework, precisions, reasons): one row per model x framework x same reasons."""
    groups: OrderedDict[tuple[str, str, tuple[str, ...]], list[str]] = OrderedDict()
    for e in excluded:
        groups.setdefault((e.model, e.framework, tuple(e.reasons)), []).append(e.precision)
    return [(m, f, ",".join(p), list(r)) for (m, f, r), p in groups.items()]



def sig3(x: float) -> str:
    """Three significant figures without an exponent: 1348 -> "1,350", 0.04567 -> "0.0457"."""
    rounded = float(f"{x:.3g}")
    if rounded == 0 or not math.isfinite(rounded):
        return f"{rounded:g}"
    return f"{rounded:,.{max(0, 2 - math.floor(math.log10(abs(rounded))))}f}"


#: the mark of a candidate whose latency range overlaps the best one's
WITHIN_ERROR = "~"


def latency_cell(c: Candidate) -> str:
    """"2.87 (2.30-3.59)~": the predicted latency, its p10-p90 range, the within-error mark."""
    text = sig3(c.latency_ms)
    if c.latency_ms_high > 0:
        text += f" ({sig3(c.latency_ms_low)}-{sig3(c.latency_ms_high)})"
    return text + (WITHIN_ERROR if c.within_error_of_best and c.rank != 1 else "")


def within_error_line(rec: Recommendation) -> str | None:
    near = [c for c in rec.candidates if c.within_error_of_best and c.rank != 1]
    if not near:
        return None
    return (f"{WITHIN_ERROR} within error of the best: {len(near)} candidate(s) whose p10-p90 latency range "
            f"overlaps #1's")


def throughput_header(rec: Recommendation) -> str:
    """Language models run per token: their throughput is tokens/s."""
    return "tok/s" if rec.candidates and all(c.phase for c in rec.candidates) else "throughput/s"


def uncounted_line(rec: Recommendation) -> str | None:
    """One warning line per model whose profile has ops without a cost formula: its figures are low."""
    per_model: dict[str, list[str]] = {}
    for c in rec.candidates:
        if c.uncounted_ops:
            per_model.setdefault(c.model, c.uncounted_ops)
    if not per_model:
        return None
    parts = "; ".join(f"{model}: {', '.join(ops)}" for model, ops in per_model.items())
    return f"warning: ops without a cost formula are not counted, so latencies are underestimated ({parts})"


def to_markdown(rec: Recommendation, explain: bool = False) -> str:
    lines = [f"# Recommendation for {rec.target}", ""]
    if rec.candidates:
        lines += [f"| rank | model | framework | precision | latency ms | {throughput_header(rec)} | bound | memory MB "
                  "| warnings |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in rec.candidates:
            warn = "<br>".join(c.warnings) if c.warnings else ""
            lines.append(f"| {c.rank} | {c.model} | {c.framework} | {c.precision} | {latency_cell(c)} | "
                         f"{c.throughput_per_s:,.1f} | {c.bound} | {c.memory_mb:,.1f} | {warn} |")
    else:
        lines.append("No candidate meets the constraints.")
    if explain and rec.candidates:
        lines += ["", "## Rules fired per candidate", ""]
        for c in rec.candidates:
            fired = "; ".join(f"{f.rule} ({f.action}): {f.message}" for f in c.rules) or "none"
            lines.append(f"- #{c.rank} {c.model} {c.framework} {c.precision}, {c.bound}-bound: {fired}; "
                         f"uncertainty: {c.uncertainty or 'unknown'}")
    lines += ["", line] if (line := within_error_line(rec)) else []
    lines += accuracy.markdown_lines(rec)
    lines += ["", line] if (line := uncounted_line(rec)) else []
    if rec.excluded:
        lines += ["", "## Excluded", "", "| model | framework | precisions | reasons |", "|---|---|---|---|"]
        for model, fw, precs, reasons in grouped_excluded(rec.excluded):
            lines.append(f"| {model} | {fw} | {precs} | {'<br>'.join(reasons)} |")
    return "\n".join(lines) + "\n"


def print_table(rec: Recommendation, explain: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if rec.candidates:
        table = Table(title=f"Recommendation for {rec.target} (fastest first)")
        rate = throughput_header(rec)
        for col in ("#", "model", "framework", "precision", "latency ms", rate, "bound", "memory MB", "warnings"):
            table.add_column(col, justify="right" if col in ("#", "latency ms", rate, "memory MB") else "left",
                             overflow="fold")
        for c in rec.candidates:
            notes = "\n".join(c.warnings) if explain else ", ".join(
                dict.fromkeys(f.rule for f in c.rules if f.action != "exclude")) or ("see --explain" if c.warnings else "")
            table.add_row(str(c.rank), c.model, c.framework, c.precision, latency_cell(c),
                          f"{c.throughput_per_s:,.1f}", c.bound, f"{c.memory_mb:,.1f}", notes)
        console.print(table)
        if line := within_error_line(rec):
            console.print(line, highlight=False)
    else:
        console.print("[bold red]No candidate meets the constraints.[/bold red]")
    if line := uncounted_line(rec):
        console.print(line, style="yellow", highlight=False)
    accuracy.print_table(console, rec)
    if explain:
        for c in rec.candidates:
            console.print(f"#{c.rank} {c.model} {c.framework} {c.precision}: {c.bound}-bound; "
                          f"uncertainty: {c.uncertainty or 'unknown'}", highlight=False)
            for f in c.rules:
                console.print(f"    {f.rule} ({f.action}): {f.message}", highlight=False)
    shown = rec.excluded if explain else [e for e in rec.excluded if not not_applicable(e)]
    if shown:
        table = Table(title="Excluded")
        for col in ("model", "framework", "precisions", "reasons"):
            table.add_column(col, overflow="fold")
        for model, fw, precs, reasons in grouped_excluded(shown):
            table.add_row(model, fw, precs, "\n".join(reasons))
        console.print(table)
    hidden = sorted({e.framework for e in rec.excluded} - {e.framework for e in shown})
    if hidden:
        console.print(f"Not applicable here (device class or model family; --explain lists them): {', '.join(hidden)}",
                      highlight=False)
