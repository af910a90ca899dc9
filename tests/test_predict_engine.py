"""The roofline predictor on hand-built profiles whose times can be worked out by hand."""

from __future__ import annotations

import pytest

from advisor.domain.specs import CalibrationSpec
from advisor.predict.engine import predict
from advisor.predict.kernels import fuse
from advisor.predict.memory import estimate_memory
from advisor.profiling.types import Category
from advisor.predict.constants import predictor_constants
from factories_predict import (
    batch_norm, conv_op, cpu, framework, gemm_op, gpu, pointwise, profile, view,
)

US = 1e-3  # one microsecond in ms
C = predictor_constants()
FLOOR_US = C.gpu.min_kernel_cycles / 1e3  # shortest kernel on the 1 GHz toy GPU, in us


TOY_REFERENCE_TFLOPS = 10 * 1.0 * C.gpu.reference_flops_per_sm_cycle / 1e3  # 10 SMs at 1 GHz


def depth_efficiency(k: int, tflops: float) -> float:
    """K / (K + k_half x rate share), rate share = the path's peak / the toy GPU's reference rate
    (for 2-byte operands; a path on other widths passes its peak x bytes / 2)."""
    return k / (k + C.gpu.k_half * tflops / TOY_REFERENCE_TFLOPS)


def test_large_gemm_is_compute_bound_at_the_tensor_peak() -> None:
    # 2 * 8192^3 FLOP at 100 TFLOPS = 10.995 ms; 4096 tiles of 128x128 on 10 SMs take 410
    # waves (4096/4100 busy); K=8192 is deep.
    pred = predict(profile([gemm_op(8192, 8192, 8192)]), gpu(), framework(per_call_us=0, per_kernel_us=0), "fp16")
    assert pred.bound == "compute"
    util = 4096 / 4100 * depth_efficiency(8192, 100)
    assert pred.latency_ms == pytest.approx(2 * 8192**3 / (100e12 * util) * 1e3, rel=1e-6)


def test_framework_efficiency_scales_the_peak() -> None:
    p = profile([gemm_op(8192, 8192, 8192)])
    full = predict(p, gpu(), framework(per_call_us=0, per_kernel_us=0), "fp16").latency_ms
    half = predict(p, gpu(), framework(per_call_us=0, per_kernel_us=0, compute_eff=0.5), "fp16").latency_ms
    # half the achievable rate, and the fixed tile cost weighs half as much at that rate
    assert half == pytest.approx(2 * full * depth_efficiency(8192, 100) / depth_efficiency(8192, 50), rel=1e-6)


def test_large_elementwise_op_is_memory_bound() -> None:
    # add of two 100M-element fp32 tensors: read 800 MB, write 400 MB at 1000 GB/s = 1.2 ms.
    n = 100_000_000
    pred = predict(profile([pointwise(n, op="aten.add", inputs=2)]), gpu(), framework(per_call_us=0, per_kernel_us=0), "fp32")
    assert pred.bound == "memory"
    assert pred.latency_ms == pytest.approx(1.2, rel=1e-6)
    # fp16 halves the bytes
    half = predict(profile([pointwise(n, op="aten.add", inputs=2)]), gpu(), framework(per_call_us=0, per_kernel_us=0), "fp16")
    assert half.latency_ms == pytest.approx(0.6, rel=1e-6)


def test_matmul_uses_tensor_peak_and_vector_ops_the_vector_peak() -> None:
    # fp32 scheme: GEMM at the 10 TFLOPS vector peak (no fp32 tensor peak); tf32 at 50.
    p = profile([gemm_op(8192, 8192, 8192)])
    fw = framework(per_call_us=0, per_kernel_us=0)
    fp32 = predict(p, gpu(), fw, "fp32").latency_ms
    tf32 = predict(p, gpu(), fw, "tf32").latency_ms
    # fp32 runs on the 10 TFLOPS vector units, tf32 on the 50 TFLOPS matrix engine; both move
    # 4-byte operands, twice the reference's 2 bytes: their rate shares are those of 20 and 100
    expected = 5.0 * 4096 / 4100 * depth_efficiency(8192, 100) / depth_efficiency(8192, 20)
    assert fp32 / tf32 == pytest.approx(expected, rel=1e-6)


