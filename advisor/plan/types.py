"""What `advisor plan` is asked and what it answers (JSON keys as design.md lists them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: weight schemes tried when none are given (bf16 predicts as fp16; fp32/tf32 are not served)
DEFAULT_PRECISIONS: tuple[str, ...] = ("fp16", "fp8", "int8", "w8a16", "w4a16")
DEFAULT_KV_CACHES: tuple[str, ...] = ("fp16",)
#: device counts tried when none are given (capped by each platform's interconnect)
DEFAULT_DEVICES: tuple[int, ...] = (1, 2, 4, 8)


#: Longest prompt or output a plan takes (tokens); the service's body uses the same bound.
MAX_SEQUENCE_TOKENS = 1_000_000

class PlanRequest(BaseModel):
    """One serving question: a model, targets, device counts, a request shape and objectives."""

    model_config = ConfigDict(extra="forbid")

    model: str
    targets: list[str] = Field(min_length=1)  # platform ids, or ["all"]
    devices: list[int] | None = None
    input_len: int = Field(ge=1, le=MAX_SEQUENCE_TOKENS)
    output_len: int = Field(ge=1, le=MAX_SEQUENCE_TOKENS)
    ttft_ms: float | None = Field(default=None, gt=0)
    tpot_ms: float | None = Field(default=None, gt=0)
    min_output_tokens_per_s: float | None = Field(default=None, gt=0)
    #: running requests to evaluate at; None: the best concurrency under the objectives
    concurrency: int | None = Field(default=None, ge=1, le=100_000)
    frameworks: list[str] | None = None
    precisions: list[str] | None = None
    kv_caches: list[str] | None = None
    prices: dict[str, float] = Field(default_factory=dict)  # platform id -> USD per device-hour

    @model_validator(mode="after")
    def _positive(self) -> "PlanRequest":
        for count in self.devices or []:
            if count < 1 or count > 1024:
                raise ValueError(f"devices: {count} is not between 1 and 1024")
        for pid, price in self.prices.items():
            if not 0 < price <= 1000:
                raise ValueError(f"price: {pid}={price:g} is not between 0 and 1000 USD per hour")
        return self


class Plan(BaseModel):
    """One way to serve the model, at its best concurrency under the objectives."""

    target: str
    devices: int
    tensor_parallel: int
    pipeline_parallel: int
    framework: str
    precision: str
    kv_cache: str
    #: the most requests whose KV pages fit (memory, and the framework's scheduler cap)
    max_concurrency: int
    #: the running requests the figures below are for (the best under the objectives)
    concurrency: int
    output_tokens_per_s: float
    output_tokens_per_s_per_device: float
    ttft_ms: float
    tpot_ms: float
    memory_per_device_gb: float
    price_per_device_hour: float | None
    cost_per_million_tokens: float | None
    energy_per_million_tokens_kwh: float | None
    meets_slo: bool
    bound: str


class PlanExcluded(BaseModel):
    target: str
    devices: int | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    framework: str | None = None
    precision: str | None = None
    kv_cache: str | None = None
    reasons: list[str]


class PlanReport(BaseModel):
    model: str
    input_len: int
    output_len: int
    slo: dict[str, float] = Field(default_factory=dict)
    ranked_by: str
    plans: list[Plan]
    excluded: list[PlanExcluded]
