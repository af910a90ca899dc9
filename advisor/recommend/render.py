"""Recommendation -> table (rich), JSON or Markdown. Rendering only: no ranking here.

What a person reads first is one line, the verdict ("Use tensorrt fp16 on jetson-nano: 78.1 ms
(59.8-164), 12.8 img/s; int8 unavailable: ..."); then the top ``DEFAULT_SHOWN`` candidates
in a table that fits the terminal; then the exclusions in a few lines grouped by reason
(every one of them with --explain). JSON keeps every candidate (``--top`` trims it).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from advisor.display import Column, fitted_table, megabytes, ms_range, p10_p90, print_lines, rate, sig3
from advisor.domain.candidates import Candidate, Exclusion
from advisor.domain.findings import Finding
from advisor.finite_json import dumps
from advisor.recommend import accuracy
from advisor.recommend.types import Recommendation

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.recommend.recipes import Recipe

#: candidates the table and Markdown show when --top is not given (JSON keeps all)
DEFAULT_SHOWN = 10


def to_json(rec: Recommendation, explain: bool = False, recipes: dict[int, Recipe] | None = None) -> str:
    """model_dump of the Recommendation; the per-candidate ``rules`` only with --explain; a
    ``recipe`` per candidate with --recipe."""
    data = rec.model_dump(mode="json")
    if rec.speedup is not None:
        data["speedup"] = rec.speedup.model_dump(mode="json")
    if rec.published_correction is not None:
        data["published_correction"] = rec.published_correction.model_dump(mode="json")
    accuracy.add_to_json(data, rec)
    for entry, candidate in zip(data["candidates"], rec.candidates):
        if not explain:
            entry.pop("rules", None)
        if recipes is not None and candidate.rank in recipes:
            entry["recipe"] = recipes[candidate.rank].model_dump(mode="json")
    return dumps(data, "recommendation", indent=2)  # NaN/Infinity: one line naming the field


# -- what is excluded, and why ----------------------------------------------------------

#: exclusions that only say a framework does not apply at all (shown in full with --explain)
NOT_APPLICABLE_RULES = ("framework_device_class", "model_family")
#: the rule that says the device itself cannot compute a precision (one reason for every framework)
DEVICE_PRECISION_RULE = "hardware_precision"
#: a framework that does not run a precision (on this device class): advisor.rules.support
FRAMEWORK_PRECISION_RULE = "precision_support"


def not_applicable(e: Exclusion) -> bool:
    return e.only_rules(NOT_APPLICABLE_RULES)


def grouped_excluded(excluded: list[Exclusion]) -> list[tuple[str, str, str, list[str]]]:
    """(model, framework, precisions, reasons): one row per model x framework x same reasons."""
    groups: OrderedDict[tuple[str, str, tuple[str, ...]], list[str]] = OrderedDict()
    for e in excluded:
        groups.setdefault((e.model, e.framework, tuple(e.reasons)), []).append(e.precision)
    return [(m, f, ",".join(p), list(r)) for (m, f, r), p in groups.items()]


def not_applicable_frameworks(rec: Recommendation) -> list[str]:
    """Frameworks that do not apply here at all: every exclusion of theirs says so, and none
    of them ranks (a framework that holds ranked candidates is applicable, whatever a GGUF
    scheme or a model family says about its other combinations)."""
    ranked = {c.framework for c in rec.candidates}
    relevant = {e.framework for e in rec.excluded if not not_applicable(e)}
    return sorted({e.framework for e in rec.excluded} - ranked - relevant)


def _primary(e: Exclusion) -> Finding:
    """The finding that best explains an exclusion: the device's own limit first, then a
    user's budget, then the first rule that excluded it."""
    excluding = [f for f in e.findings if f.excludes]
    for f in excluding:
        if f.rule == DEVICE_PRECISION_RULE:
            return f
    return next((f for f in excluding if f.source == "constraint"), excluding[0])


def _without_advice(message: str) -> str:
    """"jetson-nano has no int8 support (...); use fp16" -> the fact without the advice."""
    return message.split("; use ")[0]


def _short_reason(message: str) -> str:
    """For the verdict: "jetson-nano has no int8 support (no int8 dot-product ... units)" ->
    the parenthesis, which says why; other sentences whole (without advice)."""
    fact = _without_advice(message)
    if fact.endswith(")") and "(" in fact:
        return fact[fact.index("(") + 1:-1]
    return fact


def _by_precision(exclusions: list[Exclusion]) -> str:
    """"w8a16 on 8 frameworks; fp32 on torch-compile": a group's combinations, precision by
    precision, naming the frameworks when there are one or two (--explain names them all)."""
    per_precision: OrderedDict[str, list[str]] = OrderedDict()
    for e in exclusions:
        per_precision.setdefault(e.precision, [])
        if e.framework not in per_precision[e.precision]:
            per_precision[e.precision].append(e.framework)
    return "; ".join(f"{prec} on {', '.join(fws)}" if len(fws) <= 2 else f"{prec} on {len(fws)} frameworks"
                     for prec, fws in per_precision.items())