def test_small_gemm_underfills_the_device() -> None:
    # a 64x64x64 product: one 64x64 tile or four 32x32 ones, too shallow to split: at
    # most 4 of 10 SMs busy; the vector path has 4096 outputs for 20480 threads (0.2)
    pred = predict(profile([gemm_op(64, 64, 64)]), gpu(), framework(), "fp16")
    assert pred.layers[0].utilisation <= 0.2 + 1e-9
    # a deep reduction is split across the SMs instead
    deep = predict(profile([gemm_op(64, 64, 4096)]), gpu(), framework(), "fp16")
    assert deep.layers[0].utilisation > 2 * pred.layers[0].utilisation
    # wave quantisation: 11 tiles of 128x64 on 10 SMs take two waves (11/20 busy)
    pred = predict(profile([gemm_op(11 * 128, 64, 1 << 20)]), gpu(), framework(), "fp16")
    assert pred.layers[0].utilisation == pytest.approx(11 / 20, rel=0.01)


def test_int8_without_a_peak_falls_back_and_warns() -> None:
    p = profile([gemm_op(8192, 8192, 8192)])
    fw = framework(per_call_us=0, per_kernel_us=0)
    no_int8 = predict(p, gpu(int8=None), fw, "int8")
    fp16 = predict(p, gpu(int8=None), fw, "fp16")
    assert no_int8.latency_ms == pytest.approx(fp16.latency_ms, rel=1e-6)
    assert any("no int8 peak" in w for w in no_int8.warnings)
    with_int8 = predict(p, gpu(), fw, "int8")
    # twice the rate on half the bytes per MAC: the same operand bytes per cycle as fp16, so
    # the fixed tile prologue/epilogue weighs as much, and the product takes half fp16's time
    expected = fp16.latency_ms / 2
    assert depth_efficiency(8192, 100) < 1  # the depth term is not vacuous at this K
    assert with_int8.latency_ms == pytest.approx(expected, rel=1e-6)


def test_weight_only_scheme_reads_low_bit_weights() -> None:
    # decode-style GEMV: weights dominate the traffic; w4a16 reads a quarter of fp16's weights.
    gemv = gemm_op(1, 16384, 16384)
    fw = framework(per_call_us=0, per_kernel_us=0)
    fp16 = predict(profile([gemv]), gpu(), fw, "fp16")
    w4 = predict(profile([gemv]), gpu(), fw, "w4a16")
    assert fp16.bound == "memory" and w4.bound == "memory"
    # int4 values + one fp16 scale per 128 weights (configs/quantization.yaml)
    weights = 16384 * 16384
    assert w4.layers[0].bytes == pytest.approx(weights * 0.5 + weights / 128 * 2 + (16384 + 16384) * 2)
    assert w4.latency_ms / fp16.latency_ms == pytest.approx((0.5 + 2 / 128) / 2, rel=0.01)


def test_bn_folding_and_epilogue_fusion() -> None:
    hw, c = 56, 64
    elems = hw * hw * c
    ops = [conv_op(c, c, hw), batch_norm(elems, c), view(elems), pointwise(elems, op="aten.silu")]
    fused = fuse(ops, framework(fused=True).fusion)
    assert [k.kind for k in fused] == ["convolution+_native_batch_norm_legit_no_training+silu"]
    k = fused[0]
    # bytes: conv weights + conv input + the activation's output; the conv output is never written
    assert k.input_elems == c * hw * hw and k.output_elems == elems
    assert k.flops == ops[0].flops + ops[3].flops  # BN folded away, SiLU's FLOPs stay
    eager = fuse(ops, framework(fused=False).fusion)
    assert [k.category for k in eager] == [Category.matmul, Category.norm_reduction, Category.elementwise]


def test_residual_add_reads_its_second_operand() -> None:
    elems = 1000
    ops = [conv_op(10, 10, 10), pointwise(elems, op="aten.add", inputs=2)]
    (k,) = fuse(ops, framework().fusion)
    assert k.input_elems == ops[0].input_elems + elems


def test_attention_fusion_keeps_scores_on_chip() -> None:
    b_h, s, d = 12, 256, 64
    qk = gemm_op(b_h * s, s, d, weights=False, op="aten.bmm", path="attn")
    qk.input_elems = 2 * b_h * s * d
    sm = pointwise(b_h * s * s, op="aten._softmax", category=Category.norm_reduction, path="attn", module_type="Softmax")
    pv = gemm_op(b_h * s, d, s, weights=False, op="aten.bmm", path="attn")
    pv.input_elems = b_h * s * s + b_h * s * d
    (k,) = fuse([qk, sm, pv], framework().fusion)
    assert k.kind == "attention"
    assert k.input_elems == 3 * b_h * s * d and k.output_elems == b_h * s * d
    assert len(fuse([qk, sm, pv], framework(fused=False).fusion)) == 3


