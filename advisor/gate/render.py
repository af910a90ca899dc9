"""The verdict as a terminal table, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import io

from advisor.display import Column, count, fitted_table, megabytes, print_lines, sig3
from advisor.display import console as display_console
from advisor.domain.accuracy import CandidateAccuracy
from advisor.gate.types import CandidateFigures, CandidateVerdict, Check, GateResult

#: candidates listed below the verdict; the JSON always has all of them
SHOWN_CANDIDATES = 10


def _unit(metric: str, result: GateResult | None = None) -> str:
    """The unit a metric is shown in: throughput in what the model counts (img/s, tok/s...)."""
    if metric in ("throughput_per_s", "throughput_per_s_low"):
        return result.best.throughput_unit if result is not None and result.best is not None else "items/s"
    return {"latency_ms": "ms", "latency_ms_high": "ms", "memory_mb": "MB", "params": "", "flops": "FLOPs",
            "ttft_ms": "ms", "tpot_ms": "ms", "output_tokens_per_s": "tok/s", "output_sqnr_db": "dB",
            "cost_per_million_tokens": "USD"}.get(metric, "")


def _fig(value: float, unit: str) -> str:
    """Three significant figures with the unit: "4,480 ms", "0.223 img/s", "86.8 M", "16.5 GFLOPs"."""
    if unit == "MB":
        return megabytes(value)
    if unit in ("", "FLOPs"):
        return count(value, unit)
    if unit == "USD":
        return f"${sig3(value)}"
    return f"{sig3(value)} {unit}"


def _as_written(value: float, unit: str) -> str:
    """A limit as the config wrote it (50 -> "50 ms", 1024 -> "1,024 MB", 8e6 -> "8 M"):
    a user's own number is exact, so it keeps no padding zeros and no unit change."""
    if unit in ("", "FLOPs") and abs(value) >= 1e3:
        for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= scale:
                return f"{value / scale:,.6g} {prefix}{unit}".rstrip()
    if unit == "USD":
        return f"${value:,.6g}"
    return f"{value:,.6g} {unit}".rstrip()


def _pct(pct: float) -> str:
    return f"{'+' if pct >= 0 else '-'}{sig3(abs(pct))}%"


def _value(chk: Check, result: GateResult | None = None) -> str:
    return "-" if chk.value is None else _fig(chk.value, _unit(chk.metric, result))


def _limit(chk: Check, result: GateResult | None = None) -> str:
    return f"{chk.comparison} {_as_written(chk.limit, _unit(chk.metric, result))}"


def _margin(chk: Check, result: GateResult | None = None) -> str:
    if chk.margin is None:
        return "-"
    pct = f" ({_pct(chk.margin_pct)})" if chk.margin_pct is not None else ""
    sign = "+" if chk.margin >= 0 else "-"
    return f"{sign}{_fig(abs(chk.margin), _unit(chk.metric, result))}{pct}"


def _miss(chk: Check, result: GateResult) -> str:
    """"4,480 ms against <= 50.0 ms: 4,430 ms over": one failed requirement in words."""
    if chk.value is None or chk.margin is None:
        return chk.message
    how = "over" if chk.comparison == "<=" else "short"
    pct = f" ({sig3(abs(chk.margin_pct))}%)" if chk.margin_pct is not None else ""
    return f"{_value(chk, result)} against {_limit(chk, result)}: {_fig(abs(chk.margin), _unit(chk.metric, result))} {how}{pct}"


def headline(result: GateResult) -> str:
    """One short line for logs and stderr: PASS/FAIL, which candidate, which requirements it
    misses by name (the figures are in the verdict above it)."""
    if result.passed and result.selected is not None:
        return f"PASS {result.gate}: {result.selected.label} on {result.target} meets all {len(result.checks)} requirements"
    failed = [c.requirement for c in result.checks if not c.passed]
    who = f"best candidate {result.best.label}" if result.best else "no allowed candidate"
    return (f"FAIL {result.gate}: {who} on {result.target} misses {len(failed)} of {len(result.checks)} "
            f"requirements ({', '.join(failed)})")


def verdict_lines(result: GateResult) -> list[str]:
    """The verdict a person reads: the headline, the candidate's figures, one line per miss."""
    lines = [headline(result)]
    b = result.best
    if b is not None:
        lines.append(f"  {'selected' if result.passed else 'closest'}: {b.label}: {_fig(b.latency_ms, 'ms')}, "
                     f"{_fig(b.throughput_per_s, b.throughput_unit)}, {megabytes(b.memory_mb)} ({b.bound}-bound)")
    width = max((len(c.requirement) for c in result.checks), default=0)
    for chk in result.checks:
        if not chk.passed:
            lines.append(f"  x {chk.requirement:<{width}}  {_miss(chk, result)}")
    return lines


def uncounted_warning(result: GateResult) -> str | None:
    """The candidate's model has ops the profiler could not count: a PASS may not hold."""
    from advisor.predict.engine import UNCOUNTED_OPS

    found = next((w for w in (result.best.warnings if result.best else []) if w.startswith(UNCOUNTED_OPS)), None)
    return f"warning: {found}; the predicted figures are underestimated" if found else None


def _accuracy(c: CandidateFigures) -> CandidateAccuracy | None:
    """The figures the stored sensitivity report gave the candidate (None: scheme not measured)."""
    if c.accuracy_scheme is None:
        return None
    return CandidateAccuracy(scheme=c.accuracy_scheme, output_sqnr_db=c.output_sqnr_db,
                             top1_agreement=c.top1_agreement, risk=c.accuracy_risk or "low")


