"""onnxruntime's fp32 vector figure is stated by one function (``ort_fp32_figures``) that both
`advisor calibrate` and benchmarks/ort_int8_ops.py (the per-node costs of
advisor/predict/kernels.py) use: the depthwise rate read against a utilisation curve whose
peak includes the large MatMul, so a faster MatMul raises the figure."""

from __future__ import annotations

import pytest

from advisor.measure import microbench as mb

#: one ViT-B/16-sized MatMul in the sweep: 2 x 197 x 768 x 768 FLOP in 2 ms
SWEEP = [mb.SweepPoint("gemm", (197, 768, 768), 197 * 768, 2.0 * 197 * 768 * 768, 2.0, 0.116)]
SWEEP_RATE = 2.0 * 197 * 768 * 768 / 2e-3 / 1e12  # 0.1162 TFLOPS
#: a MobileNet depthwise 3x3 (144 channels, 56 x 56, stride 1) in 0.2 ms: 2 x 144 x 56^2 x 9 FLOP
DEPTHWISE = [mb._depthwise_point(144, 56, 1, 0.2)]
DEPTHWISE_RATE = 2.0 * 144 * 56 * 56 * 9 / 0.2e-3 / 1e12  # 0.0406 TFLOPS
NO_FLOOR = {"gemm": 0.0, "conv": 0.0}


def test_a_slower_large_gemm_leaves_the_sweep_as_the_peak() -> None:
    fp32, curve, vector = mb.ort_fp32_figures(0.5 * SWEEP_RATE, SWEEP, NO_FLOOR, DEPTHWISE)
    assert fp32 == pytest.approx(SWEEP_RATE)
    assert curve == [(197 * 768, 1.0)]
    assert vector == pytest.approx(DEPTHWISE_RATE)  # the curve is flat at 1: the rate as measured


def test_a_faster_large_gemm_raises_the_peak_and_the_vector_figure() -> None:
    """The MatMul at 4x the sweep's rate: the sweep point fills a quarter of the peak, so the
    depthwise convolutions, read against that curve, state a vector figure 4x their raw rate."""
    fp32, curve, vector = mb.ort_fp32_figures(4 * SWEEP_RATE, SWEEP, NO_FLOOR, DEPTHWISE)
    assert fp32 == pytest.approx(4 * SWEEP_RATE)
    assert curve == [(197 * 768, 0.25)]
    assert vector == pytest.approx(4 * DEPTHWISE_RATE)


def test_calibrate_states_the_same_figures() -> None:
    from advisor.measure.calibrate import OrtMeasurements, _onnxruntime_record

    ort = OrtMeasurements(fp32_gemm_tflops=4 * SWEEP_RATE, int8_gemm_tops=0.2, node_us=1.0, sweep=SWEEP,
                          sweep_floor_us=NO_FLOOR, depthwise=DEPTHWISE, int8_floor_us=NO_FLOOR)
    bandwidth = mb.Bandwidth(copy_gbs=10.0, read_gbs=10.0, array_mib=1024.0)
    record, _ = _onnxruntime_record(ort, "local", "2026-12-01T00:00:00+00:00", "test", [], 0.01, bandwidth)
    assert record.matmul_tflops["fp32"] == pytest.approx(4 * SWEEP_RATE, abs=1e-5)
    assert record.vector_tflops["fp32"] == pytest.approx(4 * DEPTHWISE_RATE, abs=1e-5)
    assert record.utilisation_curve == [(197 * 768, 0.25)]


def test_without_an_informative_depthwise_point_there_is_no_figure() -> None:
    """A depthwise time under twice the call floor says nothing about its speed."""
    floor = {"gemm": 0.0, "conv": 1000.0}  # 1 ms per call: the 0.2 ms point is uninformative
    assert mb.ort_fp32_figures(SWEEP_RATE, SWEEP, floor, DEPTHWISE)[2] is None
