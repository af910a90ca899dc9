"""Requests and answers of `recommend`, shared by the CLI, the gate and the service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RecommendRequest(BaseModel):
    """Fields are named like the CLI options (the HTTP body uses the same names)."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    target: str
    batch: int | None = Field(default=None, ge=1)
    input_shape: str | None = None
    phase: str | None = None
    seq_len: int | None = Field(default=None, ge=1)
    context: int | None = Field(default=None, ge=1)
    max_latency_ms: float | None = Field(default=None, gt=0)
    min_throughput: float | None = Field(default=None, gt=0)
    max_memory_mb: float | None = Field(default=None, gt=0)
    frameworks: list[str] | None = None
    precisions: list[str] | None = None
    top: int | None = Field(default=None, ge=1)


class RuleFinding(BaseModel):
    rule: str
    action: str  # "exclude" | "penalty" | "warning"
    reason: str
    penalty: float = 1.0  # latency multiplier for "penalty"


class Candidate(BaseModel):
    rank: int
    model: str
    precision: str
    framework: str
    latency_ms: float
    throughput_per_s: float
    bound: str
    memory_mb: float
    warnings: list[str] = Field(default_factory=list)
    rules: list[RuleFinding] = Field(default_factory=list)


class Excluded(BaseModel):
    model: str
    precision: str
    framework: str
    reasons: list[str]


class Recommendation(BaseModel):
    target: str
    candidates: list[Candidate]
    excluded: list[Excluded]
