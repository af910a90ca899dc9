"""A calibration judges its own noise before it is stored (issue 14, finding 6).

The figures below are shaped like two-round `advisor calibrate` runs on the 2-core VM of
the finding: a quiet run (rounds within a few percent), a run during which another
process started using one core (the second round at about half the rate: the stored
medians made predictions ~2x too slow), and a run under a steady competing load (both
rounds equally slow, so only the contention meter sees it).
"""

from __future__ import annotations

import pytest

from advisor.measure.noise import MAX_CONTENTION, MAX_SPREAD, judge_noise, round_figures, spread

QUIET = [
    {"matmul fp32 TFLOPS": 0.296, "copy bandwidth GB/s": 9.81, "read bandwidth GB/s": 11.2, "eager per-op us": 21.0},
    {"matmul fp32 TFLOPS": 0.301, "copy bandwidth GB/s": 10.10, "read bandwidth GB/s": 11.5, "eager per-op us": 22.4},
]
LOAD_STARTED = [
    {"matmul fp32 TFLOPS": 0.298, "copy bandwidth GB/s": 9.90, "read bandwidth GB/s": 11.3, "eager per-op us": 21.5},
    {"matmul fp32 TFLOPS": 0.151, "copy bandwidth GB/s": 7.95, "read bandwidth GB/s": 9.4, "eager per-op us": 39.0},
]
STEADY_LOAD = [
    {"matmul fp32 TFLOPS": 0.150, "copy bandwidth GB/s": 8.1, "read bandwidth GB/s": 9.2, "eager per-op us": 40.2},
    {"matmul fp32 TFLOPS": 0.153, "copy bandwidth GB/s": 8.0, "read bandwidth GB/s": 9.3, "eager per-op us": 41.0},
]


def test_spread_is_range_over_median() -> None:
    assert spread([0.296, 0.301]) == pytest.approx(0.005 / 0.2985)
    assert spread([1.0, 2.0, 4.0]) == pytest.approx(1.5)
    assert spread([5.0]) == 0.0


def test_a_quiet_calibration_is_stored() -> None:
    verdict = judge_noise(QUIET, contention=0.02)
    assert verdict.quiet and verdict.reasons == []
    assert max(verdict.spreads.values()) < MAX_SPREAD
    assert "other processes used 2% of the CPUs" in verdict.summary()


def test_a_load_that_started_mid_run_is_refused_naming_the_figure() -> None:
    verdict = judge_noise(LOAD_STARTED, contention=0.04)  # the load came late: little contention overall
    assert not verdict.quiet
    # matmul (0.298 - 0.151) / 0.2245 = 65% is the worst and named; per-op 58%, copy 22%
    # and read bandwidth 18% are over the limit too
    assert verdict.reasons == [f"matmul fp32 TFLOPS varied by 65% between rounds and 3 more figures (limit {MAX_SPREAD:.0%})"]


def test_a_steady_competing_load_is_refused_by_the_contention_meter() -> None:
    verdict = judge_noise(STEADY_LOAD, contention=0.5)
    assert max(verdict.spreads.values()) < MAX_SPREAD  # the rounds agree with each other...
    assert verdict.reasons == [f"other processes used 50% of the CPUs while it measured (limit {MAX_CONTENTION:.0%})"]


def test_one_round_is_judged_on_contention_alone() -> None:
    assert judge_noise(QUIET[:1], contention=0.0).quiet
    assert "one round (spread not measured)" in judge_noise(QUIET[:1], contention=0.0).summary()
    assert not judge_noise(QUIET[:1], contention=0.3).quiet


def test_round_figures_reads_a_calibration_round() -> None:
    from advisor.measure import microbench as mb
    from advisor.measure.calibrate import GemmPeak, Measurements, OrtMeasurements

    m = Measurements(
        matmul={"fp32": GemmPeak(tflops=0.3, size=2048, min_ms=50.0, median_ms=57.0, runs=9)},
        overheads=mb.Overheads(module_op_us=21.0, aten_op_us=4.0),
        elementwise_tflops=0.004,
        bandwidth=mb.Bandwidth(copy_gbs=9.8, read_gbs=11.2, array_mib=1024.0),
        ort=OrtMeasurements(fp32_gemm_tflops=0.25, int8_gemm_tops=0.6, node_us=3.1),
    )
    assert round_figures(m) == {
        "matmul fp32 TFLOPS": 0.3, "copy bandwidth GB/s": 9.8, "read bandwidth GB/s": 11.2, "eager per-op us": 21.0,
        "elementwise TFLOPS": 0.004, "onnxruntime fp32 GEMM TFLOPS": 0.25, "onnxruntime int8 GEMM TOPS": 0.6,
        "onnxruntime per-node us": 3.1,
    }
