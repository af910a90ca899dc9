"""A calibration's convolution figure and curve (CalibrationSpec.conv_tflops,
conv_utilisation_curve): measured by `advisor calibrate` on CPUs, stored and read back by both
stores, and used by the predictor for dense convolutions only.

Why: eager PyTorch on a CPU runs convolutions in oneDNN and GEMMs in its BLAS; on an AMD EPYC
the convolutions of the calibration sweep reached 0.47 TFLOPS and torch.mm 0.23, so one
matmul figure priced every CNN at half its speed."""

from __future__ import annotations

import pytest

from advisor.db.store import open_store
from advisor.domain.specs import CalibrationSpec
from advisor.measure import microbench as mb
from advisor.predict.engine import predict
from factories_predict import conv_op, cpu, framework, gemm_op, profile

FLAT = [(1.0, 1.0), (1e9, 1.0)]


def _calibration(**extra) -> CalibrationSpec:
    return CalibrationSpec(platform_id="toy-cpu", framework_id=None, measured_at="2026-12-01T00:00:00Z",
                           method="test", tool_version="0", matmul_tflops={"fp32": 0.2}, vector_tflops={"fp32": 0.02},
                           bandwidth_gbs=1e5, utilisation_curve=FLAT, **extra)


def test_conv_figures_are_the_best_conv_rate_and_each_convs_fraction() -> None:
    floor = {"conv": 0.0, "gemm": 0.0}
    points = [
        mb.SweepPoint("gemm", (197, 768, 768), 151296, 2.0e8, 1.0, 0.2),  # 0.2 TFLOPS: not a convolution
        mb.SweepPoint("conv", (1, 64, 56, 64, 3, 1), 200704, 4.0e8, 1.0, 0.4),  # 0.4 TFLOPS
        mb.SweepPoint("conv", (1, 16, 20, 16, 3, 1), 6400, 1.0e8, 1.0, 0.1),  # 0.1 TFLOPS
    ]
    peak, curve = mb.conv_figures(points, floor)
    assert peak == pytest.approx(0.4)
    assert dict(curve)[6400.0] == pytest.approx(0.25)
    assert curve[-1][1] == pytest.approx(1.0)
    assert mb.conv_figures([points[0]], floor) == (None, [])


def test_a_dense_conv_takes_the_conv_figure_and_a_gemm_the_matmul_one() -> None:
    platform = cpu(fp32=1.0, bandwidth=1e5)
    fw = framework("eager", classes=("cpu",), per_kernel_us=0.0, per_call_us=0.0, precisions=("fp32",))
    conv, gemm = conv_op(64, 64, 56), gemm_op(512, 1024, 1024)
    cal = _calibration(conv_tflops={"fp32": 0.4}, conv_utilisation_curve=[(1.0, 0.5), (1e9, 0.5)])
    layers = predict(profile([conv, gemm]), platform, fw, "fp32", calibration=cal).layers
    conv_ms = next(lay.compute_ms for lay in layers if lay.kind.startswith("convolution"))
    gemm_ms = next(lay.compute_ms for lay in layers if lay.kind == "mm")
    assert conv_ms == pytest.approx(conv.flops / (0.4 * 0.5 * 1e12) * 1e3, rel=1e-6)
    assert gemm_ms == pytest.approx(gemm.flops / (0.2 * 1e12) * 1e3, rel=1e-6)
    # without conv figures the conv is priced like the GEMM
    plain = predict(profile([conv]), platform, fw, "fp32", calibration=_calibration()).layers[0]
    assert plain.compute_ms == pytest.approx(conv.flops / (0.2 * 1e12) * 1e3, rel=1e-6)


def test_depthwise_convolutions_keep_the_vector_figure() -> None:
    platform = cpu(fp32=1.0, bandwidth=1e5)
    fw = framework("eager", classes=("cpu",), per_kernel_us=0.0, per_call_us=0.0, precisions=("fp32",))
    dw = conv_op(256, 256, 56, depthwise=True)
    with_conv = predict(profile([dw]), platform, fw, "fp32", calibration=_calibration(conv_tflops={"fp32": 0.4}))
    without = predict(profile([dw]), platform, fw, "fp32", calibration=_calibration())
    assert with_conv.layers[0].compute_ms == pytest.approx(without.layers[0].compute_ms)


def test_conv_figures_round_trip_through_both_stores(db, isolated_db) -> None:
    cal = _calibration(conv_tflops={"fp32": 0.47}, conv_utilisation_curve=[(6400.0, 0.25), (200704.0, 1.0)])
    cal = cal.model_copy(update={"platform_id": "h200"})
    db.add_calibration(cal)
    assert db.latest_calibration("h200") == cal
    if isolated_db.startswith("sqlite"):
        assert open_store(isolated_db, readonly=True).latest_calibration("h200") == cal
