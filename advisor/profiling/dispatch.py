"""Count whatever a model source built: a torch ModelSpec or an ONNX GraphSpec.

Why one entry point: callers (the profile cache, bench, validate) should not know which
counter a source needs; the ONNX path must not import torch, so each counter is imported
only for its own kind of spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.models.graph import GraphSpec

if TYPE_CHECKING:
    from advisor.models.spec import ModelSpec
    from advisor.profiling.types import Profile


def count_built(built: ModelSpec | GraphSpec, *, source: str | None = None) -> Profile:
    """The Profile of a built model; ``source`` (the model source's name) is recorded in it."""
    if isinstance(built, GraphSpec):
        from advisor.profiling.onnx_graph import count_graph

        profile = count_graph(built)
    else:
        from advisor.profiling.counter import count

        profile = count(built)
    if source is not None:
        profile.source = source
    return profile
