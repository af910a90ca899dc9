"""The verdict as a terminal table, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import io

from advisor.gate.evaluate import fmt_number
from advisor.gate.types import Check, GateResult

_UNITS = {"latency_ms": "ms", "throughput_per_s": "/s", "memory_mb": "MB", "params": "", "flops": "FLOPs"}
#: candidates listed below the verdict; the JSON always has all of them
SHOWN_CANDIDATES = 10


def _value(chk: Check) -> str:
    return "-" if chk.value is None else fmt_number(chk.value, _UNITS.get(chk.metric, ""))


def _limit(chk: Check) -> str:
    return f"{chk.comparison} {fmt_number(chk.limit, _UNITS.get(chk.metric, ''))}"


def _margin(chk: Check) -> str:
    if chk.margin is None:
        return "-"
    pct = f" ({chk.margin_pct:+.1f}%)" if chk.margin_pct is not None else ""
    sign = "+" if chk.margin >= 0 else "-"
    return f"{sign}{fmt_number(abs(chk.margin), _UNITS.get(chk.metric, ''))}{pct}"


def headline(result: GateResult) -> str:
    """One line for logs: PASS/FAIL, which candidate, and the worst miss."""
    if result.passed and result.selected is not None:
        return f"PASS {result.gate}: {result.selected.label} on {result.target} meets all {len(result.checks)} requirements"
    failed = [c for c in result.checks if not c.passed]
    who = result.best.label if result.best else "no candidate"
    return f"FAIL {result.gate}: best candidate {who} on {result.target} misses: " + "; ".join(c.message for c in failed)


def uncounted_warning(result: GateResult) -> str | None:
    """The candidate's model has ops the profiler could not count: a PASS may not hold."""
    from advisor.predict.engine import UNCOUNTED_OPS

    found = next((w for w in (result.best.warnings if result.best else []) if w.startswith(UNCOUNTED_OPS)), None)
    return f"warning: {found}; the predicted figures are underestimated" if found else None


def render_json(result: GateResult) -> str:
    from advisor.finite_json import check_finite

    check_finite(result.model_dump(), "gate result")  # pydantic would write NaN as null silently
    return result.model_dump_json(indent=2)


def render_table(result: GateResult) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=False, color_system=None)
    status = "PASS" if result.passed else "FAIL"
    who = result.best.label if result.best else "no allowed candidate"
    role = "selected" if result.passed else "closest"
    console.print(f"gate {result.gate}: {status}  (target {result.target}; {role}: {who})")
    if warning := uncounted_warning(result):
        console.print(warning)
    req = Table(title="requirements", title_justify="left")
    for col, just in (("requirement", "left"), ("limit", "right"), ("value", "right"), ("margin", "right"), ("result", "left")):
        req.add_column(col, justify=just)  # type: ignore[arg-type]
    for chk in result.checks:
        req.add_row(chk.requirement, _limit(chk), _value(chk), _margin(chk), "pass" if chk.passed else "FAIL")
    console.print(req)
    if result.candidates:
        cands = Table(title=f"candidates ({len(result.candidates)})", title_justify="left")
        for col in ("rank", "model", "precision", "framework", "latency ms", "items/s", "memory MB", "verdict"):
            cands.add_column(col)
        for c in result.candidates[:SHOWN_CANDIDATES]:
            cands.add_row(
                str(c.rank), c.model, c.precision, c.framework, f"{c.latency_ms:.4g}",
                f"{c.throughput_per_s:.4g}", f"{c.memory_mb:.4g}",
                "pass" if c.passed else "misses " + ", ".join(c.failed),
            )
        console.print(cands)
    if result.excluded:
        console.print(f"excluded: {len(result.excluded)} combinations (see --format json for reasons)")
    return buf.getvalue().rstrip("\n")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: GateResult) -> str:
    """A self-contained comment: verdict, requirement table, candidates folded away."""
    icon = ":white_check_mark:" if result.passed else ":x:"
    status = "passed" if result.passed else "failed"
    lines = [f"### {icon} advisor gate `{_md_escape(result.gate)}` {status} on `{result.target}`", ""]
    if result.best is not None:
        role = "Selected" if result.passed else "Closest"
        b = result.best
        lines.append(
            f"{role} candidate: **{b.model}** at **{b.precision}** with **{b.framework}**: "
            f"{b.latency_ms:.4g} ms, {b.throughput_per_s:.4g} items/s, {b.memory_mb:.4g} MB ({b.bound}-bound)."
        )
    else:
        lines.append("No allowed candidate: every combination was excluded.")
    if warning := uncounted_warning(result):
        lines += ["", f"**{_md_escape(warning)}**"]
    lines += ["", "| requirement | limit | value | margin | result |", "|---|---:|---:|---:|---|"]
    for chk in result.checks:
        mark = ":white_check_mark: pass" if chk.passed else ":x: fail"
        lines.append(f"| `{chk.requirement}` | {_limit(chk)} | {_value(chk)} | {_margin(chk)} | {mark} |")
    failed = [c for c in result.checks if not c.passed]
    if failed:
        lines += [""] + [f"- {_md_escape(c.message)}" for c in failed]
    if result.candidates:
        lines += ["", f"<details><summary>{len(result.candidates)} candidates</summary>", ""]
        lines += ["| rank | model | precision | framework | latency ms | items/s | memory MB | verdict |", "|---:|---|---|---|---:|---:|---:|---|"]
        for c in result.candidates:
            verdict = "pass" if c.passed else "misses " + ", ".join(f"`{f}`" for f in c.failed)
            lines.append(
                f"| {c.rank} | {c.model} | {c.precision} | {c.framework} | {c.latency_ms:.4g} | "
                f"{c.throughput_per_s:.4g} | {c.memory_mb:.4g} | {verdict} |"
            )
        lines += ["", "</details>"]
    if result.excluded:
        lines += ["", f"<details><summary>{len(result.excluded)} excluded</summary>", ""]
        for e in result.excluded:
            lines.append(f"- {e.model} {e.precision} {e.framework}: {_md_escape('; '.join(e.reasons))}")
        lines += ["", "</details>"]
    lines += ["", f"<sub>advisor {result.advisor_version}</sub>"]
    return "\n".join(lines)


def render(result: GateResult, fmt: str) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "markdown":
        return render_markdown(result)
    return render_table(result)
