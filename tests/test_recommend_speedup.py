"""The speed-up a recommendation states for its best precision against the other side of the
float / low-precision line, and the range measured pairs give it (advisor/recommend/speedup.py,
the ``speedups`` classes of advisor/predict/intervals.py, benchmarks.accuracy.speedup_ranges)."""

from __future__ import annotations

import json

import pytest

from advisor.domain.candidates import Candidate
from advisor.predict.intervals import IntervalClass, IntervalTable
from advisor.recommend.engine import recommend
from advisor.recommend.render import to_json, to_markdown
from advisor.recommend.speedup import PrecisionSpeedup, precision_speedup
from advisor.recommend.types import RecommendRequest
from tests.factories_predict import cache_zoo_profile

TABLE = IntervalTable.model_validate({
    "default": {"n": 0, "low_ratio": 0.5, "high_ratio": 2.0},
    "speedups": [
        {"device_class": "edge_gpu_soc", "framework": "tensorrt", "precision_family": "int8/float",
         "n": 4, "sources": 3, "low_ratio": 0.25, "high_ratio": 1.2},
        {"device_class": "*", "framework": "*", "precision_family": "int8/float",
         "n": 50, "sources": 7, "low_ratio": 0.7, "high_ratio": 1.2},
        {"device_class": "datacenter_gpu", "framework": "*", "precision_family": "weight_only/float",
         "n": 2, "sources": 2, "low_ratio": 0.9, "high_ratio": 1.0},  # too little evidence: skipped
    ],
})


def cand(rank: int, precision: str, latency: float, framework: str = "tensorrt", model: str = "m") -> Candidate:
    return Candidate(rank=rank, model=model, precision=precision, framework=framework, latency_ms=latency,
                     throughput_per_s=1000 / latency, bound="compute", memory_mb=10.0)


def test_speedup_lookup_backs_off_like_the_latency_classes() -> None:
    assert TABLE.speedup_lookup("edge_gpu_soc", "tensorrt", "int8/float").n == 4
    assert TABLE.speedup_lookup("cpu", "ncnn", "int8/float").key == ("*", "*", "int8/float")
    assert TABLE.speedup_lookup("datacenter_gpu", "vllm", "weight_only/float").n == 0  # n=2 is not evidence
    assert IntervalTable.model_validate({"default": TABLE.default.model_dump()}).speedups == []


def test_a_low_precision_best_is_compared_with_the_fastest_float_of_its_framework() -> None:
    ranked = [cand(1, "int8", 0.44), cand(2, "int8", 0.46, "onnxruntime-tensorrt"), cand(3, "fp16", 0.80),
              cand(4, "fp32", 1.60), cand(5, "fp16", 0.50, model="other")]
    s = precision_speedup(ranked, TABLE, "edge_gpu_soc", set())
    assert (s.narrow, s.wide, s.framework) == ("int8", "fp16", "tensorrt")
    assert s.predicted == pytest.approx(0.80 / 0.44)
    assert (s.low, s.high) == pytest.approx((0.80 / 0.44 * 0.25, 0.80 / 0.44 * 1.2))
    assert s.sentence() == ("int8 vs fp16 (tensorrt): speed-up 1.82x predicted, likely 0.455-2.18x "
                            "(4 measured pairs of edge_gpu_soc x tensorrt x int8/float, 3 sources): "
                            "int8 may or may not be faster here")


def test_a_float_best_is_compared_with_the_fastest_low_precision_and_the_backoff_is_named() -> None:
    ranked = [cand(1, "fp32", 10.0, "pytorch"), cand(2, "int8", 13.0, "pytorch"), cand(3, "int8", 5.0, "ncnn")]
    s = precision_speedup(ranked, TABLE, "cpu", set())
    assert (s.narrow, s.wide) == ("int8", "fp32") and s.predicted == pytest.approx(10.0 / 13.0)
    assert "none of cpu x pytorch x int8/float; nearest: 50 measured pairs of * x * x int8/float" in s.evidence
    assert s.sentence().endswith("int8 is likely slower here")  # 0.769 x 1.2 < 1


