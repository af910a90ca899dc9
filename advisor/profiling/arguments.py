"""An aten call's arguments by the names in the op's schema, the way formulas read them.

Why: a dispatch mode receives an op's arguments the way torch boxes them: positional
arguments up to the last one that differs from its default, keyword-only arguments by name,
defaults left out. A formula that reads ``args[8]`` silently reads another argument when an
overload orders them differently; one that reads ``a["groups"]`` cannot. Binding fills every
default from the schema, so ``a["bias"]`` is ``None`` when the call left it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

#: An op call's arguments by schema name (read-only by convention; defaults filled in).
Arguments = Mapping[str, Any]


class ArgumentBinder:
    """Binds the (args, kwargs) of one op's calls to its schema's argument names.

    Built once per op (schema lookups are not free), called once per op call.
    """

    __slots__ = ("names", "defaults", "op_name")

    def __init__(self, schema: torch.FunctionSchema) -> None:
        self.op_name = schema.name
        self.names = tuple(a.name for a in schema.arguments)
        self.defaults = {a.name: a.default_value for a in schema.arguments if a.has_default_value()}

    @classmethod
    def for_op(cls, op: torch._ops.OpOverload) -> ArgumentBinder:
        return cls(op._schema)

    def __call__(self, args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if len(args) > len(self.names):
            raise TypeError(f"{self.op_name}: {len(args)} positional arguments for {len(self.names)} in its schema")
        bound = dict(self.defaults)
        bound.update(zip(self.names, args))
        if kwargs:
            bound.update(kwargs)
        return bound
