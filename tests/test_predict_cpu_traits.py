"""CPU runtime mechanisms of the predictor: scalar max-pool windows, onnxruntime's unfused
quantized SiLU, and the no-overlap cost of kernels whose operands exceed the private caches.
Expected times are worked out by hand from the fixtures' round numbers."""

from __future__ import annotations

import math

import pytest

from advisor.domain.specs import Fusion
from advisor.measure.sysinfo import private_cache_kib
from advisor.predict.engine import predict
from advisor.predict.kernels import fuse, fusion_key
from advisor.profiling.types import Category, OpRecord
from factories_predict import SRC, conv_op, cpu, framework, pointwise, profile


def max_pool(out_elems: int, window: int = 9) -> OpRecord:
    return OpRecord(
        op="aten.max_pool2d_with_indices", category=Category.norm_reduction, module_path="pool",
        module_type="MaxPool2d", flops=out_elems * window, input_elems=4 * out_elems,
        output_elems=out_elems, output_shape=[out_elems], parallel_work=out_elems,
    )


def cpu_framework(**overhead_extra):
    fw = framework(fused=False, per_kernel_us=0, per_call_us=0, classes=("cpu",))
    if overhead_extra:
        data = fw.model_dump()
        data["overhead"].update(overhead_extra)
        fw = type(fw).model_validate(data)
    return fw


def test_max_pool_window_cost_in_cycles() -> None:
    # 200,704 outputs x 9 window elements x 10 cycles / (4 cores x 1.5 GHz) = 3.0106 ms
    op = max_pool(200_704)
    fw = cpu_framework(window_op_cycles={"value": 10.0, "source": SRC})
    pred = predict(profile([op]), cpu(bandwidth=1000.0), fw, "fp32")
    assert pred.latency_ms == pytest.approx(200_704 * 9 * 10 / 6e9 * 1e3, rel=1e-6)
    # without the trait the same op is priced as a vector kernel, far faster
    plain = predict(profile([op]), cpu(bandwidth=1000.0), cpu_framework(), "fp32")
    assert plain.latency_ms < pred.latency_ms / 10


def silu(elems: int) -> OpRecord:
    return pointwise(elems, op="aten.silu", path="act", module_type="SiLU")


def test_quantized_graph_runs_silu_as_two_nodes() -> None:
    fusion = Fusion(bn_folding=True, epilogue_fusion=True, attention_fusion=True, elementwise_fusion=True,
                    quantized_unfused=["silu"], source=SRC)
    ops = [conv_op(16, 16, 10), silu(1600)]
    assert [k.kind for k in fuse(ops, fusion, "fp32")] == ["convolution+silu"]
    kernels = fuse(ops, fusion, "int8")
    assert [k.kind for k in kernels] == ["convolution", "qlinear_sigmoid", "qlinear_mul"]
    sigmoid, mul = kernels[1:]
    assert (sigmoid.input_elems, sigmoid.output_elems, mul.input_elems, mul.output_elems) == (1600, 1600, 3200, 1600)
    # the recommender must not share int8 kernels with fp32 ones
    assert fusion_key(fusion, "int8") != fusion_key(fusion, "fp32")
    assert fusion_key(fusion, "fp32") == fusion_key(fusion, "fp16")


def with_private_cache(platform, mb: float):
    data = platform.model_dump()
    data["memory"]["private_cache_mb"] = {"value": mb, "source": SRC}
    return type(platform).model_validate(data)


def test_kernel_spilling_the_private_cache_pays_compute_plus_memory() -> None:
    # elementwise add of 1M fp32 elements: 12 MB at 10 GB/s = 1.2 ms; 1 MFLOP at 0.1 TFLOPS x
    # utilisation; with a 4 MB private cache the two no longer overlap.
    op = pointwise(1_000_000, op="aten.add", inputs=2)
    base = cpu(bandwidth=10.0)
    small, big = (with_private_cache(base, mb) for mb in (4.0, 64.0))
    fw = cpu_framework()
    overlapped = predict(profile([op]), base, fw, "fp32").layers[0]
    spilled = predict(profile([op]), small, fw, "fp32")
    assert predict(profile([op]), big, fw, "fp32").latency_ms == pytest.approx(overlapped.time_ms)
    assert spilled.latency_ms == pytest.approx(overlapped.compute_ms + overlapped.memory_ms, rel=1e-6)


def test_private_cache_from_sysfs(tmp_path) -> None:
    def index(name: str, level: int, kind: str, size: str, shared: str) -> None:
        d = tmp_path / "cache" / name
        d.mkdir(parents=True)
        for f, v in (("level", level), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (d / f).write_text(f"{v}\n")

    index("index0", 1, "Data", "48K", "0")
    index("index2", 2, "Unified", "2048K", "0")
    index("index3", 3, "Unified", "300M", "0-1")
    assert private_cache_kib(sysfs_cpu=tmp_path) == 2048
    assert private_cache_kib(level=3, sysfs_cpu=tmp_path) is None  # shared: not private
    assert private_cache_kib(sysfs_cpu=tmp_path / "missing") is None


def test_a_decode_gemv_on_a_cpu_is_split_along_k_not_padded_to_row_tiles() -> None:
    """One row (a decode token) times a 4096 x 4096 weight: a matrix-vector kernel over the
    cores' SIMD lanes, not 32-row register tiles of which 31 rows would be padding."""
    from factories_predict import gemm_op

    from advisor.predict.constants import predictor_constants
    from advisor.predict.utilisation import simd_lanes

    c = predictor_constants().cpu
    platform = cpu(bandwidth=1e6)  # 4 cores, fp32 0.1 TFLOPS; bandwidth out of the way
    lanes = simd_lanes(platform)
    gemv = predict(profile([gemm_op(1, 4096, 4096)]), platform, cpu_framework(), "fp32").layers[0]
    # work = rows x cols x K chunks of 64; spread over cores x lanes x elems_per_lane, capped at 1
    spread = min(1.0, 1 * 4096 * (4096 // 64) / (4 * lanes * c.elems_per_lane))
    assert gemv.utilisation == pytest.approx(spread)
    # the tile model's figure for the same product: 1 of 32 rows used
    tiles = math.ceil(4096 / c.tile_n)
    padded = (tiles / (math.ceil(tiles / 4) * 4)) * (1 / c.tile_m) * 4096 / (4096 + c.k_half)
    assert gemv.utilisation > 10 * padded
    # a product with a full row tile keeps the tile model
    gemm = predict(profile([gemm_op(64, 4096, 4096)]), platform, cpu_framework(), "fp32").layers[0]
    tiles = 2 * math.ceil(4096 / c.tile_n)
    assert gemm.utilisation == pytest.approx((tiles / (math.ceil(tiles / 4) * 4)) * 4096 / (4096 + c.k_half))
