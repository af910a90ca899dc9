"""Unit tests of the measurement side: CPU detection, timing statistics, the utilisation
curve, validation metrics and model materialisation. Fast: no long benchmarks here
(those are in test_measure_cli.py)."""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from advisor.measure.sysinfo import derived_peaks, detect_cpu
from advisor.measure.timing import median_ci_rel, quantile, summarize, time_callable

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Test CPU @ 3.00GHz
cpu MHz\t\t: 3000.000
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512_vnni avx512_bf16 amx_tile amx_bf16 amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Test CPU @ 3.00GHz
"""


def test_detect_cpu_from_cpuinfo_text(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    cpu = detect_cpu(path)
    assert cpu.model_name == "Intel(R) Xeon(R) Test CPU @ 3.00GHz"
    assert cpu.vendor == "Intel"
    assert cpu.features == ["fma", "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx", "amx_bf16", "amx_int8"]
    assert cpu.native_bf16 and cpu.native_int8


def test_derived_peaks_are_cores_x_clock_x_flops_per_cycle(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    cpu = detect_cpu(path)
    if cpu.clock_source != "/proc/cpuinfo 'cpu MHz' (nominal clock)":
        pytest.skip("this machine exposes cpufreq, which takes precedence over the test text")
    peaks = derived_peaks(cpu, cores=4)
    # 4 cores x 3.0 GHz x 64 FLOP/cycle (AVX-512: 2 FMA pipes x 16 lanes x 2) = 0.768 TFLOPS
    assert peaks["fp32"].tflops == pytest.approx(0.768)
    assert peaks["fp32"].engine == "vector"
    # AMX: 1024 bf16 FLOP/cycle, 2048 int8 OP/cycle per core
    assert peaks["bf16"].tflops == pytest.approx(4 * 3.0 * 1024 / 1e3)
    assert peaks["int8"].tflops == pytest.approx(4 * 3.0 * 2048 / 1e3)
    assert peaks["bf16"].engine == peaks["int8"].engine == "tensor"


def test_avx2_only_cpu_has_no_bf16_and_half_the_fp32_rate(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO.replace(" avx512f avx512_vnni avx512_bf16 amx_tile amx_bf16 amx_int8", ""))
    cpu = detect_cpu(path)
    assert not cpu.native_bf16 and not cpu.native_int8
    if cpu.clock_ghz == 3.0:
        peaks = derived_peaks(cpu, cores=2)
        assert set(peaks) == {"fp32"}
        assert peaks["fp32"].tflops == pytest.approx(2 * 3.0 * 32 / 1e3)


def test_this_machine_features_match_proc_cpuinfo() -> None:
    flags_line = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), None)
    if flags_line is None:
        pytest.skip("no /proc/cpuinfo flags here")
    flags = set(flags_line.split(":", 1)[1].split())
    cpu = detect_cpu()
    assert ("avx2" in cpu.features) == ("avx2" in flags)
    assert ("avx512_bf16" in cpu.features) == ("avx512_bf16" in flags)
    assert ("amx" in cpu.features) == ("amx_tile" in flags)


def test_quantile_and_median_statistics_match_numpy() -> None:
    values = sorted([5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 7.0])
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)))
    s = summarize(values, warmup_runs=2, rel_ci=0.02)
    assert s.median_ms == 4.0 and s.min_ms == 1.0 and s.runs == 7 and s.warmup_runs == 2
    assert s.iqr_ms == pytest.approx(np.quantile(values, 0.75) - np.quantile(values, 0.25))
    # identical samples: the median is exact
    assert median_ci_rel([2.0] * 20) == 0.0
    assert math.isinf(median_ci_rel([1.0, 2.0]))


def test_time_callable_measures_a_known_sleep() -> None:
    stats = time_callable(lambda: time.sleep(0.005), min_runs=5, budget_s=0.5, warmup_s=0.0, rel_ci=0.5)
    # sleep never returns early; scheduling may add a little
    assert 5.0 <= stats.min_ms <= stats.median_ms < 25.0
    assert stats.runs >= 3


def test_time_callable_stops_on_budget() -> None:
    t0 = time.perf_counter()
    stats = time_callable(lambda: time.sleep(0.002), min_runs=1000, max_runs=10000, budget_s=0.2,
                          warmup_s=0.0, max_warmup_s=0.05, rel_ci=0.0)
    assert time.perf_counter() - t0 < 2.0
    assert not stats.stable  # rel_ci 0 cannot be reached with real timings


def test_utilisation_curve_subtracts_call_floor_and_is_monotone() -> None:
    from advisor.measure.microbench import SweepPoint, pool_adjacent_violators, utilisation_curve

    peak = 1.0  # TFLOPS
    points = [
        # 1 GFLOP in 10 us of busy time + 10 us floor -> 0.1 TFLOPS = 0.1 of peak
        SweepPoint("gemm", (1, 1, 1), 100, 1e6, 0.020, 0.0),
        # 1e9 FLOPs in 2 ms (+0.01 floor) -> 0.5 of peak
        SweepPoint("gemm", (1, 1, 1), 100_000, 1e9, 2.010, 0.0),
        # a noisy dip at bigger size must not make the curve fall
        SweepPoint("gemm", (1, 1, 1), 10_000_000, 1e9, 2.510, 0.0),
    ]
    curve = utilisation_curve(points, peak, {"gemm": 10.0})
    works = [w for w, _ in curve]
    fracs = [f for _, f in curve]
    assert works == [100.0, 100_000.0, 10_000_000.0]
    assert fracs[0] == pytest.approx(0.1, rel=1e-3)
    assert fracs == sorted(fracs)
    # isotonic regression pools the violating pair 0.5, 0.4 into their mean 0.45
    assert fracs[1] == pytest.approx(0.45, rel=1e-3) and fracs[2] == pytest.approx(0.45, rel=1e-3)
    assert pool_adjacent_violators([1.0, 3.0, 2.0, 4.0]) == [1.0, 2.5, 2.5, 4.0]


def _row(model: str, predicted: float, measured: float, batch: int = 1, fw: str = "pytorch"):
    from advisor.measure.validate import ValidationRow

    return ValidationRow(model=model, batch=batch, framework=fw, precision="fp32", target="local", device="cpu",
                         predicted_ms=predicted, measured_ms=measured, p10_ms=measured, p90_ms=measured, runs=5,
                         stable=True, error=predicted / measured - 1, bound="compute", measured_at="2026-01-01T00:00:00")


def test_pairwise_agreement_counts_ordered_pairs_by_hand() -> None:
    from advisor.measure.validate import pairwise_agreement, summarize

    rows = [_row("a", 1.0, 10.0), _row("b", 2.0, 20.0), _row("c", 1.5, 30.0)]
    # pairs: (a,b) right, (a,c) right, (b,c) wrong -> 2/3
    frac, n = pairwise_agreement(rows)
    assert n == 3 and frac == pytest.approx(2 / 3)
    s = summarize(rows)
    assert s.median_abs_error == pytest.approx(statistics.median([0.9, 0.9, 0.95]))
    assert s.within_25pct == 0.0
    assert s.within_config_pairs == 0  # each (model, batch) has a single row


def test_within_config_agreement_only_compares_same_model_and_batch() -> None:
    from advisor.measure.validate import summarize

    rows = [_row("a", 1.0, 2.0, fw="pytorch"), _row("a", 2.0, 1.0, fw="onnxruntime-cpu"),
            _row("b", 5.0, 5.5, fw="pytorch"), _row("b", 6.0, 6.5, fw="onnxruntime-cpu")]
    s = summarize(rows)
    assert s.within_config_pairs == 2
    assert s.within_config_agreement == pytest.approx(0.5)


def test_configs_cross_product_and_default() -> None:
    from advisor.measure.validate import DEFAULT_CONFIGS, configs_for

    assert configs_for(None, None, "cpu") == DEFAULT_CONFIGS["cpu"]
    assert configs_for(["pytorch"], ["fp32", "bf16"], "cpu") == [("pytorch", "fp32"), ("pytorch", "bf16")]


def test_materialised_model_has_real_finite_weights_and_activations() -> None:
    torch = pytest.importorskip("torch")
    from advisor.measure.bench import materialise

    m = materialise("resnet18", 1, "cpu")
    assert not any(t.is_meta for t in [*m.module.parameters(), *m.module.buffers()])
    assert m.params == 11_689_512  # torchvision's published parameter count for resnet18
    bn = m.module.bn1
    assert torch.equal(bn.running_var, torch.ones_like(bn.running_var))
    with torch.inference_mode():
        out = m.module(*m.args)
    assert out.shape == (1, 1000)
    assert torch.isfinite(out).all()
    # variance-preserving init: logits neither vanish nor explode (no denormals, no inf)
    assert 1e-3 < out.abs().mean().item() < 1e4


def test_interpolate_is_linear_in_log_work_and_flat_beyond_ends() -> None:
    from advisor.domain.curve import interpolate_curve

    curve = [(10.0, 0.1), (1000.0, 0.5)]
    assert interpolate_curve(curve, 100.0) == pytest.approx(0.3)  # log-midpoint of 10 and 1000
    assert interpolate_curve(curve, 1.0) == 0.1
    assert interpolate_curve(curve, 1e6) == 0.5
    assert interpolate_curve(list(reversed(curve)), 100.0) == pytest.approx(0.3)  # any point order
    assert interpolate_curve(curve, 0.0) == 0.1  # work below 1 counts as 1
    with pytest.raises(ValueError, match="no points"):
        interpolate_curve([], 100.0)


def test_peak_consistent_with_curve_recovers_the_scale() -> None:
    from advisor.measure.microbench import SweepPoint, peak_consistent_with_curve

    curve = [(1_000.0, 0.25), (100_000.0, 1.0)]
    # kernels that run at exactly 0.5 TFLOPS x curve(work), plus a 10 us call floor
    points = []
    for work in (1_000, 10_000, 100_000):
        frac = 0.25 if work == 1_000 else (0.625 if work == 10_000 else 1.0)
        flops = 1e9
        busy_ms = flops / (0.5e12 * frac) * 1e3
        points.append(SweepPoint("conv", (1,), work, flops, busy_ms + 0.010, 0.0))
    assert peak_consistent_with_curve(points, curve, {"conv": 10.0}) == pytest.approx(0.5, rel=1e-6)
    # a kernel no slower than twice its call floor says nothing and is ignored
    tiny = [SweepPoint("conv", (1,), 10, 1e3, 0.015, 0.0)]
    assert peak_consistent_with_curve(tiny, curve, {"conv": 10.0}) is None


def test_calibration_progress_bar_runs_no_background_thread() -> None:
    """A refresh thread would preempt OpenMP workers on a 2-core machine (see calibrate.py)."""
    import threading

    from advisor.measure.calibrate import _run_steps

    seen: list[int] = []
    _run_steps([("count threads", lambda: seen.append(threading.active_count()))], show_progress=True)
    assert seen == [threading.active_count()]
