"""The rules' thresholds and switches, typed (one model per rule; configs/rules.yaml fills them).

Each default is the value configs/rules.yaml ships (tests/test_rules_settings.py checks that
they agree), so a user's file that leaves a key out gets what the shipped file says. The
origin of every value is documented next to it in configs/rules.yaml.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictBool, field_validator

from advisor.domain.findings import Action
from advisor.domain.vocab import DEVICE_CLASSES


class RuleSettings(BaseModel):
    """What every rule has: a switch. Unknown keys are refused (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool = True


class NpuRuntimeSettings(RuleSettings):
    #: NPU runtime -> the platform feature of the hardware it compiles for
    runtime_features: dict[str, str] = {"tflite-edgetpu": "edgetpu", "hailort": "hailo"}


class ModelFamilySettings(RuleSettings):
    llm_only_frameworks: tuple[str, ...] = ("vllm", "tensorrt-llm", "llama-cpp")
    llm_only_schemes: tuple[str, ...] = ("w8a16", "w4a16")


class HardwarePrecisionSettings(RuleSettings):
    #: what fp16 on a CPU without fp16 arithmetic is: a warning, a penalty or an exclusion
    cpu_fp16_without_arith: Action = "warning"
    #: platform features that mean fp16 arithmetic on a CPU
    fp16_features: tuple[str, ...] = ("fp16_arith", "avx512_fp16", "amx_fp16")
    #: latency multiplier when cpu_fp16_without_arith is "penalty"
    penalty: float = 1.0


class Int8CalibrationSettings(RuleSettings):
    schemes: tuple[str, ...] = ("int8", "fp8")
    suggested_samples: str = "a few hundred (100-1000 in the TensorRT, TFLite, NNCF and ncnn guides)"


class DepthwiseInt8Settings(RuleSettings):
    min_depthwise_share: float = 0.2


class LowBitSmallModelSettings(RuleSettings):
    min_params: float = 1.0e9


#: aten ops the Edge TPU runs (coral.ai/docs/edgetpu/models-intro, "Supported operations")
EDGETPU_OPS: tuple[str, ...] = (
    "convolution", "addmm", "mm", "linear", "add", "sub", "mul", "relu", "relu_", "hardtanh", "hardtanh_",
    "sigmoid", "tanh", "hardswish", "_softmax", "softmax", "cat", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "mean", "upsample_nearest2d", "upsample_bilinear2d",
    "constant_pad_nd", "pad", "slice", "split", "split_with_sizes", "view", "reshape", "permute",
    "transpose", "squeeze", "unsqueeze", "flatten", "_native_batch_norm_legit_no_training",
    "native_batch_norm", "batch_norm", "expand", "select", "clone", "contiguous", "dropout",
)


class NpuFallbackSettings(RuleSettings):
    #: frameworks whose compiler partitions the graph once (Edge TPU)
    frameworks: tuple[str, ...] = ("tflite-edgetpu",)
    supported_ops: tuple[str, ...] = EDGETPU_OPS
    cpu_slowdown: float = 10.0


class MemoryFitSettings(RuleSettings):
    #: usable share of the datasheet capacity per device class ("default" for the others)
    usable_fraction: dict[str, float] = {"default": 0.9, "edge_gpu_soc": 0.75, "cpu": 0.8, "mobile_soc": 0.6}
    #: warn when the model needs more than this share of the usable memory
    warn_fraction: float = 0.9

    @field_validator("usable_fraction")
    @classmethod
    def _device_classes(cls, fractions: dict[str, float]) -> dict[str, float]:
        for key in fractions:
            if key != "default" and key not in DEVICE_CLASSES:
                raise ValueError(f"'{key}' is not a device class (valid: default, {', '.join(DEVICE_CLASSES)})")
        return fractions

    def usable(self, device_class: str) -> float:
        return self.usable_fraction.get(device_class, self.usable_fraction.get("default", 0.9))


class RulesConfig(BaseModel):
    """Every rule's settings; a rule left out of the file is on with the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework_device_class: RuleSettings = RuleSettings()
    npu_runtime: NpuRuntimeSettings = NpuRuntimeSettings()
    model_family: ModelFamilySettings = ModelFamilySettings()
    model_precision: RuleSettings = RuleSettings()
    precision_support: RuleSettings = RuleSettings()
    hardware_precision: HardwarePrecisionSettings = HardwarePrecisionSettings()
    int8_calibration: Int8CalibrationSettings = Int8CalibrationSettings()
    depthwise_int8: DepthwiseInt8Settings = DepthwiseInt8Settings()
    low_bit_small_model: LowBitSmallModelSettings = LowBitSmallModelSettings()
    npu_fallback: NpuFallbackSettings = NpuFallbackSettings()
    memory_fit: MemoryFitSettings = MemoryFitSettings()

    def for_rule(self, name: str) -> RuleSettings:
        return getattr(self, name)
