"""The accuracy side of a recommendation (`recommend --weights W`): each candidate gets the figures
the stored sensitivity report on W has for its precision, and candidates the predictor cannot
tell apart by latency (the best one and those whose p10-p90 range overlaps it) are ordered by
accuracy instead, most accurate first. Candidates outside that group keep their order.

The figures are columns of the ranked table (``output SQNR`` with the risk level, ``top-1``),
here and in the gate's tables; ``legend`` is the line under the table that says where they
come from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.domain.accuracy import NOT_MEASURED
from advisor.domain.accuracy import CandidateAccuracy as Accuracy
from advisor.domain.candidates import Candidate
from advisor.errors import InputError
from advisor.recommend.types import Recommendation
from advisor.sensitivity.lookup import accuracy_for, accuracy_sort_key, stored_report

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from advisor.db.store import Store

#: the accuracy columns' headers (recommend and gate tables, Markdown)
SQNR_HEADER, TOP1_HEADER = "output SQNR", "top-1"


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


def sqnr_cell(accuracy: Accuracy | None) -> str:
    """'18.2 dB high', 'exact', or '-' when no stored report measured the candidate's scheme."""
    return NOT_MEASURED if accuracy is None else accuracy.sqnr_cell()


def top1_cell(accuracy: Accuracy | None) -> str:
    return NOT_MEASURED if accuracy is None else accuracy.top1_cell()


def shows_top1(accuracies: Iterable[Accuracy | None]) -> bool:
    """The top-1 column only when the report measured agreement (the model classifies)."""
    return any(a is not None and a.top1_agreement is not None for a in accuracies)


def columns(measured: Iterable[Accuracy | None]) -> tuple[list[str], Callable[[Accuracy | None], list[str]]]:
    """The accuracy headers of a table over ``measured`` (output SQNR with its risk; top-1
    agreement when the model classifies) and the cells of one candidate's figures."""
    if shows_top1(measured):
        return [SQNR_HEADER, TOP1_HEADER], lambda a: [sqnr_cell(a), top1_cell(a)]
    return [SQNR_HEADER], lambda a: [sqnr_cell(a)]


def legend(measured: Iterable[tuple[str, Accuracy | None]]) -> str:
    """The line under a table with accuracy columns: where the figures come from, what the
    risk levels mean, and which report scheme stands for a precision of another name."""
    from advisor.sensitivity.report import HIGH_RISK_SQNR_DB, LOW_RISK_SQNR_DB

    measured = list(measured)
    text = (f"accuracy from the stored sensitivity report on the weights: {SQNR_HEADER} with its risk "
            f"(low >= {LOW_RISK_SQNR_DB:g} dB, med, high < {HIGH_RISK_SQNR_DB:g} dB)")
    if shows_top1(a for _, a in measured):
        text += f", {TOP1_HEADER} agreement with fp32"
    text += f"; exact: not quantized; {NOT_MEASURED}: scheme not measured"
    read_as = {precision: a.scheme for precision, a in measured
               if a is not None and a.scheme not in ("exact", precision)}
    if read_as:
        text += "; " + ", ".join(f"{precision} read from {scheme}" for precision, scheme in read_as.items())
    return text
