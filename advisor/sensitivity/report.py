"""The sensitivity report: what each scheme costs in accuracy, which layers cause it, and the fix.

JSON keys follow design.md: ``schemes[]`` (``scheme``, ``output_sqnr_db``, ``top1_agreement``,
``perplexity_delta``), ``layers[]`` (``name``, ``scheme``, ``sqnr_db``; most sensitive first) and
``suggestion`` (``scheme``, ``keep_16bit[]``, ``output_sqnr_db``, ``latency_ms``). An SQNR of
``null`` means the quantized values were exact (no measurable noise). No torch import here: the
database and the gate read reports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: Risk levels from output SQNR: a rule of thumb, not a fit. On the digits models of
#: benchmarks/sensitivity_digits.py (docs/sensitivity.md) the schemes at or above 30 dB kept 100 % top-1
#: agreement and those under 10 dB lost 4.5 to 86 points of accuracy; compare schemes within a model.
LOW_RISK_SQNR_DB = 30.0
HIGH_RISK_SQNR_DB = 20.0


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def risk_level(output_sqnr_db: float | None) -> str:
    """``low`` / ``medium`` / ``high`` accuracy risk from the output SQNR (None = exact = low)."""
    if output_sqnr_db is None or output_sqnr_db >= LOW_RISK_SQNR_DB:
        return "low"
    return "medium" if output_sqnr_db >= HIGH_RISK_SQNR_DB else "high"


def predicted_error_key(result: SchemeResult) -> tuple[float, float]:
    """Sort key, least predicted accuracy loss first: top-1 disagreement where the model
    classifies (the direct predictor of an accuracy drop), then output SQNR (higher is better)."""
    disagreement = 0.0 if result.top1_agreement is None else 1.0 - result.top1_agreement
    sqnr = math.inf if result.output_sqnr_db is None else result.output_sqnr_db
    return (disagreement, -sqnr)


@dataclass
class SchemeResult:
    """Whole model quantized with one scheme, compared with fp32 on the calibration set."""

    scheme: str
    output_sqnr_db: float | None
    cosine: float | None = None
    top1_agreement: float | None = None  # classifiers: share of samples whose argmax is unchanged
    perplexity_delta: float | None = None  # language models: quantized minus fp32 perplexity
    weight_bits: float | None = None
    weight_sqnr_db: float | None = None  # all weights' noise against all weights' signal

    @property
    def risk(self) -> str:
        if self.output_sqnr_db is None and self.cosine is None:
            return "unknown"  # data-free: no output was measured
        return risk_level(self.output_sqnr_db)


@dataclass
class LayerResult:
    """One layer quantized alone: its own output SQNR (local) or the model's (e2e)."""

    name: str
    scheme: str
    sqnr_db: float | None
    kind: str = ""  # Linear / Conv2d ...
    params: int = 0


@dataclass
class Suggestion:
    """The fewest most-sensitive layers to keep at 16 bits so the model meets the target."""

    scheme: str
    keep_16bit: list[str]
    output_sqnr_db: float | None
    top1_agreement: float | None = None
    baseline_output_sqnr_db: float | None = None  # everything quantized
    baseline_top1_agreement: float | None = None
    target: str = ""  # e.g. "output_sqnr_db >= 30"
    met: bool = True
    latency_ms: float | None = None
    baseline_latency_ms: float | None = None


@dataclass
class SensitivityReport:
    model: str
    method: str  # local | e2e | data-free
    calib: str  # images / tokens / tensor / random / none
    samples: int
    schemes: list[SchemeResult]
    layers: list[LayerResult]
    suggestion: Suggestion | None = None
    weights_sha256: str | None = None
    target: str | None = None
    warnings: list[str] = field(default_factory=list)

    def scheme(self, name: str) -> SchemeResult | None:
        return next((s for s in self.schemes if s.scheme == name), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for entry, result in zip(data["schemes"], self.schemes):
            entry["risk"] = result.risk
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SensitivityReport:
        schemes = [SchemeResult(**{k: v for k, v in s.items() if k != "risk"}) for s in data.get("schemes", [])]
        layers = [LayerResult(**entry) for entry in data.get("layers", [])]
        suggestion = Suggestion(**data["suggestion"]) if data.get("suggestion") else None
        rest = {k: data[k] for k in ("model", "method", "calib", "samples")}
        return cls(**rest, schemes=schemes, layers=layers, suggestion=suggestion,
                   weights_sha256=data.get("weights_sha256"), target=data.get("target"),
                   warnings=list(data.get("warnings", [])))
