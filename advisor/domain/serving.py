"""Serving facts of platforms and frameworks: the device-to-device link, the price of a
device-hour, and how a serving framework pages its KV cache and batches requests.

Kept apart from the roofline peaks because only `advisor plan` (and multi-device offers)
read them. Every figure carries a source; ranges are validated so that a typo (a price of
zero, a link faster than HBM, a block of 0 tokens) is refused with the field named.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

HOURS_PER_YEAR = 24 * 365
#: a source or note: one bounded piece of text (a URL and what was read there)
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interconnect(_Strict):
    """How devices of this platform talk to each other inside one node.

    ``bandwidth_gbs`` is per device and per direction (what one ring step of an all-reduce
    can push), ``latency_us`` the cost of one hop of a collective, ``max_devices`` how many
    devices share the fabric (an HGX board: 8). ``kind: none`` means the platform is not
    offered split across devices (edge boards, single-socket CPUs, USB accelerators).
    """

    kind: Literal["nvlink", "pcie", "infinity_fabric", "none"]
    generation: Text | None = None  # "NVLink 4", "PCIe 4.0 x16"
    bandwidth_gbs: float | None = Field(default=None, gt=0, le=10_000)
    latency_us: float | None = Field(default=None, ge=0, le=1_000)
    max_devices: int = Field(default=1, ge=1, le=1024)
    source: Text
    note: Text | None = None

    @model_validator(mode="after")
    def _link_figures(self) -> "Interconnect":
        if self.kind != "none" and (self.bandwidth_gbs is None or self.latency_us is None):
            raise ValueError(f"interconnect kind '{self.kind}' needs bandwidth_gbs and latency_us")
        if self.kind == "none" and self.max_devices != 1:
            raise ValueError(f"interconnect kind 'none' cannot span {self.max_devices} devices (max_devices must be 1)")
        return self


class DevicePrice(_Strict):
    """US dollars per device-hour: a cited on-demand cloud list price (or, where a provider
    lists none, a short-term reservation price: ``cloud_reserved``), or a purchase price
    amortised over a stated lifetime of continuous use (edge boards, desktop cards, CPUs)."""

    usd_per_hour: float = Field(gt=0, le=1_000)
    basis: Literal["cloud_on_demand", "cloud_reserved", "purchase_amortised"]
    purchase_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    lifetime_years: float | None = Field(default=None, gt=0, le=20)
    source: Text
    note: Text | None = None

    @model_validator(mode="after")
    def _amortisation(self) -> "DevicePrice":
        if self.basis == "purchase_amortised":
            if self.purchase_usd is None or self.lifetime_years is None:
                raise ValueError("purchase_amortised needs purchase_usd and lifetime_years")
            expected = self.purchase_usd / (self.lifetime_years * HOURS_PER_YEAR)
            if not math.isclose(self.usd_per_hour, expected, rel_tol=0.01):
                raise ValueError(
                    f"usd_per_hour {self.usd_per_hour:g} disagrees with purchase_usd / lifetime "
                    f"({self.purchase_usd:g} / ({self.lifetime_years:g} x {HOURS_PER_YEAR} h) = {expected:.4g})"
                )
        return self

    @classmethod
    def amortised(cls, purchase_usd: float, lifetime_years: float, source: str, note: str | None = None) -> "DevicePrice":
        return cls(
            usd_per_hour=purchase_usd / (lifetime_years * HOURS_PER_YEAR), basis="purchase_amortised",
            purchase_usd=purchase_usd, lifetime_years=lifetime_years, source=source, note=note,
        )


class ServingTraits(_Strict):
    """How an LLM serving framework uses device memory and schedules requests.

    ``kv_block_tokens``: tokens per KV page (vLLM block_size, TensorRT-LLM tokens_per_block;
    1 for a token-granular cache). ``memory_fraction``: the share of device memory the
    framework takes (vLLM gpu_memory_utilization) or, with ``fraction_of: free``, the share
    of what is left after weights and activations that becomes KV cache (TensorRT-LLM
    free_gpu_memory_fraction). ``runtime_overhead_gb``: CUDA context, graphs, allocator
    slack. ``max_batch_tokens``: tokens one step may process (the chunked-prefill budget
    when ``chunked_prefill``). ``max_sequences``: the scheduler's cap on running requests.
    ``tensor_parallel`` / ``pipeline_parallel``: whether it splits a model that way;
    ``pipeline_microbatches``: micro-batches in flight per pipeline (1 = stages run one
    after another, the bubble is the whole pipeline).
    """

    kv_block_tokens: int = Field(ge=1, le=4096)
    memory_fraction: float = Field(gt=0, le=1)
    fraction_of: Literal["total", "free"] = "total"
    runtime_overhead_gb: float = Field(ge=0, le=64)
    max_batch_tokens: int = Field(ge=1, le=1_000_000)
    max_sequences: int = Field(ge=1, le=100_000)
    chunked_prefill: bool
    tensor_parallel: bool
    pipeline_parallel: bool
    pipeline_microbatches: Literal["stages", "one"] = "stages"
    source: Text
    note: Text | None = None
