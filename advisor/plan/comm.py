"""Collective communication between tensor-parallel ranks (ring algorithms).

Why ring: NCCL and RCCL use ring (and tree) all-reduce inside a node; the ring's cost is
the textbook alpha-beta model (Patarasuk & Yuan 2009; Thakur, Rabenseifner & Gropp 2005):
an all-reduce of ``B`` bytes over ``n`` ranks is a reduce-scatter plus an all-gather,
2(n-1) steps each moving B/n bytes over every link, so

    time = 2(n-1)/n x B / link bandwidth + 2(n-1) x per-hop latency.

An all-gather is half of it: (n-1)/n x B / bandwidth + (n-1) x latency.
"""

from __future__ import annotations

from advisor.domain.serving import Interconnect

US = 1e-6


def ring_all_reduce_s(nbytes: float, ranks: int, bandwidth_gbs: float, latency_us: float) -> float:
    """Seconds for a ring all-reduce of ``nbytes`` over ``ranks`` devices (0 for one)."""
    if ranks <= 1 or nbytes <= 0:
        return 0.0
    steps = 2 * (ranks - 1)
    return steps / ranks * nbytes / (bandwidth_gbs * 1e9) + steps * latency_us * US


def ring_all_gather_s(nbytes: float, ranks: int, bandwidth_gbs: float, latency_us: float) -> float:
    """Seconds for a ring all-gather whose gathered result is ``nbytes`` (0 for one rank)."""
    if ranks <= 1 or nbytes <= 0:
        return 0.0
    steps = ranks - 1
    return steps / ranks * nbytes / (bandwidth_gbs * 1e9) + steps * latency_us * US


def point_to_point_s(nbytes: float, link: Interconnect) -> float:
    """One send between neighbouring pipeline stages."""
    if nbytes <= 0 or link.bandwidth_gbs is None:
        return 0.0
    return nbytes / (link.bandwidth_gbs * 1e9) + (link.latency_us or 0.0) * US