def test_no_statement_without_the_other_side() -> None:
    assert precision_speedup([cand(1, "fp16", 1.0), cand(2, "fp32", 2.0)], TABLE, "edge_gpu_soc", set()) is None
    assert precision_speedup([], TABLE, "edge_gpu_soc", set()) is None


def test_a_calibrated_framework_takes_the_calibrated_speedup_classes_first() -> None:
    table = TABLE.model_copy(update={"speedups": [*TABLE.speedups, IntervalClass.model_validate(
        {"device_class": "calibrated", "framework": "*", "precision_family": "int8/float", "n": 17, "sources": 8,
         "low_ratio": 0.9, "high_ratio": 1.1})]})
    ranked = [cand(1, "int8", 1.0), cand(2, "fp16", 1.5)]
    s = precision_speedup(ranked, table, "edge_gpu_soc", {"tensorrt"})
    assert (s.low, s.high) == pytest.approx((1.35, 1.65))
    assert s.evidence == ("none of calibrated x tensorrt x int8/float; nearest: 17 measured pairs of calibrated x * x "
                          "int8/float, 8 sources")
    # another framework's calibration does not make this one calibrated
    assert precision_speedup(ranked, table, "edge_gpu_soc", {"pytorch"}).evidence.startswith("4 measured pairs of edge")
    # without calibrated classes a calibrated platform falls back to its device class
    fallback = precision_speedup(ranked, TABLE, "edge_gpu_soc", {"tensorrt"})
    assert fallback.evidence.startswith("none of calibrated x tensorrt x int8/float; nearest: 4 measured pairs of edge")
    sure = PrecisionSpeedup(model="m", framework="f", narrow="int8", wide="fp16", predicted=2.0, low=1.5, high=2.4,
                            evidence="e")
    assert sure.sentence() == "int8 vs fp16 (f): speed-up 2.00x predicted, likely 1.50-2.40x (e)"


def test_recommend_states_the_speedup_in_the_table_and_the_json(db) -> None:
    cache_zoo_profile(db, "resnet18")
    rec = recommend(db, RecommendRequest(models=["resnet18"], target="t4", top=3))
    s = rec.speedup
    assert s is not None and s.model == "resnet18"
    narrow = next(c for c in rec.candidates if c.precision == s.narrow and c.framework == s.framework)
    assert narrow.rank == 1  # on a T4 an int8 candidate is the best
    data = json.loads(to_json(rec))
    assert data["speedup"]["narrow"] == s.narrow and data["speedup"]["low"] <= data["speedup"]["predicted"] * 2
    assert s.sentence() in to_markdown(rec)
    # without a low-precision candidate there is nothing to compare: the JSON keeps its three keys
    floats = recommend(db, RecommendRequest(models=["resnet18"], target="t4", precisions=["fp16", "fp32"]))
    assert floats.speedup is None and set(json.loads(to_json(floats))) == {"target", "candidates", "excluded"}


