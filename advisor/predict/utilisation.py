"""How much of the device a kernel can keep busy.

Why: a plain roofline assumes every kernel fills the chip. At batch 1 a small CNN's kernels
have a few dozen output tiles for a GPU with 8-132 SMs, narrow channel counts that pad the
tensor-core tiles, and shallow reductions where prologue and epilogue dominate; published
batch-1 figures sit 10-40x below the roofline for that reason (see
/work/shared/reference/published-measurements.md). This module returns the fraction of the
achievable peak (0..1] a kernel reaches; the engine divides the peak by it.

GPUs: matmul-class kernels are split into output tiles, one per SM at a time (wave
quantisation), with tile padding and a reduction-depth term. Other kernels need one element
per resident thread on every SM. CPUs: the same tile argument over cores, and vector kernels
need enough elements per SIMD lane to be worth splitting across cores. A calibration record's
measured curve, when present, replaces the model (x = the kernel's parallel work in output
elements, y = fraction of the achievable matmul peak) for matmul-class kernels.
"""

from __future__ import annotations

import math
from functools import lru_cache

from advisor.domain.curve import interpolate_curve
from advisor.domain.specs import PlatformSpec
from advisor.domain.vocab import is_cpu, is_gpu
from advisor.predict.constants import CpuConstants, GpuConstants, PredictorConstants
from advisor.predict.kernels import Kernel

#: Never report less than this: keeps times finite for degenerate (empty) kernels.
MIN_UTILISATION = 1e-4


def utilisation(
    kernel: Kernel,
    platform: PlatformSpec,
    constants: PredictorConstants,
    curve: list[tuple[float, float]] | None = None,
    *,
    matrix_engine: bool | None = None,
    rate_share: float = 1.0,
) -> float:
    """Fraction of the achievable compute peak this kernel reaches on this platform, on
    the matrix engine (tiles) or on the vector units (``matrix_engine=False``).

    ``rate_share`` is the path's peak over the device's reference (fp16 matrix) peak: a
    tile's prologue and epilogue take a fixed time, so they weigh more on a faster path, and
    the reduction depth at which they halve efficiency is ``k_half x rate_share``."""
    if matrix_engine is None:
        matrix_engine = kernel.uses_matrix_engine
    key = (id(platform), matrix_engine, id(constants), tuple(curve) if curve else None, rate_share)
    cached = kernel.util_cache.get(key)
    if cached is None:
        cached = kernel.util_cache[key] = _utilisation(kernel, platform, constants, curve, matrix_engine, rate_share)
    return cached


def _utilisation(
    kernel: Kernel,
    platform: PlatformSpec,
    constants: PredictorConstants,
    curve: list[tuple[float, float]] | None,
    matrix_engine: bool,
    rate_share: float,
) -> float:
    if curve and kernel.matmul:
        # measured on conv/GEMM kernels (advisor calibrate): applies to matmul-class kernels
        return max(MIN_UTILISATION, min(1.0, interpolate_curve(curve, kernel.parallel_work)))
    units = platform.parallelism.units
    mnk = kernel.gemm_mnk if kernel.matmul else None
    if is_gpu(platform.device_class):
        k_half = constants.gpu.k_half * rate_share
        if matrix_engine and mnk:
            value = gpu_matmul_utilisation(tuple(mnk), units, constants.gpu, k_half)
        else:
            if mnk and not kernel.depthwise:
                # a GEMM on the CUDA cores: split-K parallelism, same prologue/epilogue share
                k = max(1, int(mnk[2]))
                value = gpu_vector_utilisation(split_k_work(mnk), units, constants.gpu) * k / (k + k_half)
            else:
                value = gpu_vector_utilisation(kernel.parallel_work, units, constants.gpu)
    elif is_cpu(platform.device_class):
        lanes = simd_lanes(platform)
        if mnk and not kernel.depthwise and not matrix_engine and mnk[0] < constants.cpu.tile_m:
            # fewer rows than a register tile (decode GEMVs): a matrix-vector kernel splits each
            # output element's dot product along K over the cores' SIMD lanes, no rows to pad
            value = cpu_vector_utilisation(split_k_work(mnk), units, lanes, constants.cpu)
        elif mnk and not kernel.depthwise:
            value = cpu_matmul_utilisation(tuple(mnk), units, constants.cpu)
        else:
            value = cpu_vector_utilisation(kernel.parallel_work, units, lanes, constants.cpu)
    else:
        # NPUs: dataflow compilers map whole layers; their shortfall is in the framework
        # efficiency figure, not modelled per kernel.
        value = 1.0
    return max(MIN_UTILISATION, min(1.0, value))


