"""Building modules on the meta device without running their random initialisers.

``torch.device("meta")`` already allocates nothing, but ``nn.init`` still runs: the meta
device has no kernel for ``normal_``, so the first call takes a Python reference path that
imports ``torch._dynamo`` (several seconds). Initial values are meaningless on meta, so
random fills of meta tensors are skipped here with a TorchFunctionMode (no patching).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

_RANDOM_FILLS = frozenset(
    getattr(torch.Tensor, name)
    for name in ("normal_", "uniform_", "bernoulli_", "exponential_", "random_", "cauchy_", "log_normal_", "geometric_")
)


def _is_initialiser(func) -> bool:
    # nn.init functions fill their first argument in place and return it.
    return func in _RANDOM_FILLS or getattr(func, "__module__", None) == "torch.nn.init"


class SkipRandomInitOnMeta(TorchFunctionMode):
    """Initialisers (``nn.init.*``, in-place random fills) on meta tensors return the tensor
    untouched: it has no data to fill."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _is_initialiser(func):
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor) and target.device.type == "meta":
                return target
        return func(*args, **kwargs)


@contextmanager
def on_meta() -> Iterator[None]:
    """Build modules and tensors on meta, skipping random initialisation."""
    with torch.device("meta"), SkipRandomInitOnMeta():
        yield