def test_speedup_ranges_are_built_and_scored_per_pair_held_out_by_source() -> None:
    """benchmarks.accuracy.speedup_ranges: a pair's residual is measured / predicted speed-up,
    keyed by the narrow row's device class and framework and the pair's kind; every pair is
    scored against classes built without its own source."""
    from benchmarks.accuracy import Speedup, published_pair_residuals, speedup_ranges
    from benchmarks.fit import RowPrediction

    preds, pairs = [], []
    for i, ratio in enumerate((0.8, 1.0, 1.25, 0.9)):
        src = f"s{i}"
        rows = [RowPrediction({"id": f"{src}-{p}", "source_id": src, "framework": "tensorrt", "precision": p},
                              "edge_gpu_soc", 1.0, 1.0, "compute") for p in ("int8", "fp16")]
        preds += rows
        pairs.append(Speedup("int8/fp16", (rows[0].id, rows[1].id), measured=2.0 * ratio, predicted=2.0, raw=2.0))
    ranges = speedup_ranges(published_pair_residuals(pairs, preds))
    assert [(r.device_class, r.framework, r.family, r.cluster) for r in ranges.residuals][0] == \
        ("edge_gpu_soc", "tensorrt", "int8/float", "s0")
    assert [r.ratio for r in ranges.residuals] == pytest.approx([0.8, 1.0, 1.25, 0.9])
    assert all("between_share" not in c for c in ranges.classes)
    full = next(c for c in ranges.classes if (c["device_class"], c["framework"], c["precision_family"])
                == ("edge_gpu_soc", "tensorrt", "int8/float"))
    assert full["n"] == 4 and full["low_ratio"] < 0.8 and full["high_ratio"] > 1.25
    assert len(ranges.bands) == 4
    for residual, band in ranges.bands:  # built from the 3 other sources only
        others = [r.ratio for r in ranges.residuals if r.cluster != residual.cluster]
        assert band["n"] == 3 and band["low_ratio"] <= min(others) and band["high_ratio"] >= max(others)


def test_calibrated_pairs_use_what_the_user_ends_up_with() -> None:
    """benchmarks.accuracy.calibrated_pair_residuals: CPU validation pairs with the calibrated
    prediction alone when `advisor fit` refuses the fit (the unit is the model), and the pairs of
    accepted published fit replays with their fitted latencies (the unit is the source)."""
    from benchmarks.accuracy import DeviceFit, DeviceFitRow, FitReplays, Residual, ValidationFit, calibrated_pair_residuals
    from benchmarks.fit import RowPrediction

    def cpu_row(precision: str, measured: float, corrected: float, alone: float):
        row = {"id": f"r18 {precision}", "model": "resnet18", "batch": 1, "framework": "onnxruntime-cpu",
               "precision": precision}
        return row, measured, corrected, alone

    refused = ValidationFit([cpu_row("fp32", 10.0, 9.0, 8.0), cpu_row("int8", 4.0, 3.0, 2.0)], before=0.1, after=0.2)
    published = []
    for precision, measured, fitted in (("fp16", 6.0, 5.0), ("int8", 4.0, 2.0)):
        row = {"id": f"x-{precision}", "source_id": "src", "model": "yolov8n", "platform": "p", "framework": "tensorrt",
               "precision": precision, "metric": "latency_ms"}
        pred = RowPrediction(row, "edge_gpu_soc", 1.0, measured, "compute")
        published.append(DeviceFitRow(pred, fitted, Residual("calibrated", "tensorrt", "float", measured / fitted, "src")))
    fits = FitReplays(refused, DeviceFit(published), DeviceFit([]), [], [], [])
    cpu, pub = calibrated_pair_residuals(fits)
    # measured speed-up 10/4 = 2.5 against the calibrated prediction alone 8/2 = 4 (the fit was refused)
    assert (cpu.device_class, cpu.framework, cpu.family, cpu.cluster) == ("calibrated", "onnxruntime-cpu", "int8/float",
                                                                           "resnet18")
    assert cpu.ratio == pytest.approx(2.5 / 4.0)
    # measured 6/4 = 1.5 against the fitted 5/2 = 2.5
    assert (pub.framework, pub.family, pub.cluster) == ("tensorrt", "int8/float", "src")
    assert pub.ratio == pytest.approx(1.5 / 2.5)
    accepted = ValidationFit(refused.rows, before=0.2, after=0.1)
    (cpu_fitted, _) = calibrated_pair_residuals(FitReplays(accepted, DeviceFit(published), DeviceFit([]), [], [], []))
    assert cpu_fitted.ratio == pytest.approx(2.5 / 3.0)  # the LOMO-corrected prediction 9/3
