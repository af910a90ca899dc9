"""The public formula registry: a user's own torch.library op gets counted once it has a
formula (docs/counting.md, "Adding a formula for your own op"), and a name takes one formula.

Expected numbers are worked out by hand from the shapes below.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advisor.models.spec import ModelSpec
from advisor.profiling.arguments import Arguments
from advisor.profiling.counter import count
from advisor.profiling.formulas import FORMULAS, Cost, register_formula
from advisor.profiling.types import Category, Profile


@torch.library.custom_op("advisor_test::scaled_gate", mutates_args=())
def scaled_gate(x: torch.Tensor, gate: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    """x * sigmoid(gate) * scale: a stand-in for a user's fused kernel."""
    return x * torch.sigmoid(gate) * scale


@scaled_gate.register_fake
def _scaled_gate_shape(x: torch.Tensor, gate: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    return torch.empty_like(x)


class Gated(nn.Module):
    def __init__(self, scale: float | None) -> None:
        super().__init__()
        self.gate = nn.Parameter(torch.empty(4, 8, device="meta"))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is None:  # the default scale: torch leaves it out of the call
            return torch.ops.advisor_test.scaled_gate(x, self.gate)
        return torch.ops.advisor_test.scaled_gate(x, self.gate, self.scale)


def gate_cost(a: Arguments, out: torch.Tensor) -> Cost:
    """sigmoid (4 FLOPs) and one multiply per element, plus the scale's multiply unless it is 1."""
    per_elem = 5 + (a["scale"] != 1.0)
    assert a["gate"].shape == out.shape[-2:]  # arguments arrive by their schema names
    return Cost(Category.elementwise, flops=per_elem * out.numel())


def profile(scale: float | None) -> Profile:
    x = torch.empty(3, 4, 8, device="meta")
    return count(ModelSpec(name="gated", module=Gated(scale).eval(), args=(x,), input_shape=[3, 4, 8]))


def test_a_custom_op_is_counted_once_its_formula_is_registered() -> None:
    before = profile(None)
    assert [(u.op, u.count) for u in before.unsupported_ops] == [("advisor_test.scaled_gate", 1)]
    assert before.flops == 0

    register_formula("advisor_test.scaled_gate", gate_cost)

    default_scale = profile(None)  # scale left out of the call: bound to its schema default 2.0
    assert default_scale.unsupported_ops == []
    [op] = default_scale.ops
    assert (op.op, op.category, op.flops) == ("advisor_test.scaled_gate", Category.elementwise, 6 * 96)
    # default reads: x (96 activation elements) and the gate parameter (32 weight elements)
    assert (op.input_elems, op.weight_elems, op.output_elems) == (96, 32, 96)
    assert profile(1.0).flops == 5 * 96


def test_a_name_takes_one_formula() -> None:
    mm = FORMULAS["aten.mm"]
    with pytest.raises(ValueError, match="'aten.mm' already has a formula"):
        register_formula("aten.mm", lambda a, out: Cost(Category.matmul))
    assert FORMULAS["aten.mm"] is mm  # the first one stays
    with pytest.raises(ValueError, match="'mm'"):
        register_formula("mm", mm)  # not namespaced: never matches an op