def accuracy_columns(result: GateResult, listed: list[CandidateVerdict]) -> tuple[list[str], list[list[str]]]:
    """When the config names weights: the accuracy headers (output SQNR with its risk; top-1
    agreement when the model classifies) and each listed candidate's cells; none otherwise."""
    from advisor.recommend import accuracy

    if not result.weights_named:
        return [], [[] for _ in listed]
    headers, cells = accuracy.columns(_accuracy(c) for c in result.candidates)
    return headers, [cells(_accuracy(c)) for c in listed]


def accuracy_legend(result: GateResult, listed: list[CandidateVerdict]) -> str | None:
    from advisor.recommend import accuracy

    if not result.weights_named:
        return None
    return accuracy.legend((c.precision, _accuracy(c)) for c in listed)


def render_json(result: GateResult) -> str:
    from advisor.finite_json import check_finite

    check_finite(result.model_dump(), "gate result")  # pydantic would write NaN as null silently
    return result.model_dump_json(indent=2)


def render_table(result: GateResult, width: int | None = None) -> str:
    """The verdict, then the requirements and the top candidates in tables that fit ``width``
    (default: the terminal's)."""
    from rich.console import Console

    width = width or min(display_console().width, 200)
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    print_lines(console, verdict_lines(result))
    if warning := uncounted_warning(result):
        print_lines(console, [warning])
    console.print()
    rows = [[chk.requirement, _limit(chk, result), _value(chk, result), _margin(chk, result),
             "pass" if chk.passed else "FAIL"] for chk in result.checks]
    console.print(fitted_table([Column("requirement"), Column("limit", "right"), Column("value", "right"),
                                Column("margin", "right", priority=1), Column("result")], rows, width,
                               title="requirements"))
    if result.candidates:
        unit = result.best.throughput_unit if result.best else "items/s"
        listed = result.candidates[:SHOWN_CANDIDATES]
        acc_headers, acc_cells = accuracy_columns(result, listed)
        rows = [[str(c.rank), c.model, c.framework, c.precision, sig3(c.latency_ms), sig3(c.throughput_per_s),
                 *acc, megabytes(c.memory_mb), "pass" if c.passed else "misses " + ", ".join(c.failed)]
                for c, acc in zip(listed, acc_cells)]
        shown = len(listed)
        title = f"candidates ({shown} of {len(result.candidates)})" if shown < len(result.candidates) \
            else f"candidates ({len(result.candidates)})"
        # dropped first when narrow: the model, then memory; the verdict is cut short, never dropped.
        # With accuracy columns: then top-1 agreement, and the verdict is cut short before the
        # output SQNR goes (the lines above the table name the misses)
        model, memory, verdict = (4, 3, 1) if acc_headers else (2, 1, 0)
        acc_columns = [Column(h, "right", priority=1 if i == 0 else 2) for i, h in enumerate(acc_headers)]
        console.print(fitted_table([Column("#", "right"), Column("model", shrink=True, min_width=8, priority=model),
                                    Column("framework"), Column("precision"), Column("latency ms", "right"),
                                    Column(unit, "right"), *acc_columns, Column("memory", "right", priority=memory),
                                    Column("verdict", shrink=True, min_width=10, priority=verdict)], rows, width,
                                   title=title))
        if legend := accuracy_legend(result, listed):
            print_lines(console, [legend])
    if result.excluded:
        print_lines(console, [f"excluded: {len(result.excluded)} combinations (--format json lists the reasons)"])
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
            f"{_fig(b.latency_ms, 'ms')}, {_fig(b.throughput_per_s, b.throughput_unit)}, {megabytes(b.memory_mb)} "
            f"({b.bound}-bound)."
        )
    else:
        lines.append("No allowed candidate: every combination was excluded.")
    if warning := uncounted_warning(result):
        lines += ["", f"**{_md_escape(warning)}**"]
    lines += ["", "| requirement | limit | value | margin | result |", "|---|---:|---:|---:|---|"]
    for chk in result.checks:
        mark = ":white_check_mark: pass" if chk.passed else ":x: fail"
        lines.append(f"| `{chk.requirement}` | {_limit(chk, result)} | {_value(chk, result)} | {_margin(chk, result)} "
                     f"| {mark} |")
    failed = [c for c in result.checks if not c.passed]
    if failed:
        lines += [""] + [f"- `{c.requirement}`: {_md_escape(_miss(c, result))}" for c in failed]
    if result.candidates:
        lines += ["", f"<details><summary>{len(result.candidates)} candidates</summary>", ""]
        unit = result.best.throughput_unit if result.best else "items/s"
        acc_headers, acc_cells = accuracy_columns(result, result.candidates)
        lines += [f"| rank | model | precision | framework | latency ms | {unit} | "
                  + "".join(f"{h} | " for h in acc_headers) + "memory | verdict |",
                  "|---:|---|---|---|---:|---:|" + "---:|" * len(acc_headers) + "---:|---|"]
        for c, acc in zip(result.candidates, acc_cells):
            verdict = "pass" if c.passed else "misses " + ", ".join(f"`{f}`" for f in c.failed)
            lines.append(
                f"| {c.rank} | {c.model} | {c.precision} | {c.framework} | {sig3(c.latency_ms)} | "
                f"{sig3(c.throughput_per_s)} | " + "".join(f"{cell} | " for cell in acc)
                + f"{megabytes(c.memory_mb)} | {verdict} |"
            )
        if legend := accuracy_legend(result, result.candidates):
            lines += ["", _md_escape(legend)]
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
