"""Rule: the deployment must fit in the device's memory."""

from __future__ import annotations

from advisor.domain.findings import Finding
from advisor.rules.base import EXCLUDE, WARNING, RuleContext, finding
from advisor.rules.settings import MemoryFitSettings


def memory_fit(ctx: RuleContext, settings: MemoryFitSettings) -> list[Finding]:
    """Predicted memory (weights at the scheme's width + largest live activations + KV cache)
    must fit in the usable part of the device memory.

    Fact: capacity from the platform's datasheet (hardware_db/platforms). Not all of it is
    usable: the OS, the CUDA context and the framework take a share, larger on shared-memory
    SoCs; the usable fraction per device class is a threshold in configs/rules.yaml.
    """
    pred = ctx.prediction
    if pred is None:
        return []
    pl = ctx.platform
    capacity_gb = pl.memory.capacity_gb.value
    usable = settings.usable(pl.device_class)
    need_gb = pred.memory_mb / 1e3
    on_chip = getattr(pl.memory, "on_chip_mb", None)
    if on_chip is not None and need_gb > capacity_gb * usable:
        # attached accelerators stream what does not fit over the host link (slower, not fatal)
        return finding(
            "memory_fit", WARNING,
            f"needs {need_gb * 1e3:.1f} MB but {pl.id} holds {on_chip.value:g} MB on chip: the rest is streamed "
            "over the host link on every inference (coral.ai/docs/edgetpu/pipeline); consider a smaller model",
            need_gb=need_gb, on_chip_mb=on_chip.value,
        )
    if need_gb > capacity_gb * usable:
        return finding(
            "memory_fit", EXCLUDE,
            f"does not fit: needs {need_gb:.1f} GB at {ctx.scheme} but {pl.id} has {capacity_gb:g} GB "
            f"({capacity_gb * usable:.1f} GB usable); try a lower-bit scheme or a smaller model",
            need_gb=need_gb, capacity_gb=capacity_gb, usable_gb=capacity_gb * usable,
        )
    warn_at = settings.warn_fraction
    if need_gb > capacity_gb * usable * warn_at:
        return finding(
            "memory_fit", WARNING,
            f"tight fit: needs {need_gb:.1f} GB of {capacity_gb * usable:.1f} GB usable on {pl.id}",
            need_gb=need_gb, capacity_gb=capacity_gb, usable_gb=capacity_gb * usable,
        )
    return []
