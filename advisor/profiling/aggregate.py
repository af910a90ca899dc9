"""Roll a Profile's per-op records up the module tree (what per-layer reports show).

Kept apart from counting and from rendering: one Profile, many views of it. No torch here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from advisor.precision import storage as scheme_spec
from advisor.profiling.types import Profile


class ModuleRow(BaseModel):
    """Totals of the ops attributed to one module path (and, rolled up, its descendants)."""

    path: str  # "" is the root module
    type: str
    output_shape: list[int] = Field(default_factory=list)
    params: int = 0
    ops: int = 0  # aten ops counted here (views included)
    flops: int = 0
    macs: int = 0
    weight_elems: int = 0  # weights read at the scheme's width
    stored_weight_bytes: float = 0.0  # weights read at a width the model fixes (quantized)
    input_elems: int = 0
    output_elems: int = 0

    def bytes_read(self, scheme: str = "fp32") -> float:
        s = scheme_spec(scheme)
        return self.weight_elems * s.weight_bytes + self.stored_weight_bytes + self.input_elems * s.activation_bytes

    def bytes_written(self, scheme: str = "fp32") -> float:
        return self.output_elems * scheme_spec(scheme).activation_bytes

    def intensity(self, scheme: str = "fp32") -> float:
        total = self.bytes_read(scheme) + self.bytes_written(scheme)
        return self.flops / total if total else 0.0


def truncate(path: str, depth: int | None) -> str:
    """The ancestor of ``path`` at ``depth`` dotted components (the path itself if shallower)."""
    if depth is None or not path:
        return path
    parts = path.split(".")
    return ".".join(parts[:depth])


def _owner(path: str, rows: dict[str, ModuleRow]) -> str | None:
    """The deepest row path that is ``path`` or one of its ancestors."""
    candidate = path
    while True:
        if candidate in rows:
            return candidate
        if not candidate:
            return None
        candidate = candidate.rpartition(".")[0]


def by_module(profile: Profile, depth: int | None) -> list[ModuleRow]:
    """One row per module that issued ops (depth None), or per ancestor at ``depth`` (0: the root).

    Rows come in the order their first op ran. Parameters are assigned to the deepest row
    that contains the module owning them, so the rows' params add up to the model's (less
    any module that never ran).
    """
    info = {m.path: m for m in profile.modules}
    rows: dict[str, ModuleRow] = {}
    for op in profile.ops:
        key = truncate(op.module_path, depth)
        row = rows.get(key)
        if row is None:
            known = info.get(key)
            row = rows[key] = ModuleRow(path=key, type=known.type if known else op.module_type)
        row.ops += 1
        row.flops += op.flops
        row.macs += op.macs
        if op.stored_weight_bytes is None:
            row.weight_elems += op.weight_elems
        else:
            row.stored_weight_bytes += op.stored_weight_bytes
        row.input_elems += op.input_elems
        row.output_elems += op.output_elems
        if op.output_shape:
            row.output_shape = op.output_shape  # the last op's result, unless the module's own is known
    for path, row in rows.items():
        known = info.get(path)
        if known is not None and known.output_shape:
            row.output_shape = known.output_shape
    for module in profile.modules:
        owner = _owner(module.path, rows)
        if owner is not None:
            rows[owner].params += module.params
    # a module that only reshaped (views) costs nothing and owns nothing: leave it out
    return [r for r in rows.values() if r.flops or r.params or r.input_elems or r.output_elems or r.weight_elems]