def exclusion_lines(rec: Recommendation) -> list[str]:
    """The exclusions that matter here in a few lines, one per reason: a precision the device
    cannot compute, a budget option, or a rule (with the combinations it hit)."""
    groups: OrderedDict[tuple[str, str], list[tuple[Exclusion, Finding]]] = OrderedDict()
    for e in rec.excluded:
        if not_applicable(e):
            continue
        f = _primary(e)
        key = (f.rule, e.precision) if f.rule == DEVICE_PRECISION_RULE else (f.rule, "")
        groups.setdefault(key, []).append((e, f))
    lines = []
    # a user's budget first: with no candidate it is usually the answer to "why"
    budget_first = sorted(groups.items(), key=lambda item: item[1][0][1].source != "constraint")
    for (rule, precision), members in budget_first:
        exclusions = [e for e, _ in members]
        first = members[0][1]
        n = len(members)
        if rule == DEVICE_PRECISION_RULE:
            lines.append(f"{precision} ({n}): {_without_advice(first.message)}")
        elif first.source == "constraint":
            e, f = _closest(members)
            lines.append(f"{n} miss the budget ({rule}); the closest, {e.framework} {e.precision}: {f.message}")
        else:
            if n <= 2:  # few: their own sentences
                lines.append(f"{rule} ({n}): " + "; ".join(f"{e.framework} {e.precision}: {f.message}"
                                                           for e, f in members))
            else:
                example = f"; e.g. {exclusions[0].framework} {exclusions[0].precision}: {first.message}" \
                    if not rec.candidates else ""
                lines.append(f"{rule} ({n}): {_by_precision(exclusions)}{example}")
    return lines


def _closest(members: list[tuple[Exclusion, Finding]]) -> tuple[Exclusion, Finding]:
    """The combination nearest to meeting a budget (value/limit nearest 1), by the figures
    the constraint finding carries."""
    def distance(item: tuple[Exclusion, Finding]) -> float:
        value, limit = item[1].details.get("value"), item[1].details.get("limit")
        if not value or not limit:
            return float("inf")
        return max(value / limit, limit / value)
    return min(members, key=distance)


def unavailable_note(rec: Recommendation, precision: str = "int8") -> str | None:
    """"int8 unavailable: <why>" when the best candidate is not int8 and no int8 one ranks:
    the first thing a reader asks of a float answer is why not int8."""
    if not rec.candidates or rec.candidates[0].precision == precision:
        return None
    if any(c.precision == precision for c in rec.candidates):
        return None
    tried = [e for e in rec.excluded if e.precision == precision and not not_applicable(e)]
    if not tried:
        return None
    reasons = Counter(_short_reason(_primary(e).message) for e in tried if _primary(e).rule == DEVICE_PRECISION_RULE)
    if reasons:
        return f"{precision} unavailable: {reasons.most_common(1)[0][0]}"
    # the device runs it; the frameworks do not: say so in words, not with a rule's id
    if all(_primary(e).rule == FRAMEWORK_PRECISION_RULE for e in tried):
        frameworks = len({e.framework for e in tried})
        which = "the one framework that runs" if frameworks == 1 else f"any of the {frameworks} frameworks that run"
        return f"{precision} unavailable: not supported by {which} here (--explain lists each)"
    rule = Counter(_primary(e).rule for e in tried).most_common(1)[0][0]
    return f"{precision} unavailable: {_short_reason(next(_primary(e) for e in tried if _primary(e).rule == rule).message)}"


# -- the verdict and the candidates -------------------------------------------------------


def verdict(rec: Recommendation, names: dict[str, str] | None = None) -> str:
    """The one-line answer: what to use, how fast, and why not int8 (when it is not int8)."""
    if not rec.candidates:
        return f"No candidate meets the constraints on {rec.target}; why:"
    best = rec.candidates[0]
    framework = (names or {}).get(best.framework, best.framework)
    what = f"{best.model} with {framework}" if len({c.model for c in rec.candidates}) > 1 else framework
    where = f"{best.devices} x {rec.target} (tensor parallel)" if best.devices > 1 else rec.target
    text = (f"Use {what} {best.precision} on {where}: "
            f"{ms_range(best.latency_ms, best.latency_ms_low, best.latency_ms_high, say_side=True)}, "
            f"{rate(best.throughput_per_s, best.throughput_unit)}")
    if note := unavailable_note(rec):
        text += f"; {note}"
    return text


