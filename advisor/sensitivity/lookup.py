"""A stored sensitivity report for the decision stages (recommend, gate): found by the weights'
content hash, read per candidate precision. No torch import.

A candidate's precision is an advisor scheme (design.md's vocabulary); the report may have
measured it under a more specific name. The first report scheme in ``REPORT_SCHEMES`` that the
report holds stands for the candidate: ``int8`` is per-channel weights with per-tensor inputs in
TensorRT and ONNX Runtime, so its per-channel measurement comes first; a w4a16 candidate is read
from ``w4a16`` (groups) or else from ``q4_k_m``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.sensitivity.files import content_hash
from advisor.sensitivity.report import SensitivityReport, risk_level

if TYPE_CHECKING:
    from advisor.db.store import Store

REPORT_SCHEMES: dict[str, tuple[str, ...]] = {
    "int8": ("int8", "int8-tensor"),
    "fp8": ("fp8",),
    "w8a16": ("w8a16", "q8_0"),
    "w4a16": ("w4a16", "q4_k_m"),
}
#: Precisions that quantize nothing: no measurable accuracy cost (fp16/bf16 rounding is far below
#: any scheme's error).
UNQUANTIZED = frozenset({"fp32", "tf32", "fp16", "bf16"})


@dataclass(frozen=True)
class Accuracy:
    """What a report says about one candidate precision."""

    scheme: str  # the report scheme read ("exact" for unquantized precisions)
    output_sqnr_db: float | None
    top1_agreement: float | None
    risk: str

    def cell(self) -> str:
        """A table cell: '31.2 dB, 99.5 %, low'."""
        if self.scheme == "exact":
            return "exact"
        parts = ["exact" if self.output_sqnr_db is None else f"{self.output_sqnr_db:.3g} dB"]
        if self.top1_agreement is not None:
            parts.append(f"{100 * self.top1_agreement:.3g} %")
        parts.append(self.risk)
        return ", ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {"scheme": self.scheme, "output_sqnr_db": self.output_sqnr_db,
                "top1_agreement": self.top1_agreement, "risk": self.risk}


def stored_report(store: Store, weights: Path, model: str | None = None) -> SensitivityReport | None:
    """The newest report on the weights at ``weights`` (for ``model``, when given), or None."""
    payload = store.get_sensitivity_report(content_hash(Path(weights)), model)
    if payload is None and model is not None:
        payload = store.get_sensitivity_report(content_hash(Path(weights)))
    return None if payload is None else SensitivityReport.from_json(json.loads(payload))


def accuracy_for(report: SensitivityReport | None, precision: str) -> Accuracy | None:
    """The report's figures for a candidate precision; None when no report measured it.
    Unquantized precisions are exact with or without a report."""
    if precision in UNQUANTIZED:
        classifier = report is not None and any(s.top1_agreement is not None for s in report.schemes)
        return Accuracy("exact", None, 1.0 if classifier else None, "low")
    if report is None:
        return None
    for name in REPORT_SCHEMES.get(precision, (precision,)):
        result = report.scheme(name)
        if result is not None and result.cosine is not None:  # measured on outputs (not data-free)
            return Accuracy(name, result.output_sqnr_db, result.top1_agreement, risk_level(result.output_sqnr_db))
    return None


def accuracy_sort_key(accuracy: Accuracy | None) -> tuple[float, float]:
    """Most accurate first: top-1 disagreement, then lower SQNR; unknown accuracy last."""
    if accuracy is None:
        return (2.0, 0.0)
    disagreement = 0.0 if accuracy.top1_agreement is None else 1.0 - accuracy.top1_agreement
    sqnr = float("inf") if accuracy.output_sqnr_db is None else accuracy.output_sqnr_db
    return (disagreement, -sqnr)