def test_eager_gpu_is_host_bound_for_tiny_kernels() -> None:
    # 100 tiny ops: eager PyTorch pays 20 us of host time per op; the GPU waits for the host.
    ops = [pointwise(1000, path=f"a{i}") for i in range(100)]
    eager = predict(profile(ops), gpu(), framework(fused=False, per_kernel_us=20, per_call_us=0), "fp16")
    assert eager.bound == "overhead"
    assert eager.latency_ms == pytest.approx(100 * 20 * US + (2 + FLOOR_US) * US, rel=1e-3)
    graph = predict(profile(ops), gpu(), framework(fused=False, per_kernel_us=2, per_call_us=0), "fp16")
    # graph replay: the 2 us per kernel is a floor under each (0.5 us) kernel, not added to it
    assert graph.latency_ms == pytest.approx(100 * max(2, FLOOR_US) * US, rel=1e-3)


def test_graph_replay_per_kernel_cost_hides_behind_long_kernels() -> None:
    """A memory-bound GEMV of 32 MiB fp16 weights at 1000 GB/s takes ~33.6 us: replaying it
    from a graph adds nothing for the 2 us launch, which overlaps the running kernel."""
    gemv = gemm_op(1, 4096, 4096)
    fw = framework(fused=False, per_kernel_us=2, per_call_us=0)
    pred = predict(profile([gemv]), gpu(), fw, "fp16")
    busy_ms = (4096 * 4096 * 2 + (4096 + 4096) * 2) / 1000e9 * 1e3
    assert pred.latency_ms == pytest.approx(busy_ms, rel=1e-6)
    assert pred.layers[0].overhead_ms == 0


def test_enqueued_engine_is_host_bound_for_tiny_kernels_and_pays_the_host_slowdown() -> None:
    """An engine that enqueues its kernels at run time (TensorRT without a CUDA graph): the host
    spends host.enqueue_kernel_us per kernel (x the device class's host slowdown) while the GPU
    runs; 100 tiny kernels wait for their launches, each then costs the engine's 2 us GPU-side."""
    ops = [pointwise(1000, path=f"a{i}") for i in range(100)]
    engine = framework(fused=False, per_kernel_us=2, per_call_us=0, enqueue=True)
    launch = C.host.enqueue_kernel_us
    server = predict(profile(ops), gpu(), engine, "fp16")
    assert server.bound == "overhead"
    # the GPU starts each kernel when its launch is done: last launch + 2 us + the last kernel
    assert server.latency_ms == pytest.approx((100 * launch + 2 + FLOOR_US) * US, rel=1e-3)
    edge = predict(profile(ops), gpu(device_class="edge_gpu_soc"), engine, "fp16")
    slowdown = C.host.slowdown["edge_gpu_soc"]
    assert edge.latency_ms == pytest.approx((100 * launch * slowdown + 2 + FLOOR_US) * US, rel=1e-3)
    # the same engine replayed from a CUDA graph: 2 us per kernel as a floor, no host launches
    replay = predict(profile(ops), gpu(), framework(fused=False, per_kernel_us=2, per_call_us=0), "fp16")
    assert replay.latency_ms == pytest.approx(100 * max(2, FLOOR_US) * US, rel=1e-3)


def test_enqueued_engine_hides_launches_behind_long_kernels() -> None:
    # one 11 ms GEMM then 10 tiny kernels: their launches happen while the GEMM runs
    ops = [gemm_op(8192, 8192, 8192)] + [pointwise(1000, path=f"a{i}") for i in range(10)]
    engine = framework(fused=False, per_kernel_us=2, per_call_us=0, enqueue=True)
    pred = predict(profile(ops), gpu(), engine, "fp16")
    gemm_ms = pred.layers[0].compute_ms
    launch = C.host.enqueue_kernel_us
    assert pred.latency_ms == pytest.approx((launch + 2) * US + gemm_ms + 10 * (2 + FLOOR_US) * US, rel=1e-3)
    assert pred.bound == "compute"


def test_eager_gpu_overlaps_host_with_long_kernels() -> None:
    # one 11 ms GEMM then 10 tiny ops: the host issues them while the GEMM runs
    ops = [gemm_op(8192, 8192, 8192)] + [pointwise(1000, path=f"a{i}") for i in range(10)]
    pred = predict(profile(ops), gpu(), framework(fused=False, per_kernel_us=20, per_call_us=0), "fp16")
    gemm_ms = pred.layers[0].compute_ms
    assert pred.latency_ms == pytest.approx(20 * US + 2 * US + gemm_ms + 10 * (2 + FLOOR_US) * US, rel=1e-3)
    assert pred.bound == "compute"