def throughput_header(candidates: Iterable[Candidate]) -> str:
    """The throughput column's unit: img/s, seq/s or tok/s when every candidate counts the
    same thing (one model kind), else items/s."""
    units = {c.throughput_unit for c in candidates}
    return units.pop() if len(units) == 1 else "items/s"


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


#: the mark of a candidate whose latency range overlaps the best one's
WITHIN_ERROR = "~"


def precision_cell(c: Candidate) -> str:
    """"fp16", or "fp16 TP2" for a candidate split over 2 devices with tensor parallel (its
    memory is per device, its latency includes the all-reduces)."""
    return f"{c.precision} TP{c.tensor_parallel}" if c.tensor_parallel > 1 else c.precision


def _mark(c: Candidate) -> str:
    return WITHIN_ERROR if c.within_error_of_best and c.rank != 1 else ""


def latency_cell(c: Candidate) -> str:
    """"2.87 (2.30-3.59)~": the predicted latency, its p10-p90 range, the within-error mark."""
    span = p10_p90(c.latency_ms_low, c.latency_ms_high)
    return sig3(c.latency_ms) + (f" ({span})" if span else "") + _mark(c)


def within_error_line(rec: Recommendation, shown: int | None = None) -> str | None:
    near = [c for c in rec.candidates[:shown] if c.within_error_of_best and c.rank != 1]
    if not near:
        return None
    if accuracy.has_accuracy(rec):  # the group is ordered by accuracy: #1 need not be the fastest
        return (f"{WITHIN_ERROR} within error of the fastest: {len(near)} candidate(s) whose p10-p90 latency "
                "range overlaps the fastest's, ordered by accuracy (most accurate first)")
    return (f"{WITHIN_ERROR} within error of the best: {len(near)} candidate(s) whose p10-p90 latency range "
            f"overlaps #1's")


def _notes(c: Candidate) -> str:
    """The rules that annotate a candidate, by name (--explain prints their sentences)."""
    return ", ".join(dict.fromkeys(f.rule for f in c.rules if not f.excludes)) or ("see --explain" if c.warnings else "")


def _more_line(rec: Recommendation, shown: int) -> str | None:
    hidden = len(rec.candidates) - shown
    if hidden <= 0:
        return None
    return f"... {hidden} more candidate{'s' * (hidden != 1)} (--top {len(rec.candidates)} shows all)"


def to_markdown(rec: Recommendation, explain: bool = False, shown: int = DEFAULT_SHOWN,
                names: dict[str, str] | None = None, recipes: dict[int, Recipe] | None = None) -> str:
    lines = [f"# Recommendation for {rec.target}", "", f"**{verdict(rec, names)}**", ""]
    listed = rec.candidates[:shown]
    if rec.candidates:
        acc_headers, acc_cells = _accuracy_columns(rec)
        unit = throughput_header(rec.candidates)
        lines += [f"| rank | model | framework | precision | latency ms (p10-p90) | {unit} | "
                  + "".join(f"{h} | " for h in acc_headers) + "memory | bound | notes |",
                  "|---:|---|---|---|---:|---:|" + "---:|" * len(acc_headers) + "---:|---|---|"]
        for c in listed:
            notes = "<br>".join(c.warnings) if explain else _notes(c)
            lines.append(f"| {c.rank} | {c.model} | {c.framework} | {precision_cell(c)} | {latency_cell(c)} | "
                         f"{sig3(c.throughput_per_s)} | " + "".join(f"{cell} | " for cell in acc_cells(c))
                         + f"{megabytes(c.memory_mb)} | {c.bound} | {notes} |")
        lines += ["", line] if (line := _more_line(rec, len(listed))) else []
    lines += ["", line] if (line := within_error_line(rec, shown)) else []
    lines += ["", rec.speedup.sentence()] if rec.speedup is not None else []
    lines += ["", line] if (line := rec.published_line()) else []
    lines += ["", line] if (line := _accuracy_legend(rec, listed)) else []
    if explain and rec.candidates:
        lines += ["", "## Rules fired per candidate", ""]
        for c in listed:
            fired = "; ".join(f"{f.rule} ({f.action}): {f.message}" for f in c.rules) or "none"
            lines.append(f"- #{c.rank} {c.model} {c.framework} {c.precision}, {c.bound}-bound: {fired}; "
                         f"uncertainty: {c.uncertainty or 'unknown'}")
    lines += ["", line] if (line := uncounted_line(rec)) else []
    if recipes:
        from advisor.recommend.recipes import recipe_markdown

        lines += ["", "## Deployment recipes", ""]
        for c in listed:
            if c.rank in recipes:
                lines += recipe_markdown(c, recipes[c.rank])
    if rec.excluded:
        lines += ["", "## Excluded", ""]
        if explain:
            lines += ["| model | framework | precisions | reasons |", "|---|---|---|---|"]
            for model, fw, precs, reasons in grouped_excluded(rec.excluded):
                lines.append(f"| {model} | {fw} | {precs} | {'<br>'.join(reasons)} |")
        else:
            lines += [f"- {line}" for line in exclusion_lines(rec)]
            if hidden := not_applicable_frameworks(rec):
                lines.append(f"- not applicable here (device class or model family): {', '.join(hidden)}")
    return "\n".join(lines) + "\n"


