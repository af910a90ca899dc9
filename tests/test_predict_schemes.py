"""What a scheme costs beyond narrower bytes: KV-cache dtype, layers kept at 16-bit, separate
activation-quantize kernels and dequantization in mixed-input GEMMs (advisor/predict/quantization.py).
Expected figures are worked out by hand from the toy devices' round numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.domain.specs import Fusion
from advisor.predict.engine import predict
from tests.factories_predict import SRC, framework, gemm_op, gpu, profile


def with_traits(**traits):
    fw = framework(per_kernel_us=0, per_call_us=0)
    fusion = Fusion(bn_folding=True, epilogue_fusion=True, attention_fusion=True, elementwise_fusion=True,
                    source=SRC, **traits)
    return fw.model_copy(update={"fusion": fusion})


# -- KV cache at its own dtype, on a real llama-7b decode profile


@pytest.fixture(scope="module")
def llama7b_decode():
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    return count_workload(Workload(model="llama-7b", phase="decode", context=2048))


def test_llama7b_decode_kv_cache_bytes_follow_the_cache_dtype(llama7b_decode) -> None:
    p = llama7b_decode
    # K and V x 32 layers x 2048 tokens x 32 KV heads x head_dim 128 (Llama-2-7B config)
    elems = 2 * 32 * 2048 * 32 * 128
    assert p.kv_cache_elems == elems
    fw = framework(per_kernel_us=0, per_call_us=0)
    by_dtype = {kv: predict(p, gpu(bandwidth=1000), fw, "fp16", kv_cache=kv) for kv in ("fp16", "fp8", "int4")}
    # memory: 2, 1 and 0.5 bytes per cached element (MB = 1e6 bytes)
    assert by_dtype["fp16"].memory_mb - by_dtype["fp8"].memory_mb == pytest.approx(elems * 1 / 1e6)
    assert by_dtype["fp16"].memory_mb - by_dtype["int4"].memory_mb == pytest.approx(elems * 1.5 / 1e6)
    # decode attention is memory-bound: every byte not read saves bytes / bandwidth (1000 GB/s)
    saved_ms = by_dtype["fp16"].latency_ms - by_dtype["fp8"].latency_ms
    assert saved_ms == pytest.approx(elems * 1 / 1000e9 * 1e3, rel=0.02)


def test_w8a8_and_fp8_weights_keep_a_16_bit_cache_by_default(llama7b_decode) -> None:
    p = llama7b_decode
    fw = framework(per_kernel_us=0, per_call_us=0)
    int8 = predict(p, gpu(), fw, "int8")
    int8_fp16_cache = predict(p, gpu(), fw, "int8", kv_cache="fp16")
    int8_int8_cache = predict(p, gpu(), fw, "int8", kv_cache="int8")
    assert int8.memory_mb == int8_fp16_cache.memory_mb
    assert int8.memory_mb - int8_int8_cache.memory_mb == pytest.approx(p.kv_cache_elems / 1e6)


# -- layers kept at 16-bit


def test_last_layer_kept_at_fp16_reads_16_bit_weights_and_says_so() -> None:
    ops = [gemm_op(1, 4096, 4096, path="body"), gemm_op(1, 32000, 4096, path="lm_head")]
    plain = predict(profile(ops), gpu(), framework(per_kernel_us=0, per_call_us=0), "w4a16")
    kept = predict(profile(ops), gpu(), with_traits(float_layers=["last"]), "w4a16")
    head_weights = 32000 * 4096
    # body unchanged; the head at 2 bytes per weight instead of 0.5 + 2/128
    assert kept.layers[0].bytes == plain.layers[0].bytes
    assert kept.layers[1].bytes - plain.layers[1].bytes == pytest.approx(head_weights * (2 - 0.5 - 2 / 128))
    assert kept.memory_mb - plain.memory_mb == pytest.approx(head_weights * (2 - 0.5 - 2 / 128) / 1e6)
    assert any("keeps lm_head at fp16 under w4a16" in w for w in kept.warnings)
    # no trait for float schemes: fp16 is fp16
    assert predict(profile(ops), gpu(), with_traits(float_layers=["last"]), "fp16").warnings == []


# -- separate activation-quantize kernels


def test_separate_quantize_kernel_before_each_int8_matmul() -> None:
    ops = [gemm_op(64, 4096, 4096, path="a"), gemm_op(64, 4096, 4096, path="b")]
    fw = with_traits(activation_quantize_kernels=["int8"])
    pred = predict(profile(ops), gpu(), fw, "int8")
    kinds = [k.kind for k in pred.layers]
    assert kinds == ["quantize_input", "mm", "quantize_input", "mm"]
    q = pred.layers[0]
    # reads 64 x 4096 fp16 activations, writes them at 1 byte
    assert q.bytes == 64 * 4096 * (2 + 1)
    assert q.flops == 2 * 64 * 4096
    assert any("2 extra kernels" in w for w in pred.warnings)
    # a family the runtime fuses: no extra kernels
    assert [k.kind for k in predict(profile(ops), gpu(), fw, "w8a16").layers] == ["mm", "mm"]


# -- dequantization inside mixed-input GEMMs


def test_dequant_work_grows_with_row_blocks() -> None:
    """M = 1024 rows: 8 blocks of 128 rows each dequantize the 4096 x 4096 weights at 4
    operations per weight on the fp16 vector units (20 TFLOPS on the toy GPU)."""
    fw = framework(per_kernel_us=0, per_call_us=0)
    gemm = gemm_op(1024, 4096, 4096)
    fp16 = predict(profile([gemm]), gpu(), fw, "fp16").layers[0]
    w4 = predict(profile([gemm]), gpu(), fw, "w4a16").layers[0]
    dequant_ms = 4096 * 4096 * 4 * 8 / 20e12 * 1e3
    assert w4.compute_ms - fp16.compute_ms == pytest.approx(dequant_ms, rel=1e-6)
    # a decode GEMV dequantizes once and stays memory-bound
    gemv = predict(profile([gemm_op(1, 4096, 4096)]), gpu(), fw, "w4a16").layers[0]
    assert gemv.bound == "memory"


def test_large_batches_dequantize_weights_in_a_kernel_of_their_own() -> None:
    """llama.cpp before PR #8075: a q4_0 GEMM of more than 32 rows is a dequantize kernel
    (reads 0.5625-byte weights, writes 2-byte ones) and an fp16 GEMM reading the 2-byte copy
    with no dequantization of its own; 32 rows or fewer keep the mixed-input GEMM."""
    fw = with_traits(weight_dequantize_min_rows=32)
    n = 4096 * 4096
    big = predict(profile([gemm_op(512, 4096, 4096)]), gpu(), fw, "q4_0")
    assert [k.kind for k in big.layers] == ["dequantize_weight", "mm"]
    dq, mm = big.layers
    assert dq.bytes == pytest.approx(n * (0.5625 + 2))
    assert mm.bytes == pytest.approx(n * 2 + (512 * 4096 + 512 * 4096) * 2)
    fp16 = predict(profile([gemm_op(512, 4096, 4096)]), gpu(), fw, "fp16").layers[0]
    assert mm.compute_ms == pytest.approx(fp16.compute_ms)  # no dequant work left in the GEMM
    small = predict(profile([gemm_op(32, 4096, 4096)]), gpu(), fw, "q4_0")
    assert [k.kind for k in small.layers] == ["mm"]
    # without the trait (current llama.cpp, other runtimes) nothing changes
    assert [k.kind for k in predict(profile([gemm_op(512, 4096, 4096)]), gpu(), with_traits(), "q4_0").layers] == ["mm"]


def test_fp16_accumulate_uses_the_half_accumulate_peak() -> None:
    """A runtime whose fp16 GEMMs accumulate in fp16 gets the platform's fp16-accumulate rate
    (GeForce: twice the fp32-accumulate figure); others, and platforms without one, do not."""
    from advisor.predict.peaks import achievable

    plain = gpu()
    fp16 = plain.matrix_peaks["fp16"].model_copy(update={"half_accumulate": 200.0})
    geforce = plain.model_copy(update={"matrix_peaks": {**plain.matrix_peaks, "fp16": fp16}})
    acc16 = with_traits(fp16_accumulate=SRC)
    assert achievable(geforce, acc16, None).matrix_tflops["fp16"] == pytest.approx(200.0)
    assert achievable(geforce, with_traits(), None).matrix_tflops["fp16"] == pytest.approx(100.0)
    assert achievable(plain, acc16, None).matrix_tflops["fp16"] == pytest.approx(100.0)
    assert achievable(geforce, acc16, None).matrix_tflops["bf16"] == pytest.approx(100.0)


def test_half_math_fp32_prices_half_kernels_at_the_fp32_rate_without_a_half_matrix_engine() -> None:
    """ATen computes fp16 in fp32 (cuDNN math type FLOAT, cuBLAS fp32 compute): on a GPU whose
    only fp16 path is packed-half CUDA cores (Maxwell/Pascal: Jetson Nano, TX2) its fp16 GEMMs
    run at the fp32 rate; a runtime with true fp16 math (TensorRT) keeps the packed-half rate;
    a GPU with fp16 tensor cores keeps its matrix rate either way."""
    from advisor.predict.peaks import achievable

    tensor_cores = gpu()  # fp16 matrix 100, vector fp32 10 / fp16 20
    no_tensor_cores = tensor_cores.model_copy(update={"matrix_peaks": {}})
    aten = with_traits(half_math_fp32=SRC)
    assert achievable(no_tensor_cores, aten, None).vector_tflops["fp16"] == pytest.approx(10.0)
    assert achievable(no_tensor_cores, with_traits(), None).vector_tflops["fp16"] == pytest.approx(20.0)
    assert achievable(tensor_cores, aten, None).matrix_tflops["fp16"] == pytest.approx(100.0)
    assert achievable(tensor_cores, aten, None).vector_tflops["fp16"] == pytest.approx(20.0)
    # the GEMM itself runs at (peak x utilisation): the peak behind it is the fp32 one
    op = profile([gemm_op(1024, 1024, 1024)])
    eff = aten.efficiency.compute.value
    for fw, peak in ((with_traits(), 20.0), (aten, 10.0)):
        layer = predict(op, no_tensor_cores, fw, "fp16").layers[0]
        assert layer.flops / (layer.compute_ms * 1e9) / layer.utilisation == pytest.approx(peak * eff, rel=1e-6)


def test_pytorch_fp16_on_jetson_nano_runs_at_the_fp32_rate_and_tensorrt_at_fp16() -> None:
    """The seed: pytorch carries the trait (with its ATen source), TensorRT does not, so on a
    Jetson Nano (128 Maxwell cores, fp16 = 2 x fp32) pytorch gains nothing from fp16 compute."""
    from advisor.db.yaml_io import load_framework_file, load_platform_file
    from advisor.predict.peaks import achievable
    seed = Path(__file__).resolve().parents[1] / "hardware_db"
    nano = load_platform_file(seed / "platforms" / "jetson-nano.yaml")[0]
    torch_fw = load_framework_file(seed / "frameworks" / "pytorch.yaml")[0]
    trt = load_framework_file(seed / "frameworks" / "tensorrt.yaml")[0]
    assert "Descriptors.h" in torch_fw.fusion.half_math_fp32
    fp32 = nano.vector_peaks["fp32"].value
    assert achievable(nano, torch_fw, None).vector_tflops["fp16"] == pytest.approx(fp32 * torch_fw.efficiency.compute.value)
    assert achievable(nano, trt, None).vector_tflops["fp16"] == pytest.approx(2 * fp32 * trt.efficiency.compute.value)


def test_tf32_by_default_prices_fp32_convolutions_and_matmuls_at_tf32_where_the_gpu_has_it() -> None:
    """TensorRT runs fp32 convolutions and matmuls on TF32 tensor cores by default, PyTorch its
    cuDNN convolutions only; a GPU without TF32 (no tf32 matrix peak) keeps the fp32 rate."""
    from tests.factories_predict import conv_op

    ampere = gpu()  # matrix tf32 50, vector fp32 10 (TFLOPS)
    volta = ampere.model_copy(update={"matrix_peaks": {k: v for k, v in ampere.matrix_peaks.items() if k != "tf32"}})
    ops = profile([conv_op(256, 256, 56), gemm_op(4096, 4096, 4096)])
    both = with_traits(tf32_convolutions=SRC, tf32_matmuls=SRC)
    convs_only = with_traits(tf32_convolutions=SRC)

    def peak_behind(fw, platform) -> list[float]:
        pred = predict(ops, platform, fw, "fp32")
        eff = fw.efficiency.compute.value
        return [round(k.flops / (k.compute_ms * 1e9) / k.utilisation / eff, 6) for k in pred.layers]

    assert peak_behind(both, ampere) == [50.0, 50.0]
    assert peak_behind(convs_only, ampere) == [50.0, 10.0]
    assert peak_behind(with_traits(), ampere) == [10.0, 10.0]
    assert peak_behind(both, volta) == [10.0, 10.0]
    # said in the prediction, only where it applies
    assert any("TF32" in w for w in predict(ops, ampere, both, "fp32").warnings)
    assert not any("TF32" in w for w in predict(ops, volta, both, "fp32").warnings)
    assert not any("TF32" in w for w in predict(ops, ampere, both, "fp16").warnings)


# -- eager host-only costs: module calls around modules, view ops


def test_eager_pays_host_time_for_container_modules_and_views() -> None:
    """Eager PyTorch, tiny kernels (host-bound): each container module call and each view op
    adds its host time even though it launches no kernel (figures from the framework)."""
    from advisor.domain.specs import Figure
    from advisor.profiling.types import Category, ModuleInfo, OpRecord
    from tests.factories_predict import pointwise

    ops = [pointwise(1000, path=f"block.a{i}") for i in range(10)]
    ops += [OpRecord(op="aten.view", category=Category.view, module_path="block", module_type="Block",
                     output_shape=[1000]) for _ in range(4)]
    p = profile(ops)
    p = p.model_copy(update={"modules": [ModuleInfo(path="", type="Net", calls=1),
                                         ModuleInfo(path="block", type="Block", calls=1)]
                             + [ModuleInfo(path=f"block.a{i}", type="ReLU", calls=1) for i in range(10)]})
    fw = framework(fused=False, per_kernel_us=20, per_call_us=0)
    plain = predict(p, gpu(), fw, "fp16").latency_ms
    figures = fw.overhead.model_copy(update={"module_call_us": Figure(value=3.0, source=SRC),
                                             "view_op_us": Figure(value=1.0, source=SRC)})
    costed = predict(p, gpu(), fw.model_copy(update={"overhead": figures}), "fp16")
    # 2 container calls (the model and its block) x 3 us + 4 views x 1 us = 10 us more host time
    assert costed.latency_ms - plain == pytest.approx(10e-3, rel=1e-6)
    assert "2 module calls x 3 us + 4 view ops x 1 us" in costed.provenance["overhead"]


def test_calibrated_host_costs_replace_the_seed_figures() -> None:
    from advisor.domain.specs import CalibrationSpec
    from advisor.predict.constants import predictor_constants
    from advisor.predict.engine import host_only_us
    from advisor.profiling.types import Category, ModuleInfo, OpRecord

    ops = [OpRecord(op="aten.view", category=Category.view, module_path="", module_type="Net", output_shape=[1])]
    p = profile(ops).model_copy(update={"modules": [ModuleInfo(path="", type="Net", calls=1),
                                                    ModuleInfo(path="fc", type="Linear", calls=1)]})
    fw = framework(id="pytorch", fused=False, per_kernel_us=20)
    cal = CalibrationSpec(platform_id="toy-gpu", framework_id="pytorch", measured_at="2026-12-01T00:00:00",
                          method="test", tool_version="test", module_call_us=7.0, view_op_us=0.5)
    total, origin = host_only_us(p, gpu(), fw, cal, predictor_constants())
    assert total == pytest.approx(7.0 + 0.5) and "calibration" in origin
    other = cal.model_copy(update={"framework_id": "torch-compile"})  # another framework's record lends nothing
    assert host_only_us(p, gpu(), fw, other, predictor_constants())[0] == 0.0


def test_service_predict_body_passes_the_kv_cache_dtype_to_the_workload() -> None:
    from pydantic import ValidationError

    from advisor.service.bodies import PredictBody

    body = PredictBody(model="llama-1.1b", target="h100-sxm", precision="fp8", framework="vllm", kv_cache="fp8")
    assert body.workload().kv_cache == "fp8"
    assert PredictBody(model="m", target="t", precision="fp16", framework="f").workload().kv_cache is None
    with pytest.raises(ValidationError, match="kv_cache"):
        PredictBody(model="m", target="t", precision="fp16", framework="f", kv_cache="fp9")


def test_container_module_calls_count_the_modules_that_wrap_others() -> None:
    """The root, ``layers`` and ``layers.0`` wrap other modules (``layers.0`` is called 3 times);
    leaves and a module whose name merely starts like another's (``layers0``) do not count."""
    from advisor.predict.engine import container_module_calls
    from advisor.profiling.types import ModuleInfo

    modules = [ModuleInfo(path="", type="Net", calls=1), ModuleInfo(path="layers", type="ModuleList", calls=0),
               ModuleInfo(path="layers.0", type="Block", calls=3), ModuleInfo(path="layers.0.fc", type="Linear", calls=3),
               ModuleInfo(path="layers0", type="Linear", calls=1), ModuleInfo(path="head", type="Linear", calls=1)]
    p = profile([]).model_copy(update={"modules": modules})
    assert container_module_calls(p) == 1 + 1 + 3  # a container never called still counts once
    assert container_module_calls(p.model_copy(update={"modules": modules[:1]})) == 0  # a lone root wraps nothing
