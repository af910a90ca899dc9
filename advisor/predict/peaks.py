"""Achievable peaks and overheads for one platform x framework.

Why: datasheet peaks are upper bounds nobody reaches. A calibration record (measured by
`advisor calibrate` on the device) gives achievable figures directly; without one we use the
datasheet dense peak x the framework's efficiency (from hardware_db/frameworks, each with a
source). Precisions the hardware has no path for fall back to the next wider one, the way
runtimes emulate them, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from advisor.domain.vocab import is_gpu

#: Where a precision falls back when the device has no peak for it (wider first).
FALLBACK: dict[str, tuple[str, ...]] = {
    "tf32": ("fp32",),
    "bf16": ("fp16", "fp32"),
    "fp16": ("fp32",),
    "fp8": ("fp16", "bf16", "fp32"),
    "int8": ("fp16", "fp32"),
    "int4": ("int8", "fp16", "fp32"),
    "fp32": (),
}


#: A calibrated figure below this share of the datasheet figure is taken for a failed
#: measurement (a contended or broken micro-benchmark), not for the hardware, and ignored.
IMPLAUSIBLE_SHARE = 0.01


@dataclass
class Achievable:
    """Achievable TFLOPS per precision on the matrix and vector engines, and bandwidth."""

    matrix_tflops: dict[str, float]
    vector_tflops: dict[str, float]
    bandwidth_gbs: float
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: calibrated TFLOPS of dense convolutions per precision, where the framework runs them in
    #: a library of their own (CalibrationSpec.conv_tflops); empty: they take matrix_tflops
    conv_tflops: dict[str, float] = field(default_factory=dict)

    def has(self, precision: str) -> bool:
        """Whether the device has any engine at this precision (no fallback needed)."""
        return precision in self.matrix_tflops or precision in self.vector_tflops

    def peak(self, precision: str, matrix: bool) -> tuple[float, str]:
        """(TFLOPS, precision actually used). Matrix engine first for matmul-class kernels."""
        # A device whose only engine is an NPU (Coral, Hailo) runs every kernel on it.
        matrix = matrix or not self.vector_tflops
        for p in (precision, *FALLBACK.get(precision, ("fp32",))):
            if matrix and p in self.matrix_tflops:
                return self.matrix_tflops[p], p
            if p in self.vector_tflops:
                return self.vector_tflops[p], p
        # No figure at all: the slowest known path (keeps the prediction finite).
        values = list(self.vector_tflops.values()) + list(self.matrix_tflops.values())
        return (min(values) if values else 1e-3), "none"


def achievable(
    platform: PlatformSpec, framework: FrameworkSpec, calibration: CalibrationSpec | None
) -> Achievable:
    eff_b = framework.efficiency.bandwidth.value
    # a power-capped device runs its compute units below the boost clock the peaks are quoted at
    clock_share = platform.parallelism.clock_share
    eff_c = framework.efficiency.compute.value * clock_share
    matrix = {p: pk.value * eff_c for p, pk in platform.matrix_peaks.items()}
    vector = {p: pk.value * eff_c for p, pk in platform.vector_peaks.items()}
    bandwidth = platform.memory.bandwidth_gbs.value * eff_b
    eff_text = f"{framework.efficiency.compute.value:g}"
    sheet_text = f"datasheet x {framework.id} efficiency (compute {eff_text}, bandwidth {eff_b:g})"
    compute_text = sheet_text  # plus the clock and what the framework's traits do to the compute figures
    sustained = platform.parallelism.sustained_clock_ghz
    if sustained is not None:
        compute_text += (
            f"; x {clock_share:.3g} for the sustained clock {sustained.value:g} GHz"
            f" (boost {platform.parallelism.clock_ghz:g} GHz; {sustained.source})"
        )
    fp16 = platform.matrix_peaks.get("fp16")
    if framework.fusion.fp16_accumulate and fp16 is not None and fp16.half_accumulate:
        # the runtime's fp16 GEMMs accumulate in fp16: GeForce cards run them at twice the
        # fp32-accumulate rate (docs/predictor.md, "Facts checked in the accuracy pass")
        matrix["fp16"] = fp16.half_accumulate * eff_c
        compute_text += "; fp16 GEMMs at the fp16-accumulate rate"
    if framework.fusion.half_math_fp32 and is_gpu(platform.device_class) and "fp32" in vector:
        # the runtime computes half precision in fp32: without a matrix engine for fp16/bf16,
        # its half kernels run at the fp32 CUDA-core rate (docs/predictor.md, "Facts checked
        # in the accuracy pass")
        for half in ("fp16", "bf16"):
            if half in vector and half not in matrix and vector[half] > vector["fp32"]:
                vector[half] = vector["fp32"]
                compute_text += f"; {half} computed in fp32 (no {half} matrix engine)"
    prov = {"compute": compute_text, "bandwidth": sheet_text}
    warnings: list[str] = []
    conv: dict[str, float] = {}
    if calibration is not None:
        when = f"calibration {calibration.measured_at} ({calibration.method})"

        def plausible(what: str, measured: float, sheet: float | None) -> bool:
            if sheet and measured < IMPLAUSIBLE_SHARE * sheet:
                warnings.append(
                    f"calibrated {what} ({measured:.3g}) is under {IMPLAUSIBLE_SHARE:.0%} of the datasheet figure "
                    f"({sheet:.3g}); ignored as a failed measurement - rerun `advisor calibrate`"
                )
                return False
            return True

        for table, measured, sheet_peaks, what in (
            (matrix, calibration.matmul_tflops, platform.matrix_peaks, "TFLOPS"),
            (vector, calibration.vector_tflops, platform.vector_peaks, "TFLOPS"),
            (conv, calibration.conv_tflops, platform.matrix_peaks, "convolution TFLOPS"),
        ):
            for prec, value in measured.items():
                sheet = sheet_peaks.get(prec) or platform.vector_peaks.get(prec)
                if plausible(f"{prec} {what}", value, sheet.value if sheet else None):
                    table[prec] = value
                    prov["compute"] = when + f"; other precisions: {compute_text}"
        if calibration.bandwidth_gbs and plausible(
            "bandwidth GB/s", calibration.bandwidth_gbs, platform.memory.bandwidth_gbs.value
        ):
            bandwidth = calibration.bandwidth_gbs
            prov["bandwidth"] = when
    return Achievable(matrix, vector, bandwidth, prov, warnings, conv)
