"""The serving facts of a platform and a framework, as the planner reads them.

They live in the platform and framework specs (hardware_db/*.yaml; schema in
advisor/domain/serving.py): the interconnect, the price of a device-hour, the board power and
the framework's serving traits, each with its source.

Conventions of the seed data: ``interconnect.bandwidth_gbs`` is per device and direction and
effective for ring collectives (line rate x 0.82: NCCL reaches 370 of NVLink 4's 450 GB/s,
github.com/NVIDIA/nccl-tests/issues/212); ``latency_us`` is one ring hop (NVLink: ~6 us for a
small all-reduce over two H100s, github.com/NVIDIA/nccl/issues/1259; PCIe: 5 us, an
ESTIMATE); prices are cloud list prices or purchase price over three years of continuous use.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.domain.serving import DevicePrice, Interconnect, ServingTraits
from advisor.domain.specs import Figure, FrameworkSpec, PlatformSpec


@dataclass(frozen=True)
class PlatformServing:
    interconnect: Interconnect | None
    price: DevicePrice | None
    power_w: Figure | None


def platform_serving(platform: PlatformSpec) -> PlatformServing:
    """Interconnect, price per device-hour and board power of ``platform``."""
    return PlatformServing(interconnect=platform.interconnect, price=platform.price_per_device_hour,
                           power_w=platform.power_w)


def serving_traits(framework: FrameworkSpec) -> ServingTraits | None:
    """How ``framework`` serves LLMs, or None when it is not a serving framework."""
    return framework.serving
