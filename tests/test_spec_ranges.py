"""Schema ranges: nothing a platform, framework or calibration may hold makes a prediction
non-finite (issue 14, finding 2).

The finding: `bandwidth_gbs: 5e-324` (the smallest float above 0) passed the "> 0" check
and made answers carry Infinity and NaN; a 400-digit `parallelism.units` overflowed the
float conversion and made every request for that target a 500. Every figure now has a
range with a stated origin (advisor/domain/specs.py). Two checks here: values just past a
bound are refused naming the field, and predictions at every combination of the bounds
themselves (the slowest and the fastest device, framework and calibration allowed) are
finite and positive.
"""

from __future__ import annotations

import itertools
import math

import pytest
from pydantic import ValidationError

from advisor.domain import specs as s
from advisor.domain.specs import CalibrationSpec, FrameworkSpec, PlatformSpec
from factories_predict import seed_framework, seed_platform


def with_values(spec, **paths: float):
    """A copy of ``spec`` with dotted paths set (validated again)."""
    data = spec.model_dump(mode="json")
    for path, value in paths.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return type(spec).model_validate(data)


@pytest.mark.parametrize("path, value", [
    ("memory.bandwidth_gbs.value", 5e-324),
    ("memory.bandwidth_gbs.value", s.MIN_BANDWIDTH_GBS / 2),
    ("memory.bandwidth_gbs.value", s.MAX_BANDWIDTH_GBS * 2),
    ("memory.capacity_gb.value", 1e300),
    ("matrix_peaks.fp16.value", 5e-324),
    ("matrix_peaks.fp16.value", s.MAX_PEAK_TFLOPS * 2),
    ("parallelism.units", int("1" * 400)),
    ("parallelism.units", s.MAX_UNITS + 1),
    ("parallelism.clock_ghz", 1e-300),
    ("parallelism.clock_ghz", 1e300),
])
def test_platform_figures_out_of_range_are_refused(path: str, value: float) -> None:
    with pytest.raises(ValidationError) as info:
        with_values(seed_platform("t4"), **{path: value})
    loc = ".".join(str(p) for p in info.value.errors()[0]["loc"])
    assert loc == path or loc == path.rsplit(".", 1)[0], loc


def test_a_sustained_clock_above_the_boost_clock_is_refused() -> None:
    t4 = seed_platform("t4")
    assert t4.parallelism.sustained_clock_ghz is not None
    with pytest.raises(ValidationError) as info:
        with_values(t4, **{"parallelism.sustained_clock_ghz.value": t4.parallelism.clock_ghz * 1.5})
    assert "sustained_clock_ghz" in str(info.value) and info.value.errors()[0]["loc"] == ("parallelism",)


@pytest.mark.parametrize("path, value", [
    ("efficiency.compute.value", 5e-324),
    ("efficiency.bandwidth.value", s.MIN_EFFICIENCY / 2),
    ("overhead.per_kernel_us.value", 1e300),
    ("overhead.per_call_us.value", s.MAX_OVERHEAD_US * 2),
])
def test_framework_figures_out_of_range_are_refused(path: str, value: float) -> None:
    with pytest.raises(ValidationError):
        with_values(seed_framework("tensorrt"), **{path: value})


def calibration(platform_id: str, edge: str) -> CalibrationSpec:
    low = edge == "min"
    peak = s.MIN_PEAK_TFLOPS if low else s.MAX_PEAK_TFLOPS
    return CalibrationSpec(
        platform_id=platform_id, framework_id=None, measured_at="2026-12-01T00:00:00+00:00", method="bounds",
        tool_version="test", matmul_tflops={"fp32": peak, "fp16": peak}, vector_tflops={"fp32": peak},
        bandwidth_gbs=s.MIN_BANDWIDTH_GBS if low else s.MAX_BANDWIDTH_GBS,
        per_op_overhead_us=s.MAX_OVERHEAD_US if low else 0.0, graph_kernel_us=s.MAX_OVERHEAD_US if low else 0.0,
        utilisation_curve=[(0.0, 0.0), (s.MAX_CURVE_WORK, 0.0)] if low else [(1.0, 1.0), (s.MAX_CURVE_WORK, 1.0)],
    )


