"""Requests and answers of `recommend`, shared by the CLI, the gate and the service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from advisor.display import sig3
from advisor.domain.candidates import Candidate, Exclusion
from advisor.domain.workload_kinds import kind_label
from advisor.precision import KvCacheDtype
from advisor.predict.platform_corrections import PlatformFit
from advisor.recommend.speedup import PrecisionSpeedup
from advisor.workload import Phase, Workload


class RecommendRequest(BaseModel):
    """Several models at one workload shape, a target and a budget.

    Fields are named like the CLI options and stay flat: the HTTP body and the gate config
    use the same names, and clients rely on them. The shape fields are those of
    advisor.workload.Workload; ``workload(model)`` is the one way they become a Workload.
    """

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    target: str
    batch: int | None = Field(default=None, ge=1)
    input_shape: str | None = None
    phase: Phase | None = None
    seq_len: int | None = Field(default=None, ge=1)
    context: int | None = Field(default=None, ge=1)
    kv_cache: KvCacheDtype | None = None
    #: the most devices a model that does not fit one may be split over (tensor parallel);
    #: None: as many as the platform's interconnect links
    devices: int | None = Field(default=None, ge=1, le=1024)
    max_latency_ms: float | None = Field(default=None, gt=0)
    min_throughput: float | None = Field(default=None, gt=0)
    max_memory_mb: float | None = Field(default=None, gt=0)
    frameworks: list[str] | None = None
    precisions: list[str] | None = None
    top: int | None = Field(default=None, ge=1)

    @classmethod
    def of(cls, workload: Workload, *, models: list[str] | None = None, **fields: Any) -> RecommendRequest:
        """A request at ``workload``'s shape for ``models`` (default: the workload's own model);
        ``fields`` are the target, budget and filters."""
        shape = workload.model_dump(include=cls.model_fields.keys() - {"models"})
        if "devices" not in workload.model_fields_set:  # Workload's default 1 is not a cap
            shape.pop("devices", None)
        return cls(models=[workload.model] if models is None else models, **shape, **fields)

    def workload(self, model: str) -> Workload:
        """What is asked about ``model``: the request's shape and phase applied to it."""
        return Workload.from_options(model, self)


class Recommendation(BaseModel):
    target: str
    candidates: list[Candidate]
    excluded: list[Exclusion]
    #: the best candidate's precision against the other side of the float / low-precision line
    #: (advisor.recommend.speedup); JSON carries it only when there is one (render.to_json)
    speedup: PrecisionSpeedup | None = Field(default=None, exclude=True)
    #: the platform's published correction when the predictions carry it (advisor.predict.
    #: platform_corrections); JSON carries it only then (render.to_json)
    published_correction: PlatformFit | None = Field(default=None, exclude=True)
    #: when the predictions carry none: the platform's published figures for OTHER workload
    #: kinds, which are not applied (a decode on a board whose campaigns measured CNNs)
    published_elsewhere: list[PlatformFit] = Field(default_factory=list, exclude=True)

    def published_line(self) -> str | None:
        """One line saying that every latency includes the platform's published figure, or that
        the figures published for the platform's other workloads are not applied."""
        fit = self.published_correction
        if fit is None:
            if not self.published_elsewhere:
                return None
            figures = "; ".join(f"x{sig3(f.multiplier)} from {kind_label(f.workload)} rows" for f in self.published_elsewhere)
            return (f"latencies on {self.target} carry no published correction: its published figures ({figures}) "
                    "come from other workloads than these (docs/predictor.md, section 13)")
        kind = kind_label(fit.workload)
        return (f"latencies on {self.target} include its published correction x{sig3(fit.multiplier)}: `advisor "
                f"fit` on {fit.rows} published {kind} rows of {', '.join(fit.sources)} (docs/predictor.md, section 13)")
