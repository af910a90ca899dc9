"""onnxruntime's int8 (QDQ) CPU graph in the predictor: which ops run as separate quantized or
float nodes, what each costs per element, and the im2col pass of quantized convolutions.
Expected kernels and FLOP-equivalents are worked out by hand from the tables they cite."""

from __future__ import annotations

from advisor.domain.specs import Fusion
from advisor.predict.kernels import (
    IM2COL_TAP_OPS,
    QUANTIZED_NODE_OPS,
    conv_taps_per_pixel,
    fuse,
    im2col_tap_ops,
)
from advisor.profiling.types import Category, OpRecord
from factories_predict import SRC, pointwise

ORT_INT8 = Fusion(bn_folding=True, epilogue_fusion=True, attention_fusion=True, elementwise_fusion=True,
                  quantized_unfused=["silu", "add", "native_layer_norm", "gelu", "_safe_softmax", "im2col"],
                  source=SRC)


def conv(cin: int, cout: int, k: int, out_side: int, in_side: int, path: str = "conv") -> OpRecord:
    m = out_side * out_side
    return OpRecord(op="aten.convolution", category=Category.matmul, module_path=path, module_type="Conv2d",
                    flops=2 * m * cout * cin * k * k, weight_elems=cout * cin * k * k,
                    input_elems=cin * in_side * in_side, output_elems=cout * m,
                    output_shape=[1, cout, out_side, out_side], parallel_work=cout * m,
                    gemm_mnk=(m, cout, cin * k * k))


def bmm(m: int, n: int, k: int) -> OpRecord:
    return OpRecord(op="aten.bmm", category=Category.matmul, module_path="attn", module_type="MHA",
                    flops=2 * m * n * k, input_elems=m * k + k * n, output_elems=m * n, output_shape=[m, n],
                    parallel_work=m * n, gemm_mnk=(m, n, k))


def softmax(n: int) -> OpRecord:
    return OpRecord(op="aten._safe_softmax", category=Category.norm_reduction, module_path="attn",
                    module_type="MHA", flops=5 * n, input_elems=n, output_elems=n, output_shape=[n], parallel_work=n)


def test_fp32_graph_is_untouched() -> None:
    ops = [conv(16, 16, 3, 10, 10), pointwise(1600, op="aten.silu"), pointwise(1600, op="aten.add_", inputs=2)]
    assert [k.kind for k in fuse(ops, ORT_INT8, "fp32")] == ["convolution+silu+add_"]


def test_residual_add_and_silu_are_separate_quantized_nodes() -> None:
    ops = [conv(64, 16, 1, 10, 10), pointwise(1600, op="aten.silu"), pointwise(1600, op="aten.add_", inputs=2)]
    kernels = fuse(ops, ORT_INT8, "int8")
    assert [k.kind for k in kernels] == ["convolution", "qlinear_sigmoid", "qlinear_mul", "qlinear_add"]
    add = kernels[-1]
    assert add.flops == round(QUANTIZED_NODE_OPS["qlinear_add"] * 1600)
    assert (add.input_elems, add.output_elems, add.category) == (3200, 1600, Category.elementwise)


def test_layer_norm_and_gelu_stay_float_between_dequantize_and_quantize() -> None:
    n = 197 * 768
    ln = OpRecord(op="aten.native_layer_norm", category=Category.norm_reduction, module_path="ln",
                  module_type="LayerNorm", flops=8 * n, weight_elems=2 * 768, input_elems=n, output_elems=n,
                  output_shape=[1, 197, 768], parallel_work=n)
    kernels = fuse([ln, pointwise(n, op="aten.gelu")], ORT_INT8, "int8")
    assert [k.kind for k in kernels] == [
        "dequantize_linear", "layer_norm", "quantize_linear",
        "dequantize_linear", "div", "erf", "quantize_linear", "qlinear_add", "qlinear_mul", "qlinear_mul"]
    # u8 -> f32 moves 5 bytes per element, the float op 8 (f32 in and out)
    assert [k.fixed_bytes for k in kernels[:3]] == [5.0 * n, 8.0 * n, 5.0 * n]
    assert kernels[1].flops == round(QUANTIZED_NODE_OPS["layer_norm"] * n)
    assert all(k.weight_elems == 0 for k in kernels)


def test_quantized_softmax_breaks_attention_fusion() -> None:
    ops = [bmm(197, 197, 64), softmax(197 * 197), bmm(197, 64, 197)]
    assert [k.kind for k in fuse(ops, ORT_INT8, "fp32")] == ["attention"]
    assert [k.kind for k in fuse(ops, ORT_INT8, "int8")] == ["bmm", "qlinear_softmax", "bmm"]


def test_taps_per_pixel_from_the_producer_or_the_image() -> None:
    # ResNet stem: 7x7 stride 2 over the 3-channel image (no producer): K = 147, 49 taps
    stem = conv(3, 64, 7, 112, 224)
    assert conv_taps_per_pixel(stem, [stem], 0) == 49
    # YOLOv5 stem: 6x6 stride 2 over 3 channels reads like a 3x3 over 12; the image reading wins
    yolo = conv(3, 16, 6, 320, 640)
    assert conv_taps_per_pixel(yolo, [yolo], 0) == 36
    # a 3x3 stride-1 conv after a 64-channel producer: 9 taps, not the 36 of a 6x6 over 16
    producer = pointwise(64 * 40 * 40, op="aten.silu")
    producer = producer.model_copy(update={"output_shape": [1, 64, 40, 40]})
    inner = conv(64, 64, 3, 40, 40)
    assert conv_taps_per_pixel(inner, [producer, inner], 1) == 9
    pointwise_conv = conv(64, 128, 1, 40, 40)
    assert conv_taps_per_pixel(pointwise_conv, [producer, pointwise_conv], 1) == 1


def test_im2col_pass_before_spatial_quantized_convs_only() -> None:
    stem = conv(3, 64, 7, 112, 224)
    one = conv(64, 64, 1, 112, 112)
    kernels = fuse([stem, one], ORT_INT8, "int8")
    assert [k.kind for k in kernels] == ["im2col", "convolution", "convolution"]
    patch = kernels[0]
    # 112 x 112 pixels x 49 taps, 3 channels per tap: below the table's first point, held
    assert patch.flops == round(IM2COL_TAP_OPS[0][1] * 112 * 112 * 49)
    assert patch.fixed_bytes == 0.0 and patch.category == Category.elementwise
    assert [k.kind for k in fuse([stem, one], ORT_INT8, "fp32")] == ["convolution", "convolution"]


def test_im2col_tap_cost_interpolates_in_log_channels() -> None:
    (c0, v0), (c1, v1), (c2, v2) = IM2COL_TAP_OPS
    assert im2col_tap_ops(1) == v0 and im2col_tap_ops(c0) == v0
    assert im2col_tap_ops(c1) == v1 and im2col_tap_ops(4096) == v2
    # 8 channels: half way between 4 and 16 in log2
    assert im2col_tap_ops(8) == (v0 + v1) / 2
