"""What kind of work a prediction, a measurement or a fitted figure is about.

Why: a figure fitted on one kind says little of another. An LLM decode (memory-bound, a few
large reads per token), its prefill (large GEMMs) and a whole vision network (many small
kernels) are priced by different parts of the model, so a correction fitted on one kind is not
evidence for another: the published per-platform figures (advisor.predict.platform_corrections)
and a user's own `advisor fit` (advisor.measure.fitting) each keep one per kind.
"""

from __future__ import annotations

from typing import Literal, get_args

#: a whole network's inference (no phase: vision models, encoders), or one phase of a language model
WorkloadKind = Literal["network", "prefill", "decode"]
WORKLOAD_KINDS: tuple[str, ...] = get_args(WorkloadKind)


def kind_label(kind: str) -> str:
    """How output names a workload kind: "whole-network", "prefill", "decode"."""
    return "whole-network" if kind == "network" else kind


def workload_kind(phase: str | None) -> WorkloadKind:
    """The kind of a workload (or published row) with this LLM ``phase`` (None: a whole network)."""
    if phase is None:
        return "network"
    if phase not in WORKLOAD_KINDS:
        raise ValueError(f"phase {phase!r} is none of {', '.join(WORKLOAD_KINDS[1:])}")
    return phase  # type: ignore[return-value]
