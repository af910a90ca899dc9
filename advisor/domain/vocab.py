"""The vocabularies every stage shares, defined once: device classes and compute capability.

Quantization schemes and precisions live in advisor.precision (the one vocabulary of
schemes); everything else derives from the tuples here instead of restating them.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

DeviceClass = Literal["edge_gpu_soc", "datacenter_gpu", "desktop_gpu", "cpu", "npu", "mobile_soc"]
DEVICE_CLASSES: tuple[str, ...] = get_args(DeviceClass)
#: device classes whose kernels the GPU model (tiles, waves, SMs, CUDA compute capability) describes
GPU_CLASSES: frozenset[str] = frozenset({"edge_gpu_soc", "datacenter_gpu", "desktop_gpu"})
#: device classes whose kernels run on general-purpose cores (SIMD lanes, private caches)
CPU_CLASSES: frozenset[str] = frozenset({"cpu", "mobile_soc"})
#: attached accelerators that keep weights and activations on chip (dataflow compilers)
NPU_CLASS = "npu"


def is_gpu(device_class: str) -> bool:
    return device_class in GPU_CLASSES


def is_cpu(device_class: str) -> bool:
    return device_class in CPU_CLASSES


def is_npu(device_class: str) -> bool:
    return device_class == NPU_CLASS


#: NVIDIA compute capability as written in the YAML and the database: "8.7", "10.0"
COMPUTE_CAPABILITY_PATTERN = re.compile(r"^\d+\.\d+$")


def check_compute_capability(value: str | None, field: str, example: str) -> str | None:
    """``value`` when it looks like a compute capability (or is None), else a ValueError naming ``field``."""
    if value is not None and not COMPUTE_CAPABILITY_PATTERN.match(value):
        raise ValueError(f"{field} '{value}' must look like '{example}'")
    return value


def compute_capability_tuple(value: str) -> tuple[int, int]:
    """"8.7" -> (8, 7), so capabilities compare as numbers ("10.0" > "9.0")."""
    major, minor = value.split(".")
    return int(major), int(minor)
