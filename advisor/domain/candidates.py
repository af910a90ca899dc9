"""What the recommender returns per combination: a ranked ``Candidate`` or an ``Exclusion``.

Both keep the rules' findings as structure. Their JSON is the command line's contract
(design.md: ``candidates[]`` and ``excluded[]`` with ``reasons[]``), so the serialised shape
is fixed here: an exclusion's ``reasons`` are derived from its findings, and a candidate's
``rules`` (shown with --explain) keep the keys they always had.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, computed_field, field_serializer

from advisor.domain.accuracy import CandidateAccuracy
from advisor.domain.findings import Finding


class RankedCombination(BaseModel):
    """A ranked model x precision x framework and its headline figures: the fields a
    recommend ``Candidate`` and a gate candidate (advisor.gate.types.CandidateFigures) share,
    first in both JSON objects."""

    rank: int
    model: str
    precision: str
    framework: str
    latency_ms: float
    throughput_per_s: float


class Candidate(RankedCombination):
    """One runnable combination with its predicted figures.

    ``params`` and ``flops`` come from the profile the prediction was made from, so that the
    gate can judge them without reloading it; they are not part of the recommend JSON.
    """

    bound: str
    #: p10-p90 range of the latency (penalties applied), and what dominates its width
    latency_ms_low: float = 0.0
    latency_ms_high: float = 0.0
    uncertainty: str = ""
    #: its range overlaps the best candidate's: not distinguishable from the best by prediction
    within_error_of_best: bool = False
    memory_mb: float
    #: devices the model is split over (tensor parallel; memory_mb is per device, latency
    #: includes the all-reduces): 1 unless it does not fit one device (advisor.recommend.multidevice)
    devices: int = 1
    tensor_parallel: int = 1
    warnings: list[str] = Field(default_factory=list)
    rules: list[Finding] = Field(default_factory=list)
    params: int = Field(default=0, exclude=True)
    flops: int = Field(default=0, exclude=True)
    #: from the stored sensitivity report (recommend --weights); rendering adds it to the JSON when set
    accuracy: CandidateAccuracy | None = Field(default=None, exclude=True)
    #: the profile's LLM phase (throughput is then tokens/s); not part of the recommend JSON
    phase: str | None = Field(default=None, exclude=True)
    #: what the throughput counts, for people: img/s, seq/s, tok/s (advisor.display.throughput_unit)
    throughput_unit: str = Field(default="items/s", exclude=True)
    #: the profile's input shape (batch first), for deployment recipes (trtexec --shapes)
    input_shape: list[int] = Field(default_factory=list, exclude=True)
    #: ops of the profile without a cost formula (not counted: the prediction is low)
    uncounted_ops: list[str] = Field(default_factory=list, exclude=True)

    @field_serializer("rules")
    def _rules_json(self, rules: list[Finding]) -> list[dict[str, Any]]:
        return [{"rule": f.rule, "action": f.action, "reason": f.message, "penalty": f.penalty} for f in rules]


class Exclusion(BaseModel):
    """A combination that cannot run or misses the user's budget, and every finding on it.

    Read back from JSON (a gate baseline) only the names survive: ``reasons`` is derived,
    the findings are not reconstructed from their sentences.
    """

    model: str
    precision: str
    framework: str
    findings: list[Finding] = Field(default_factory=list, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reasons(self) -> list[str]:
        """One sentence per excluding finding: "message [rule]" (constraints: the message)."""
        return [f.cited for f in self.findings if f.excludes]

    def only_rules(self, names: tuple[str, ...]) -> bool:
        """Whether every excluding finding comes from one of these rules."""
        excluding = [f for f in self.findings if f.excludes]
        return bool(excluding) and all(f.source == "rule" and f.rule in names for f in excluding)
