"""`advisor calibrate`, `bench` and `validate` end to end, as a user runs them (CLI in a
subprocess, a throw-away database from the isolated_db fixture), in quick mode
(ADVISOR_CALIBRATE_QUICK=1: short budgets, the records say so).

Bad input must give one line on stderr and exit 2, and leave the database unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
# resnet18 at 224x224: 1.814 GMACs (torchvision's published figure) = 3.63 GFLOP
RESNET18_FLOPS = 2 * 1.814e9


def fft_model():
    """A model the TorchScript ONNX exporter cannot take (aten::fft_rfft has no symbolic)."""
    import torch

    class Spectral(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(16, 16)

        def forward(self, x):
            return torch.fft.rfft(self.proj(x)).abs()

    return Spectral(), torch.empty(2, 16)


def advisor(*args: str, quick: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if quick:
        env["ADVISOR_CALIBRATE_QUICK"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def calibrated_db(tmp_path_factory: pytest.TempPathFactory, _seeded_sqlite_template: Path) -> str:
    """One quick `advisor calibrate` shared by the tests of this module (SQLite copy)."""
    import shutil

    path = tmp_path_factory.mktemp("measure-db") / "advisor.db"
    shutil.copyfile(_seeded_sqlite_template, path)
    url = f"sqlite:///{path}"
    old = os.environ.get("ADVISOR_DB")
    os.environ["ADVISOR_DB"] = url
    try:
        proc = advisor("calibrate")
        assert proc.returncode == 0, proc.stderr
        assert "stored 3 calibration records" in proc.stdout
        yield url
    finally:
        if old is None:
            os.environ.pop("ADVISOR_DB", None)
        else:
            os.environ["ADVISOR_DB"] = old


def test_calibrate_stores_local_platform_and_records(calibrated_db: str) -> None:
    from advisor.db import Database
    from advisor.measure.sysinfo import derived_peaks, detect_cpu

    db = Database.open(calibrated_db)
    local = db.get_platform("local")
    cpu = detect_cpu()
    assert local.device_class == "cpu"
    assert local.features == cpu.features
    assert local.parallelism.units >= 1 and local.parallelism.unit_kind == "core"

    device = db.latest_calibration("local")
    assert device is not None and device.framework_id is None
    assert "QUICK mode" in device.method
    fp32 = device.matmul_tflops["fp32"]
    derived = derived_peaks(cpu, local.parallelism.units).get("fp32")
    # A GEMM cannot beat the ISA's FMA rate at the clock it runs at. With the kernel's cpufreq
    # maximum that is the derived peak (+10% for measurement noise). A virtual machine reports
    # only the nominal clock, and turbo runs above it: up to 1.93x on Intel parts (i9-13900K P-core
    # 3.0 -> 5.8 GHz, Intel ARK), so the ceiling there is 2x the nominal-clock figure.
    turbo_headroom = 1.1 if cpu.clock_source.startswith("/sys") else 2.0
    assert 0 < fp32 <= (derived.tflops * turbo_headroom if derived else 100.0)
    assert ("bf16" in device.matmul_tflops) == cpu.native_bf16
    assert 0.1 < device.bandwidth_gbs < 2000
    assert device.per_op_overhead_us is None  # framework figures live in framework records
    curve = device.utilisation_curve
    assert len(curve) >= 2
    assert [w for w, _ in curve] == sorted(w for w, _ in curve)
    assert [f for _, f in curve] == sorted(f for _, f in curve)
    assert all(0 < f <= 1 for _, f in curve)
    # the sweep's convolutions get a figure of their own (the best rate any reached), and
    # every convolution's fraction of it; the pytorch record carries the same figures
    conv = device.conv_tflops["fp32"]
    assert 0 < conv <= (derived.tflops * turbo_headroom if derived else 100.0)  # same ISA ceiling as GEMMs
    assert device.conv_utilisation_curve and all(0 < f <= 1 for _, f in device.conv_utilisation_curve)

    eager = db.latest_calibration("local", "pytorch")
    assert eager.conv_tflops == device.conv_tflops
    assert eager.framework_id == "pytorch" and 0 < eager.per_op_overhead_us < 100_000
    ort = db.latest_calibration("local", "onnxruntime-cpu")
    assert ort.framework_id == "onnxruntime-cpu"
    assert set(ort.matmul_tflops) == {"fp32", "int8"}
    assert ort.per_op_overhead_us > 0
    # int8 depthwise convolutions timed as QDQ graphs give onnxruntime's int8 vector figure
    assert ort.vector_tflops.get("int8", 0) > 0


def test_calibrate_as_existing_platform_of_another_class_is_refused(isolated_db: str) -> None:
    from advisor.db import Database

    line = one_error_line(advisor("calibrate", "--as", "h200"))
    assert "h200" in line and "datacenter_gpu" in line
    assert Database.open(isolated_db).latest_calibration("h200") is None


def test_calibrate_bad_id_and_device(isolated_db: str) -> None:
    from advisor.db import Database

    assert "Not_Kebab" in one_error_line(advisor("calibrate", "--as", "Not_Kebab"))
    assert "tpu" in one_error_line(advisor("calibrate", "--device", "tpu"))
    import torch

    if not torch.cuda.is_available():
        assert "cuda" in one_error_line(advisor("calibrate", "--device", "cuda"))
    db = Database.open(isolated_db)
    assert "local" not in db.platform_ids()


def test_bench_resnet18_pytorch_and_onnxruntime(calibrated_db: str) -> None:
    from advisor.measure.sysinfo import derived_peaks, detect_cpu

    results = {}
    for fw in ("pytorch", "onnxruntime-cpu"):
        proc = advisor("bench", "--model", "resnet18", "--batch", "1", "--framework", fw, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        results[fw] = r = json.loads(proc.stdout)
        assert (r["model"], r["batch"], r["framework"], r["precision"]) == ("resnet18", 1, fw, "fp32")
        assert r["input_shape"] == [1, 3, 224, 224]
        assert r["p10_ms"] <= r["latency_ms"] <= r["p90_ms"]
        assert r["runs"] >= 3 and r["threads"] == os.cpu_count()
        assert r["throughput_per_s"] == pytest.approx(1000 / r["latency_ms"])
        # physics: 3.63 GFLOP cannot run faster than the CPU's fp32 FMA peak allows
        cpu = detect_cpu()
        peak = derived_peaks(cpu, os.cpu_count() or 1).get("fp32")
        # the same turbo allowance as the GEMM ceiling above: a VM that reports only its nominal
        # clock runs above it (8.1 ms measured against a 9.9 ms bound at a nominal 2.6 GHz)
        turbo_headroom = 1.1 if cpu.clock_source.startswith("/sys") else 2.0
        if peak is not None:
            assert r["min_ms"] >= RESNET18_FLOPS / (peak.tflops * turbo_headroom * 1e12) * 1e3


def test_onnx_export_matches_pytorch_and_int8_is_quantized() -> None:
    torch = pytest.importorskip("torch")
    import onnx

    from advisor.measure.bench import ModelBench, onnx_artifacts, ort_session

    mb = ModelBench("resnet18", 1)
    try:
        art = onnx_artifacts(mb.m, "resnet18", "int8")
        with torch.inference_mode():
            expected = mb.m.module(*mb.m.args).numpy()
        sess = ort_session(art.fp32, 1)
        got = sess.run(None, {sess.get_inputs()[0].name: mb.m.args[0].numpy()})[0]
        assert got.shape == expected.shape
        assert abs(got - expected).max() <= 1e-3 * max(1.0, abs(expected).max())
        ops = {n.op_type for n in onnx.load(str(art.int8)).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
        int8_weights = [i for i in onnx.load(str(art.int8)).graph.initializer if i.data_type == onnx.TensorProto.INT8]
        assert len(int8_weights) >= 20  # every conv and the fc: 21 weight tensors in resnet18
    finally:
        mb.close()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--framework", "tensorrt"], "not installed"),
        (["--framework", "openvino"], "not installed"),
        (["--framework", "onnxruntme-cpu"], "onnxruntime-cpu"),  # typo: nearest names suggested
        (["--precision", "fp8"], "fp8"),
        (["--precision", "int8", "--framework", "pytorch"], "int8"),
        (["--framework", "pytorch-cudagraphs"], "cuda"),
        (["--precision", "fp64"], "fp64"),
    ],
)
def test_bench_bad_configuration_is_one_line_exit_2(isolated_db: str, args: list[str], expected: str) -> None:
    import importlib.util

    if "openvino" in args and importlib.util.find_spec("openvino") is not None:
        pytest.skip("openvino is installed here")
    line = one_error_line(advisor("bench", "--model", "resnet18", *args))
    assert expected in line


def test_bench_model_that_fails_onnx_export(isolated_db: str) -> None:
    line = one_error_line(advisor("bench", "--model", "test_measure_cli:fft_model", "--framework", "onnxruntime-cpu"))
    assert "failed to export to ONNX" in line and "fft" in line


def test_bench_unknown_model(isolated_db: str) -> None:
    assert "resnet" in one_error_line(advisor("bench", "--model", "resnet19"))


def test_validate_tiny_matrix(calibrated_db: str, tmp_path: Path) -> None:
    from advisor.db import Database

    plot = tmp_path / "val.png"
    proc = advisor("validate", "--model", "resnet18", "--batch", "1", "--framework", "pytorch",
                   "--framework", "onnxruntime-cpu", "--precision", "fp32", "--plot", str(plot), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = out["rows"]
    assert [(r["framework"], r["precision"]) for r in rows] == [("pytorch", "fp32"), ("onnxruntime-cpu", "fp32")]
    for r in rows:
        assert r["error"] == pytest.approx(r["predicted_ms"] / r["measured_ms"] - 1)
        assert r["calibration"] is not None  # the prediction used this machine's calibration
    errors = sorted(abs(r["error"]) for r in rows)
    assert out["median_abs_error"] == pytest.approx((errors[0] + errors[1]) / 2)
    assert out["pairs"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stored = Database.open(calibrated_db).validation_results("local")
    assert len(stored) >= 2
    assert {(s["model"], s["framework"]) for s in stored} >= {("resnet18", "pytorch"), ("resnet18", "onnxruntime-cpu")}


def test_validate_bad_inputs_fail_fast(isolated_db: str, tmp_path: Path) -> None:
    from advisor.db import Database

    assert "nosuch" in one_error_line(advisor("validate", "--target", "nosuch", "--model", "resnet18"))
    assert "fp8" in one_error_line(advisor("validate", "--target", "xeon-8480", "--model", "resnet18",
                                           "--framework", "pytorch", "--precision", "fp8"))
    assert "resnet19" in one_error_line(advisor("validate", "--target", "xeon-8480", "--model", "resnet19"))
    assert ".jpg" in one_error_line(advisor("validate", "--target", "xeon-8480", "--plot", str(tmp_path / "x.jpg")))
    assert Database.open(isolated_db).validation_results() == []
