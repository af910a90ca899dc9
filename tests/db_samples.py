"""Sample data shared by the database tests (imported as `from db_samples import ...`)."""

from __future__ import annotations

from advisor.domain.specs import PlatformSpec

PLATFORM_IDS = [
    "jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-agx-xavier", "jetson-orin-nano",
    "jetson-orin-nx", "jetson-agx-orin", "t4", "a10", "l4", "l40s", "a100-sxm", "h100-sxm", "h200",
    "rtx-3090", "rtx-4090", "mi300x", "raspberry-pi-4", "raspberry-pi-5", "core-i9-13900k",
    "xeon-8480", "epyc-9654", "apple-m1", "apple-m2", "coral-edge-tpu", "hailo-8",
]
FRAMEWORK_IDS = [
    "tensorrt", "onnxruntime-cpu", "onnxruntime-cuda", "onnxruntime-tensorrt", "openvino",
    "tflite-xnnpack", "tflite-gpu", "tflite-edgetpu", "ncnn", "mnn", "tvm", "pytorch",
    "pytorch-cudagraphs", "torch-compile", "executorch", "coreml", "llama-cpp", "vllm",
    "tensorrt-llm", "hailort",
]


def make_platform(platform_id: str, bandwidth: float = 100.0) -> PlatformSpec:
    return PlatformSpec.model_validate({
        "id": platform_id, "name": f"Test {platform_id}", "vendor": "Test", "device_class": "cpu",
        "vector_peaks": {"fp32": {"value": 1.5, "engine": "vector", "source": "test"}},
        "memory": {"capacity_gb": {"value": 16, "source": "test"}, "bandwidth_gbs": {"value": bandwidth, "source": "test"}},
        "parallelism": {"units": 8, "unit_kind": "core", "clock_ghz": 3.0, "source": "test"},
    })


def lab_box_data(platform_id: str = "lab-box", **overrides: object) -> dict:
    """A small valid CPU platform as the YAML/JSON a user uploads, with fields replaced by `overrides`."""
    data: dict = {
        "id": platform_id, "name": "Lab box", "vendor": "Acme", "device_class": "cpu",
        "vector_peaks": {"fp32": {"value": 1.5, "engine": "vector", "source": "measured"}},
        "memory": {"capacity_gb": {"value": 64, "source": "spec"}, "bandwidth_gbs": {"value": 51.2, "source": "spec"}},
        "parallelism": {"units": 8, "unit_kind": "core", "clock_ghz": 3.5, "source": "spec"},
    }
    data.update(overrides)
    return data
