"""The onnxruntime int8 calibration times the int8 kernel alone (advisor.measure.microbench).

Why: inside an int8 network consecutive QLinearConv nodes pass u8 tensors to each other, so
the quantize/dequantize at the edges of a one-node calibration graph are not part of a
layer's cost; and spatial convolutions gather patches (im2col) in a pass the predictor prices
separately, so the int8 peak is stated from GEMM-shaped kernels only.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from advisor.domain.curve import interpolate_curve  # noqa: E402
from advisor.errors import InputError  # noqa: E402
from advisor.measure import microbench as mb  # noqa: E402


def _conv_graph(cin: int, hw: int, cout: int, k: int) -> tuple[bytes, dict]:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((cout, cin, k, k), dtype=np.float32), "W")
    node = helper.make_node("Conv", ["X", "W"], ["Y"], kernel_shape=[k, k], pads=[k // 2] * 4)
    model = mb._onnx_model([node], [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, cin, hw, hw])],
                           [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, cout, hw, hw])], [w])
    return model, {"X": rng.standard_normal((1, cin, hw, hw), dtype=np.float32)}


def test_the_quantized_conv_node_is_found_and_timed() -> None:
    model, feeds = _conv_graph(16, 20, 16, 3)
    quantized = mb._quantize_bytes(model, feeds)
    ms = mb.ort_node_ms(quantized, feeds, threads=1, budget_s=0.05, op_types=mb.INT8_COMPUTE_NODES)
    # 16x16 channels, 3x3, 20x20 pixels = 1.8 MOP: far under a second, above the profiler's 1 us tick
    assert 0 < ms < 1000


def test_a_graph_without_the_named_nodes_is_one_clear_error() -> None:
    model, feeds = _conv_graph(4, 8, 4, 1)
    with pytest.raises(InputError, match="none of the nodes"):
        mb.ort_node_ms(model, feeds, threads=1, budget_s=0.01, op_types=frozenset({"QLinearConv"}))


@pytest.mark.parametrize(("kind", "shape", "gathers"), [
    ("conv", (1, 64, 56, 64, 3, 1), True),
    ("conv", (1, 3, 224, 64, 7, 2), True),
    ("conv", (1, 64, 56, 64, 1, 1), False),
    ("gemm", (197, 768, 768), False),
])
def test_only_spatial_convolutions_gather_patches(kind: str, shape: tuple[int, ...], gathers: bool) -> None:
    point = mb.SweepPoint(kind, shape, output_elems=1, flops=1.0, time_ms=1.0, tflops=1.0)
    assert mb.gathers_patches(point) is gathers


def test_the_int8_peak_comes_from_gemm_shaped_points_only() -> None:
    """A slow 3x3 point (im2col inside its time) must not pull the stated int8 peak down."""
    from advisor.measure.calibrate import OrtMeasurements, _onnxruntime_record

    curve = [(1.0, 1.0), (1e9, 1.0)]
    fast = [mb.SweepPoint("gemm", (197, 768, 768), 151296, 2.0 * 197 * 768 * 768, 0.5, 0.46),
            mb.SweepPoint("conv", (1, 64, 56, 64, 1, 1), 200704, 2.0 * 200704 * 64, 0.05, 0.51)]
    slow = [mb.SweepPoint("conv", (1, 64, 56, 64, 3, 1), 200704, 2.0 * 200704 * 576, 2.0, 0.12)]
    ort = OrtMeasurements()
    ort.fp32_gemm_tflops, ort.int8_gemm_tops, ort.node_us = 0.1, 0.2, 1.0
    ort.sweep = [mb.SweepPoint("gemm", (197, 768, 768), 151296, 2.0 * 197 * 768 * 768, 2.0, 0.116)]
    ort.sweep_floor_us = {"gemm": 0.0, "conv": 0.0}
    ort.int8_sweep, ort.int8_floor_us = fast + slow, {"gemm": 0.0, "conv": 0.0}
    bandwidth = mb.Bandwidth(copy_gbs=10.0, read_gbs=10.0, array_mib=1024.0)
    record, _ = _onnxruntime_record(ort, "local", "2026-12-01T00:00:00+00:00", "test", curve, 0.01, bandwidth)
    fp32_curve = record.utilisation_curve
    # the stated peak is the median of the GEMM-shaped points' rate / curve(work), never the 3x3's
    expected = sorted(p.flops / (p.time_ms * 1e-3) / 1e12 / interpolate_curve(fp32_curve, p.output_elems)
                      for p in fast)
    assert record.matmul_tflops["int8"] == pytest.approx((expected[0] + expected[1]) / 2, rel=1e-3)


def test_int8_depthwise_points_time_the_quantized_node() -> None:
    budget = mb.Budget.quick()
    points = mb.ort_depthwise_points(1, budget, "int8")
    assert [p.shape for p in points] == [(1, c, hw, s) for c, hw, s in mb.DEPTHWISE_SHAPES]
    assert all(p.time_ms > 0 and p.tflops > 0 for p in points)


def test_the_int8_vector_figure_is_stated_from_the_int8_depthwise_points() -> None:
    from advisor.measure.calibrate import OrtMeasurements, _as_conv_points, _onnxruntime_record

    ort = OrtMeasurements()
    ort.fp32_gemm_tflops, ort.int8_gemm_tops, ort.node_us = 0.1, 0.2, 1.0
    ort.sweep = [mb.SweepPoint("gemm", (197, 768, 768), 151296, 2.0 * 197 * 768 * 768, 2.0, 0.116)]
    ort.sweep_floor_us = {"gemm": 0.0, "conv": 0.0}
    ort.int8_floor_us = {"gemm": 0.0, "conv": 0.0}
    ort.depthwise = [mb._depthwise_point(144, 56, 1, 0.2)]
    ort.int8_depthwise = [mb._depthwise_point(144, 56, 1, 0.1), mb._depthwise_point(384, 14, 1, 0.02)]
    bandwidth = mb.Bandwidth(copy_gbs=10.0, read_gbs=10.0, array_mib=1024.0)
    record, details = _onnxruntime_record(ort, "local", "2026-12-01T00:00:00+00:00", "test", [], 0.01, bandwidth)
    expected = mb.peak_consistent_with_curve(_as_conv_points(ort.int8_depthwise), record.utilisation_curve,
                                             ort.int8_floor_us)
    assert record.vector_tflops["int8"] == pytest.approx(expected, rel=1e-4)
    assert details["vector_int8"] == pytest.approx(expected)
    # without int8 depthwise points there is no int8 vector figure (the datasheet's applies)
    ort.int8_depthwise = []
    record, _ = _onnxruntime_record(ort, "local", "2026-12-01T00:00:00+00:00", "test", [], 0.01, bandwidth)
    assert "int8" not in record.vector_tflops
