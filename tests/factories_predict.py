"""Small hand-built platforms, frameworks and profiles for the predictor/rules/recommend tests.

Numbers are round so expected times can be worked out by hand in the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache

from advisor.domain.specs import FrameworkSpec, Fusion, Parallelism, Peak, PlatformSpec, PrecisionSupport
from advisor.profiling.types import Category, OpRecord, Profile

SRC = "test fixture"


def seed_platform(platform_id: str) -> PlatformSpec:
    """A platform as the seed data (hardware_db/platforms) describes it."""
    from advisor.db.locations import SEED_DIR
    from advisor.db.yaml_io import load_platform_file

    (spec,) = load_platform_file(SEED_DIR / "platforms" / f"{platform_id}.yaml")
    return spec


def seed_framework(framework_id: str) -> FrameworkSpec:
    """A framework as the seed data (hardware_db/frameworks) describes it."""
    from advisor.db.locations import SEED_DIR
    from advisor.db.yaml_io import load_framework_file

    (spec,) = load_framework_file(SEED_DIR / "frameworks" / f"{framework_id}.yaml")
    return spec


def peak(v: float, engine: str = "tensor") -> Peak:
    return Peak(value=v, engine=engine, source=SRC)


def gpu(
    id: str = "toy-gpu",
    *,
    sms: int = 10,
    fp16: float = 100.0,
    fp32: float = 10.0,
    int8: float | None = 200.0,
    bandwidth: float = 1000.0,
    capacity_gb: float = 16.0,
    cc: str = "8.0",
    device_class: str = "datacenter_gpu",
) -> PlatformSpec:
    matrix = {"fp16": peak(fp16), "bf16": peak(fp16), "tf32": peak(fp16 / 2)}
    if int8:
        matrix["int8"] = peak(int8)
    return PlatformSpec(
        id=id, name=id, vendor="toy", device_class=device_class,
        matrix_peaks=matrix,
        vector_peaks={"fp32": peak(fp32, "vector"), "fp16": peak(2 * fp32, "vector")},
        memory={"capacity_gb": {"value": capacity_gb, "source": SRC}, "bandwidth_gbs": {"value": bandwidth, "source": SRC}},
        compute_capability=cc,
        parallelism=Parallelism(units=sms, unit_kind="sm", clock_ghz=1.0, source=SRC),
    )


def cpu(id: str = "toy-cpu", *, cores: int = 4, fp32: float = 0.1, bandwidth: float = 10.0,
        features: list[str] | None = None) -> PlatformSpec:
    return PlatformSpec(
        id=id, name=id, vendor="toy", device_class="cpu",
        vector_peaks={"fp32": peak(fp32, "vector"), "fp16": peak(fp32, "vector")},
        memory={"capacity_gb": {"value": 4, "source": SRC}, "bandwidth_gbs": {"value": bandwidth, "source": SRC}},
        features=features or [],
        parallelism=Parallelism(units=cores, unit_kind="core", clock_ghz=1.5, source=SRC),
    )


def framework(
    id: str = "toy-engine",
    *,
    fused: bool = True,
    per_kernel_us: float = 2.0,
    per_call_us: float = 10.0,
    compute_eff: float = 1.0,
    bandwidth_eff: float = 1.0,
    classes: tuple[str, ...] = ("datacenter_gpu", "desktop_gpu", "edge_gpu_soc"),
    precisions: tuple[str, ...] = ("fp32", "tf32", "fp16", "bf16", "int8", "w8a16", "w4a16"),
    int8_calibration: str = "required",
    enqueue: bool = False,
) -> FrameworkSpec:
    support = [PrecisionSupport(device_class=dc, precision=p, source=SRC) for dc in classes for p in precisions]
    overhead = {"per_kernel_us": {"value": per_kernel_us, "source": SRC}, "per_call_us": {"value": per_call_us, "source": SRC}}
    if enqueue:
        overhead["enqueue"] = SRC
    return FrameworkSpec(
        id=id, name=id, device_classes=list(classes), support=support,
        int8_calibration=int8_calibration,
        fusion=Fusion(bn_folding=fused, epilogue_fusion=fused, attention_fusion=fused, elementwise_fusion=fused, source=SRC),
        overhead=overhead,
        efficiency={"compute": {"value": compute_eff, "source": SRC}, "bandwidth": {"value": bandwidth_eff, "source": SRC}},
    )


def gemm_op(m: int, n: int, k: int, *, path: str = "fc", weights: bool = True, op: str = "aten.mm") -> OpRecord:
    return OpRecord(
        op=op, category=Category.matmul, module_path=path, module_type="Linear",
        flops=2 * m * n * k, macs=m * n * k,
        weight_elems=n * k if weights else 0,
        input_elems=m * k if weights else m * k + n * k,
        output_elems=m * n, output_shape=[m, n], parallel_work=m * n, gemm_mnk=(m, n, k),
    )


def conv_op(c_in: int, c_out: int, hw: int, *, k: int = 3, batch: int = 1, path: str = "conv",
            depthwise: bool = False) -> OpRecord:
    m = batch * hw * hw
    kk = (1 if depthwise else c_in) * k * k
    return OpRecord(
        op="aten.convolution", category=Category.matmul, module_path=path, module_type="Conv2d",
        flops=2 * m * c_out * kk, macs=m * c_out * kk, weight_elems=c_out * kk,
        input_elems=batch * c_in * hw * hw, output_elems=m * c_out, output_shape=[batch, c_out, hw, hw],
        parallel_work=m * c_out, gemm_mnk=(m, c_out, kk), depthwise=depthwise,
    )


def pointwise(elems: int, *, op: str = "aten.relu", inputs: int = 1, path: str = "act",
              category: Category = Category.elementwise, module_type: str = "ReLU") -> OpRecord:
    return OpRecord(
        op=op, category=category, module_path=path, module_type=module_type,
        flops=elems, input_elems=inputs * elems, output_elems=elems, output_shape=[elems],
        parallel_work=elems,
    )


def batch_norm(elems: int, channels: int, path: str = "bn") -> OpRecord:
    return OpRecord(
        op="aten._native_batch_norm_legit_no_training", category=Category.norm_reduction,
        module_path=path, module_type="BatchNorm2d", flops=2 * elems, weight_elems=4 * channels,
        input_elems=elems, output_elems=elems, output_shape=[elems], parallel_work=elems,
    )


def view(elems: int) -> OpRecord:
    return OpRecord(op="aten.view", category=Category.view, module_path="", module_type="Net",
                    output_elems=0, output_shape=[elems])


def profile(ops: list[OpRecord], *, model: str = "toy", batch: int = 1, params: int | None = None,
            phase: str | None = None, seq_len: int | None = None, context: int | None = None,
            kv_cache_elems: int = 0) -> Profile:
    return Profile(
        model=model, input_shape=[batch], batch=batch, phase=phase, seq_len=seq_len, context=context,
        params=params if params is not None else sum(o.weight_elems for o in ops),
        kv_cache_elems=kv_cache_elems, ops=ops,
    )


# -- real zoo profiles and the CLI, shared by the predict and recommend tests


@lru_cache(maxsize=None)
def zoo_profile_json(model: str, phase: str | None = None, context: int | None = None) -> str:
    """Count each zoo model once per test session (on meta tensors)."""
    from advisor.profiling.api import count_workload
    from advisor.workload import Workload

    return count_workload(Workload(model=model, phase=phase, context=context)).model_dump_json()


def cache_zoo_profile(db, model: str, phase: str | None = None, context: int | None = None) -> None:
    """Put a zoo model's real profile in the test database's cache, as profile_for would."""
    from advisor.workload import Workload

    key = Workload(model=model, phase=phase, context=context).profile_cache_key()
    db.put_cached_profile(key, zoo_profile_json(model, phase, context))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`advisor ARGS` in a fresh process, wide enough that tables do not wrap."""
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)