def _accuracy_columns(rec: Recommendation) -> tuple[list[str], Callable[[Candidate], list[str]]]:
    """With --weights: the headers of the accuracy columns (output SQNR with its risk; top-1
    agreement when the model classifies) and a candidate's cells; none without."""
    if not accuracy.has_accuracy(rec):
        return [], lambda c: []
    headers, cells = accuracy.columns(c.accuracy for c in rec.candidates)
    return headers, lambda c: cells(c.accuracy)


def _accuracy_legend(rec: Recommendation, listed: list[Candidate]) -> str | None:
    if not accuracy.has_accuracy(rec):
        return None
    return accuracy.legend((c.precision, c.accuracy) for c in listed)


def _candidate_table(rec: Recommendation, listed: list[Candidate], width: int):
    """The ranked candidates; the model column only when several models compete; with --weights
    the accuracy columns. Columns go in the order they are dropped when the terminal is narrow:
    notes, bound, memory, top-1 agreement, the range; the output SQNR last."""
    several_models = len({c.model for c in rec.candidates}) > 1
    acc_headers, acc_cells = _accuracy_columns(rec)
    sqnr, top1 = (acc_headers + [None, None])[:2]
    columns = [Column("#", "right"), Column("model", shrink=True, min_width=10) if several_models else None,
               Column("framework"), Column("precision"), Column("latency ms", "right"),
               Column("p10-p90 ms", "right", priority=2), Column(throughput_header(rec.candidates), "right"),
               Column(sqnr, "right", priority=1) if sqnr else None,
               Column(top1, "right", priority=3) if top1 else None,
               Column("memory", "right", priority=3), Column("bound", priority=4),
               Column("notes", shrink=True, priority=5, min_width=13)]
    if not any(_notes(c) for c in listed):
        columns[-1] = None  # no rule annotates any of them: no empty column
    rows = []
    for c in listed:
        low_high = p10_p90(c.latency_ms_low, c.latency_ms_high) or "-"
        acc = acc_cells(c) + [None, None]
        row = [str(c.rank), c.model, c.framework, precision_cell(c), sig3(c.latency_ms) + _mark(c), low_high,
               sig3(c.throughput_per_s), acc[0], acc[1], megabytes(c.memory_mb), c.bound, _notes(c)]
        rows.append([cell for cell, col in zip(row, columns) if col is not None])
    return fitted_table([col for col in columns if col is not None], rows, width)


def print_table(rec: Recommendation, explain: bool = False, shown: int = DEFAULT_SHOWN,
                names: dict[str, str] | None = None, recipes: dict[int, Recipe] | None = None,
                console: Console | None = None) -> None:
    from advisor.display import console as make_console

    out = console or make_console()
    width = out.width
    print_lines(out, [verdict(rec, names)], style="bold")
    listed = rec.candidates[:shown]
    if rec.candidates:
        out.print(_candidate_table(rec, listed, width))
        speedup = rec.speedup.sentence() if rec.speedup is not None else None
        print_lines(out, [line for line in (_more_line(rec, len(listed)), within_error_line(rec, shown), speedup,
                                            rec.published_line(), _accuracy_legend(rec, listed)) if line])
    if line := uncounted_line(rec):
        print_lines(out, [line], style="yellow")
    if explain:
        for c in listed:
            out.print(f"#{c.rank} {c.model} {c.framework} {c.precision}: {c.bound}-bound; "
                      f"uncertainty: {c.uncertainty or 'unknown'}", markup=False)
            for f in c.rules:
                out.print(f"    {f.rule} ({f.action}): {f.message}", markup=False)
    if recipes:
        from advisor.recommend.recipes import print_recipes

        print_recipes(out, [c for c in listed if c.rank in recipes], recipes)
    if not rec.excluded:
        return
    if explain:  # every exclusion with its full sentences (wrapped at word boundaries)
        out.print(f"Excluded ({len(rec.excluded)}):", markup=False)
        for model, fw, precs, reasons in grouped_excluded(rec.excluded):
            out.print(f"  {model} {fw} {precs}: " + "; ".join(reasons), markup=False)
        return
    lines = exclusion_lines(rec)
    if lines:
        count = sum(1 for e in rec.excluded if not not_applicable(e))
        print_lines(out, [f"Excluded ({count}; --explain lists each):"] + [f"  {line}" for line in lines])
    if hidden := not_applicable_frameworks(rec):
        print_lines(out, [f"Not applicable here (device class or model family): {', '.join(hidden)}"])