def test_calibration_figures_out_of_range_are_refused() -> None:
    good = calibration("t4", "max")
    for update in ({"bandwidth_gbs": 5e-324}, {"matmul_tflops": {"fp32": 1e300}}, {"per_op_overhead_us": -1.0},
                   {"utilisation_curve": [(1.0, 1.5)]}, {"utilisation_curve": [(-1.0, 0.5)]}):
        with pytest.raises(ValidationError):
            CalibrationSpec.model_validate({**good.model_dump(), **update})


def edge_platform(platform_id: str, edge: str, peaks: tuple[str, ...]) -> PlatformSpec:
    low = edge == "min"
    values: dict[str, float] = {
        "memory.bandwidth_gbs.value": s.MIN_BANDWIDTH_GBS if low else s.MAX_BANDWIDTH_GBS,
        "memory.capacity_gb.value": s.MIN_CAPACITY_GB if low else s.MAX_CAPACITY_GB,
        "parallelism.units": 1 if low else s.MAX_UNITS,
        "parallelism.clock_ghz": s.MIN_CLOCK_GHZ if low else s.MAX_CLOCK_GHZ,
    }
    values.update({f"{table}.value": s.MIN_PEAK_TFLOPS if low else s.MAX_PEAK_TFLOPS for table in peaks})
    base = seed_platform(platform_id)
    if base.parallelism.sustained_clock_ghz is not None:  # never above the boost clock
        values["parallelism.sustained_clock_ghz.value"] = values["parallelism.clock_ghz"]
    return with_values(base, **values)


def edge_framework(framework_id: str, edge: str) -> FrameworkSpec:
    low = edge == "min"
    return with_values(seed_framework(framework_id), **{
        "efficiency.compute.value": s.MIN_EFFICIENCY if low else 1.0,
        "efficiency.bandwidth.value": s.MIN_EFFICIENCY if low else 1.0,
        "overhead.per_kernel_us.value": s.MAX_OVERHEAD_US if low else 0.0,
        "overhead.per_call_us.value": s.MAX_OVERHEAD_US if low else 0.0,
    })


CASES = [  # (platform, framework, precision, the peak tables the case uses)
    ("t4", "tensorrt", "fp16", ("matrix_peaks.fp16", "vector_peaks.fp32", "vector_peaks.fp16")),
    ("xeon-8480", "onnxruntime-cpu", "fp32", ("vector_peaks.fp32",)),
]


@pytest.fixture(scope="module")
def resnet18_profile():
    from advisor.db.profile_cache import profile_for
    from advisor.workload import Workload

    return profile_for(None, Workload(model="resnet18"))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_predictions_at_every_bound_are_finite(case, resnet18_profile) -> None:
    from advisor.finite_json import first_non_finite
    from advisor.predict.engine import predict

    platform_id, framework_id, precision, peaks = case
    base = seed_platform(platform_id)
    peaks = tuple(p for p in peaks if p.split(".")[1] in getattr(base, p.split(".")[0]))
    for p_edge, f_edge, c_edge in itertools.product(("min", "max"), ("min", "max"), (None, "min", "max")):
        platform = edge_platform(platform_id, p_edge, peaks)
        framework = edge_framework(framework_id, f_edge)
        cal = calibration(platform_id, c_edge) if c_edge else None
        pred = predict(resnet18_profile, platform, framework, precision, cal)
        where = (p_edge, f_edge, c_edge)
        for value in (pred.latency_ms, pred.throughput_per_s, pred.memory_mb):
            assert math.isfinite(value) and value > 0, (where, value)
        assert first_non_finite(pred.model_dump(mode="json")) is None, where
