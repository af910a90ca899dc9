"""The accuracy side of a recommendation (`recommend --weights W`): each candidate gets the figures
the stored sensitivity report on W has for its precision, and candidates the predictor cannot
tell apart by latency (the best one and those whose p10-p90 range overlaps it) are ordered by
accuracy instead, most accurate first. Candidates outside that group keep their order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.domain.candidates import Candidate
from advisor.errors import InputError
from advisor.recommend.types import Recommendation
from advisor.sensitivity.lookup import accuracy_for, accuracy_sort_key, stored_report

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.db.store import Store

HEADER = ("#", "model", "framework", "precision", "report scheme", "output SQNR", "top-1 agreement", "risk")


def with_accuracy(rec: Recommendation, store: Store, weights: Path) -> Recommendation:
    """``rec`` with each candidate's accuracy from the report on ``weights``, re-ranked within error."""
    reports = {model: stored_report(store, Path(weights), model) for model in {c.model for c in rec.candidates}}
    if rec.candidates and all(report is None for report in reports.values()):
        raise InputError(f"--weights {weights}: no sensitivity report is stored for these weights; "
                         "run `advisor sensitivity --weights ...` first")
    candidates = [c.model_copy(update={"accuracy": accuracy_for(reports[c.model], c.precision)})
                  for c in rec.candidates]
    return rec.model_copy(update={"candidates": rank_within_error_by_accuracy(candidates)})


def rank_within_error_by_accuracy(candidates: list[Candidate]) -> list[Candidate]:
    """The indistinguishable group (rank 1 and ``within_error_of_best``) sorted by accuracy, the
    rest after it in their order; ranks renumbered from 1."""
    ordered = sorted(candidates, key=lambda c: c.rank)
    group = [c for c in ordered if c.rank == ordered[0].rank or c.within_error_of_best] if ordered else []
    rest = [c for c in ordered if c not in group]
    group.sort(key=lambda c: accuracy_sort_key(c.accuracy))  # stable: latency order among equals
    return [c.model_copy(update={"rank": i}) for i, c in enumerate(group + rest, 1)]


def has_accuracy(rec: Recommendation) -> bool:
    return any(c.accuracy is not None for c in rec.candidates)


def add_to_json(data: dict[str, Any], rec: Recommendation) -> None:
    """Put ``accuracy`` into the dumped candidates that have one (absent otherwise, so the JSON of
    a recommendation without --weights is unchanged)."""
    for entry, candidate in zip(data.get("candidates", []), rec.candidates):
        if candidate.accuracy is not None:
            entry["accuracy"] = candidate.accuracy.model_dump(mode="json")


def _rows(rec: Recommendation) -> list[tuple[str, ...]]:
    rows = []
    for c in rec.candidates:
        a = c.accuracy
        if a is None:
            rows.append((str(c.rank), c.model, c.framework, c.precision, "not measured", "-", "-", "-"))
            continue
        sqnr = "exact" if a.output_sqnr_db is None else f"{a.output_sqnr_db:.3g} dB"
        top1 = "-" if a.top1_agreement is None else f"{100 * a.top1_agreement:.3g} %"
        rows.append((str(c.rank), c.model, c.framework, c.precision, a.scheme, sqnr, top1, a.risk))
    return rows


def markdown_lines(rec: Recommendation) -> list[str]:
    if not has_accuracy(rec):
        return []
    lines = ["", "## Accuracy (stored sensitivity report on the weights)", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return lines + ["| " + " | ".join(row) + " |" for row in _rows(rec)]


def print_table(console: Console, rec: Recommendation) -> None:
    from advisor.display import Column, fitted_table

    if not has_accuracy(rec):
        return
    columns = [Column(h, "right" if h in ("#", "output SQNR", "top-1 agreement") else "left",
                      priority=1 if h == "report scheme" else 0) for h in HEADER]
    console.print(fitted_table(columns, _rows(rec), console.width,
                               title="Accuracy (stored sensitivity report on the weights; ties in latency ranked by it)"))
