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
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.domain.accuracy import CandidateAccuracy as Accuracy
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
        return Accuracy(scheme="exact", output_sqnr_db=None, top1_agreement=1.0 if classifier else None, risk="low")
    if report is None:
        return None
    for name in REPORT_SCHEMES.get(precision, (precision,)):
        result = report.scheme(name)
        if result is not None and result.cosine is not None:  # measured on outputs (not data-free)
            return Accuracy(scheme=name, output_sqnr_db=result.output_sqnr_db, top1_agreement=result.top1_agreement,
                            risk=risk_level(result.output_sqnr_db))
    return None


def accuracy_sort_key(accuracy: Accuracy | None) -> tuple[float, float]:
    """Most accurate first: top-1 disagreement, then lower SQNR; unknown accuracy last."""
    if accuracy is None:
        return (2.0, 0.0)
    disagreement = 0.0 if accuracy.top1_agreement is None else 1.0 - accuracy.top1_agreement
    sqnr = float("inf") if accuracy.output_sqnr_db is None else accuracy.output_sqnr_db
    return (disagreement, -sqnr)