def test_cpu_overheads_add_up() -> None:
    ops = [pointwise(100, path=f"a{i}") for i in range(10)]
    pred = predict(profile(ops), cpu(), framework(fused=False, per_kernel_us=5, per_call_us=50, classes=("cpu",)), "fp32")
    assert pred.latency_ms == pytest.approx((10 * 5 + 50) * US, rel=0.05)


def test_calibration_replaces_datasheet_figures() -> None:
    p = profile([pointwise(100_000_000, op="aten.add", inputs=2)])
    cal = CalibrationSpec(platform_id="toy-gpu", measured_at="2026-11-29T00:00:00Z", method="test", tool_version="0",
                          bandwidth_gbs=500.0)
    pred = predict(p, gpu(), framework(per_call_us=0, per_kernel_us=0), "fp32", calibration=cal)
    assert pred.latency_ms == pytest.approx(2.4, rel=1e-6)
    assert pred.provenance["bandwidth"].startswith("calibration 2026-11-29")
    plain = predict(p, gpu(), framework(per_call_us=0, per_kernel_us=0), "fp32")
    assert plain.provenance["bandwidth"].startswith("datasheet x")


def test_calibrated_utilisation_curve_is_used() -> None:
    p = profile([gemm_op(8192, 8192, 8192)])
    cal = CalibrationSpec(platform_id="toy-gpu", measured_at="t", method="test", tool_version="0",
                          utilisation_curve=[(1e3, 0.1), (1e9, 0.5)])
    pred = predict(p, gpu(), framework(per_call_us=0, per_kernel_us=0), "fp16", calibration=cal)
    assert pred.layers[0].utilisation == pytest.approx(0.1 + 0.4 * (6 - 3 + 1.826) / 6, rel=0.01)


def test_throughput_units() -> None:
    ops = [gemm_op(4, 4096, 4096)]
    dec = predict(profile(ops, batch=4, phase="decode", context=512), gpu(), framework(), "fp16")
    assert dec.throughput_per_s == pytest.approx(4 / (dec.latency_ms / 1e3))
    pre = predict(profile(ops, batch=2, phase="prefill", seq_len=128), gpu(), framework(), "fp16")
    assert pre.throughput_per_s == pytest.approx(2 * 128 / (pre.latency_ms / 1e3))


def test_memory_counts_weights_activations_and_kv_cache() -> None:
    ops = [gemm_op(1, 4096, 4096), pointwise(5000, inputs=2)]
    p = profile(ops, params=10_000_000, kv_cache_elems=1_000_000)
    m = estimate_memory(p, "w4a16")
    assert m.weights_bytes == 5_000_000 + 10_000_000 / 128 * 2  # 0.5 byte per weight + fp16 scale per 128
    assert m.activations_bytes == 15000 * 2  # the add: 10000 in + 5000 out at fp16
    assert m.kv_cache_bytes == 2_000_000  # the default cache is fp16 under w4a16
    assert estimate_memory(p, "w4a16", kv_cache="fp8").kv_cache_bytes == 1_000_000
    pred = predict(p, gpu(), framework(), "w4a16")
    assert pred.memory_mb == pytest.approx(7.03 + 0.15625, rel=1e-6)


def test_depthwise_conv_runs_on_the_vector_units() -> None:
    dw = conv_op(256, 256, 56, depthwise=True)
    pred = predict(profile([dw]), gpu(), framework(per_kernel_us=0, per_call_us=0), "fp16")
    # fp16 vector peak is 20 TFLOPS, far below the 100 TFLOPS tensor peak
    k = pred.layers[0]
    assert k.compute_ms >= dw.flops / 20e12 * 1e3 * 0.999


def test_implausible_calibration_is_ignored_with_a_warning() -> None:
    # a vector figure 1e-5 of the datasheet's is a failed micro-benchmark, not the hardware
    p = profile([pointwise(1_000_000, op="aten.add", inputs=2)])
    cal = CalibrationSpec(platform_id="toy-gpu", measured_at="t", method="test", tool_version="0",
                          vector_tflops={"fp32": 1e-4}, bandwidth_gbs=900.0)
    pred = predict(p, gpu(), framework(), "fp32", calibration=cal)
    plain = predict(p, gpu(), framework(), "fp32")
    assert any("ignored as a failed measurement" in w and "fp32 TFLOPS" in w for w in pred.warnings)
    assert pred.layers[0].compute_ms == pytest.approx(plain.layers[0].compute_ms)
    assert pred.layers[0].memory_ms == pytest.approx(plain.layers[0].memory_ms * 1000 / 900)