def wave_efficiency(tiles: int, units: int) -> float:
    """tiles / (units x number of waves): the last, partial wave leaves units idle."""
    if tiles <= 0:
        return MIN_UTILISATION
    waves = math.ceil(tiles / units)
    return tiles / (waves * units)


def _tile_reuse(tm: int, tn: int) -> float:
    return tm * tn / (tm + tn)


@lru_cache(maxsize=65536)  # pure function of its arguments; recommend asks the same shapes often
def gpu_matmul_utilisation(mnk: tuple[int, int, int], units: int, c: GpuConstants, k_half: float | None = None) -> float:
    """Best tile choice of wave efficiency x padding x tile rate x reduction depth.

    When there are fewer tiles than SMs the reduction is split (split-K / stream-K in
    cuBLAS and CUTLASS) into slices no shallower than ``min_split_depth``.
    """
    m, n, k = (max(1, int(v)) for v in mnk)
    k_half = c.k_half if k_half is None else k_half
    full = _tile_reuse(*c.full_rate_tile)
    best = 0.0
    for tm, tn in c.tiles:
        tiles = math.ceil(m / tm) * math.ceil(n / tn)
        splits = max(1, min(units // tiles, k // c.min_split_depth))
        depth = k / splits
        padding = (m * n) / (tiles * tm * tn)
        rate = min(1.0, _tile_reuse(tm, tn) / full)
        value = wave_efficiency(tiles * splits, units) * padding * rate * depth / (depth + k_half)
        best = max(best, value)
    return best


def split_k_work(mnk: tuple[int, int, int], depth: int = 64) -> int:
    """Parallel work of a matmul run on the vector units (GEMV-style kernels): every output
    element, times the reduction split into chunks of ``depth`` (split-K)."""
    m, n, k = (max(1, int(v)) for v in mnk)
    return m * n * math.ceil(k / depth)


def gpu_vector_utilisation(work: int, units: int, c: GpuConstants) -> float:
    """One output element per resident thread on every SM (Little's law for latency hiding)."""
    return min(1.0, max(1, work) / (units * c.threads_per_sm))


@lru_cache(maxsize=65536)
def cpu_matmul_utilisation(mnk: tuple[int, int, int], units: int, c: CpuConstants) -> float:
    m, n, k = (max(1, int(v)) for v in mnk)
    tiles = math.ceil(m / c.tile_m) * math.ceil(n / c.tile_n)
    padding = (m * n) / (tiles * c.tile_m * c.tile_n)
    return wave_efficiency(tiles, units) * padding * k / (k + c.k_half)


def cpu_vector_utilisation(work: int, units: int, lanes: int, c: CpuConstants) -> float:
    """A small op runs on one core (no split pays off); larger ones spread over all cores."""
    spread = max(1, work) / (units * lanes * c.elems_per_lane)
    return max(1.0 / units, min(1.0, spread))


def simd_lanes(platform: PlatformSpec) -> int:
    """fp32 lanes per core derived from the datasheet: peak / (cores x clock x 2 for FMA)."""
    peak = platform.vector_peaks.get("fp32")
    p = platform.parallelism
    if peak is None:
        return 4
    per_cycle = peak.value * 1e12 / (p.units * p.clock_ghz * 1e9)
    return max(1, round(per_cycle / 2))

