"""The predictor's constants, read from configs/predictor.yaml (origins documented there).

Kept in a file rather than in code so every number sits next to where it comes from and a
fit (benchmarks/accuracy.py --fit) can be reviewed as a diff.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from advisor.config import config_path, load_config_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuConstants(_Strict):
    tiles: tuple[tuple[int, int], ...]
    full_rate_tile: tuple[int, int]
    k_half: float
    reference_flops_per_sm_cycle: float
    reference_operand_bytes: float
    min_split_depth: int
    threads_per_sm: int
    min_kernel_cycles: float
    eager_kernel_floor_us: float
    host_dispatch_threshold_us: float


class CpuConstants(_Strict):
    tile_m: int
    tile_n: int
    k_half: float
    elems_per_lane: int


class HostConstants(_Strict):
    slowdown: dict[str, float]
    enqueue_kernel_us: float


class MemoryConstants(_Strict):
    runtime_mb: float


class QuantizationConstants(_Strict):
    dequant_ops_per_weight: float
    dequant_rows_per_pass: int


class PredictorConstants(_Strict):
    gpu: GpuConstants
    cpu: CpuConstants
    host: HostConstants
    memory: MemoryConstants
    quantization: QuantizationConstants


@lru_cache(maxsize=4)
def _load(path: str) -> PredictorConstants:
    return load_config_model(Path(path), PredictorConstants)


def predictor_constants() -> PredictorConstants:
    """Constants from $ADVISOR_PREDICTOR_CONFIG or configs/predictor.yaml (read once)."""
    return _load(str(config_path("predictor.yaml", "ADVISOR_PREDICTOR_CONFIG")))
