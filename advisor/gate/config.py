"""The gate's config file: what to deploy where, and the budget it must meet.

Validated with pydantic so that a typo or a nonsensical budget stops the pipeline with one
line naming the file, the field and the value (exit 2) instead of a gate that silently
checks nothing. No torch import: a bad config must fail fast.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from advisor.errors import InputError
from advisor.precision import SCHEMES
from advisor.safe_input import read_yaml_file
from advisor.workload import Workload

#: A config file larger than this is not a gate config (and would be slow to parse).
MAX_CONFIG_BYTES = 1_000_000


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt requirement must not be silently skipped."""

    model_config = ConfigDict(extra="forbid")


class Requirements(_Strict):
    """The deployment budget. Each one set is checked; at least one must be set."""

    max_latency_ms: float | None = Field(default=None, gt=0, description="Predicted latency per call, ms.")
    min_throughput: float | None = Field(default=None, gt=0, description="Items/s (tokens/s for LLMs).")
    max_memory_mb: float | None = Field(default=None, gt=0, description="Predicted device memory, MB.")
    max_params: int | None = Field(default=None, gt=0, description="Parameters of the model.")
    max_flops: float | None = Field(default=None, gt=0, description="FLOPs per call at the configured batch.")
    min_output_sqnr_db: float | None = Field(
        default=None, ge=-1000, le=1000,
        description="Model output SQNR of the candidate's scheme on `weights`, dB (from `advisor sensitivity`).")
    min_top1_agreement: float | None = Field(
        default=None, gt=0, le=1, description="Share of calibration samples whose top-1 class the scheme keeps.")
    ttft_ms: float | None = Field(default=None, gt=0, description="Serving: mean time to first token, ms.")
    tpot_ms: float | None = Field(default=None, gt=0, description="Serving: mean time per output token, ms.")
    min_output_tokens_per_s: float | None = Field(
        default=None, gt=0, description="Serving: output tokens/s of the whole plan (advisor plan).")
    max_cost_per_million_tokens: float | None = Field(
        default=None, gt=0, description="Serving: USD per million output tokens (advisor plan).")

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class Regression(_Strict):
    """How much worse than the baseline a figure may get, in percent (used with --baseline)."""

    latency_pct: float = Field(default=10.0, ge=0)
    throughput_pct: float = Field(default=10.0, ge=0)
    memory_pct: float = Field(default=10.0, ge=0)
    params_pct: float = Field(default=0.0, ge=0)
    flops_pct: float = Field(default=0.0, ge=0)


class Serving(_Strict):
    """The request shape and device counts the serving requirements are planned for."""

    input_len: int = Field(default=1024, ge=1, le=1_000_000)
    output_len: int = Field(default=256, ge=1, le=1_000_000)
    devices: list[int] | None = Field(default=None, min_length=1, max_length=16)
    kv_caches: list[str] | None = Field(default=None, min_length=1, max_length=8)


class GateConfig(_Strict):
    """One gate: the models that may ship, where, how, and the budget."""

    name: str | None = Field(default=None, max_length=200)
    models: list[str] = Field(min_length=1, max_length=16)
    target: str = Field(min_length=1, max_length=100)
    input_shape: str | None = Field(default=None, max_length=100)
    batch: int | None = Field(default=None, ge=1, le=65536)
    phase: Literal["prefill", "decode"] | None = None
    seq_len: int | None = Field(default=None, ge=1, le=10_000_000)
    context: int | None = Field(default=None, ge=1, le=10_000_000)
    frameworks: list[str] | None = Field(default=None, min_length=1, max_length=64)
    precisions: list[str] | None = Field(default=None, min_length=1, max_length=16)
    requirements: Requirements
    regression: Regression = Field(default_factory=Regression)
    #: the weights whose stored `advisor sensitivity` report the accuracy requirements read
    #: (a .safetensors file, a shard directory or a state dict; found by content hash)
    weights: str | None = Field(default=None, min_length=1, max_length=4096)
    #: which latency the budget is checked against: the predicted figure ("point") or the
    #: pessimistic end of its p10-p90 range ("high": latency_ms_high, and the throughput
    #: that latency gives); regression checks against a baseline always use the point figures
    use: Literal["point", "high"] = "point"
    #: request shape for the serving requirements (ttft_ms, tpot_ms, ...), see advisor plan
    serving: Serving = Field(default_factory=Serving)

    @field_validator("models")
    @classmethod
    def _models_not_blank(cls, models: list[str]) -> list[str]:
        for m in models:
            if not m.strip():
                raise ValueError("model names must not be empty")
        return models

    @field_validator("precisions")
    @classmethod
    def _known_precisions(cls, precisions: list[str] | None) -> list[str] | None:
        for p in precisions or []:
            if p not in SCHEMES:
                near = difflib.get_close_matches(p, SCHEMES, n=2, cutoff=0.5)
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                raise ValueError(f"unknown precision '{p}'{hint} (valid: {', '.join(SCHEMES)})")
        return precisions

    @model_validator(mode="after")
    def _something_to_check(self) -> GateConfig:
        if self.requirements.is_empty():
            raise ValueError("requirements: set at least one of " + ", ".join(Requirements.model_fields))
        for accuracy in ("min_output_sqnr_db", "min_top1_agreement"):
            if getattr(self.requirements, accuracy) is not None and self.weights is None:
                raise ValueError(f"requirements.{accuracy} needs weights: the path of the weights that "
                                 "`advisor sensitivity` measured")
        if self.phase == "prefill" and self.context is not None:
            raise ValueError("context applies to phase decode, not prefill")
        if self.phase == "decode" and self.seq_len is not None:
            raise ValueError("seq_len applies to phase prefill, not decode")
        return self

    @property
    def display_name(self) -> str:
        return self.name or f"{'+'.join(self.models)} on {self.target}"

    def workload(self, model: str) -> Workload:
        """What the gate asks about ``model``: the config's shape and phase applied to it."""
        return Workload.from_options(model, self)


def _loc(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a reader writes it: requirements.max_latency_ms, models[1]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (to list valid keys)."""
    model: type[BaseModel] | None = GateConfig
    for part in loc[:-1]:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = field.annotation if field else None
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def describe_validation_error(exc: ValidationError) -> str:
    """The first error of a ValidationError as one line: field, what is wrong, the value."""
    # An unknown key first: a misspelt key also makes the real one "missing", and the typo
    # is what the user has to fix.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    where = _loc(loc) or "config"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        owner = _model_at(loc)
        valid = list(owner.model_fields) if owner else []
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"{where}: unknown key{hint} (valid: {', '.join(valid)}){more}"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"{where}: required field is missing{more}"
    if "input" in first and not isinstance(first["input"], dict):
        return f"{where}: {msg} (got {first['input']!r}){more}"
    return f"{where}: {msg}{more}"


def parse_config(data: Any, source: str) -> GateConfig:
    """Validate already-parsed data (from YAML or an HTTP body); InputError names source and field."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of gate settings, got {type(data).__name__}")
    try:
        return GateConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {describe_validation_error(exc)}") from None


def load_config(path: Path) -> GateConfig:
    """Read and validate a gate config file; every problem is an InputError naming the file.
    Read through the bounded reader (advisor.safe_input): regular files only, at most
    MAX_CONFIG_BYTES, no YAML aliases, bounded nesting and integers, no duplicate keys."""
    data = read_yaml_file(path, MAX_CONFIG_BYTES, what="gate config (YAML)")
    if data is None:
        raise InputError(f"{path}: empty config; expected models, target and requirements")
    return parse_config(data, str(path))
