"""The gate's verdict, as the JSON output, the baseline file and the HTTP response share it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from advisor.domain.candidates import Exclusion, RankedCombination


class CandidateFigures(RankedCombination):
    """One allowed candidate with every figure a requirement can look at."""

    memory_mb: float
    params: int
    flops: int
    bound: str
    warnings: list[str] = Field(default_factory=list)
    #: from the stored sensitivity report on the config's weights (None: not measured);
    #: ``accuracy_scheme`` is the report scheme read, "exact" for unquantized precisions
    output_sqnr_db: float | None = None
    top1_agreement: float | None = None
    accuracy_risk: str | None = None
    accuracy_scheme: str | None = None
    #: the candidate's best serving plan (advisor plan), when the gate has serving requirements
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens_per_s: float | None = None
    cost_per_million_tokens: float | None = None
    devices: int | None = None
    #: the pessimistic end of the prediction interval (0: none known), for ``use: high``
    latency_ms_high: float = 0.0
    throughput_per_s_low: float = 0.0
    #: what the throughput counts (img/s, seq/s, tok/s), for people; not in the JSON
    throughput_unit: str = Field(default="items/s", exclude=True)

    @property
    def label(self) -> str:
        return f"{self.model} {self.precision} {self.framework}"


class Check(BaseModel):
    """One requirement applied to one candidate.

    ``margin`` is the headroom in the metric's unit (negative: over budget by that much);
    ``margin_pct`` the same relative to the limit.
    """

    requirement: str  # "max_latency_ms", "latency_regression"...
    metric: str  # the candidate figure it looks at: "latency_ms", "throughput_per_s"...
    comparison: Literal["<=", ">="]
    limit: float
    value: float | None
    passed: bool
    margin: float | None = None
    margin_pct: float | None = None
    message: str


class CandidateVerdict(CandidateFigures):
    passed: bool
    failed: list[str] = Field(default_factory=list)  # requirement names it misses


class GateResult(BaseModel):
    gate: str
    target: str
    passed: bool
    #: the first candidate in rank order that meets every requirement (None when none does)
    selected: CandidateFigures | None = None
    #: ``selected`` when the gate passes, else the candidate closest to passing
    best: CandidateFigures | None = None
    #: every requirement applied to ``best`` (when there is no candidate at all: all failed)
    checks: list[Check]
    candidates: list[CandidateVerdict]
    excluded: list[Exclusion] = Field(default_factory=list)
    #: the baseline's figures that the regression checks compared against
    baseline: CandidateFigures | None = None
    advisor_version: str = ""
    #: the config names weights: the tables show each candidate's accuracy (not in the JSON,
    #: which has the figures per candidate)
    weights_named: bool = Field(default=False, exclude=True)
