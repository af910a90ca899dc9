"""Prediction intervals: the class lookup and its fallbacks, the range on predictions and
recommend candidates, the display, and the gate's ``use: high`` (advisor/predict/intervals.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.domain.candidates import Candidate
from advisor.errors import InputError
from advisor.gate.config import parse_config
from advisor.gate.evaluate import judge
from advisor.gate.types import CandidateFigures
from advisor.predict.engine import predict
from advisor.predict.intervals import IntervalClass, IntervalTable, interval_table, latency_range
from advisor.recommend.engine import mark_within_error
from advisor.recommend.render import latency_cell, sig3
from tests.factories_predict import framework, gemm_op, gpu, profile

TABLE = IntervalTable.model_validate({
    "default": {"n": 0, "low_ratio": 0.5, "high_ratio": 2.0},
    "classes": [
        {"device_class": "datacenter_gpu", "framework": "tensorrt", "precision_family": "int8",
         "n": 5, "low_ratio": 0.9, "high_ratio": 1.3},
        {"device_class": "datacenter_gpu", "framework": "*", "precision_family": "int8",
         "n": 4, "low_ratio": 0.8, "high_ratio": 1.5},
        {"device_class": "datacenter_gpu", "framework": "vllm", "precision_family": "*",
         "n": 3, "low_ratio": 0.85, "high_ratio": 1.4},
        {"device_class": "datacenter_gpu", "framework": "pytorch", "precision_family": "float",
         "n": 2, "low_ratio": 0.99, "high_ratio": 1.01},  # too little evidence: skipped
        {"device_class": "*", "framework": "*", "precision_family": "*",
         "n": 30, "low_ratio": 0.6, "high_ratio": 1.8},
        {"device_class": "calibrated", "framework": "*", "precision_family": "*",
         "n": 40, "low_ratio": 0.85, "high_ratio": 1.2},
        {"device_class": "calibrated-other-framework", "framework": "*", "precision_family": "*",
         "n": 20, "low_ratio": 0.6, "high_ratio": 2.2},
        {"device_class": "cpu", "framework": "*", "precision_family": "float",
         "n": 3, "low_ratio": 1.1, "high_ratio": 1.6},  # biased: the range lies above the prediction
    ],
})


@pytest.mark.parametrize(("device", "fw", "family", "calibrated", "expected"), [
    ("datacenter_gpu", "tensorrt", "int8", False, (0.9, 1.3)),  # exact class
    ("datacenter_gpu", "onnxruntime-tensorrt", "int8", False, (0.8, 1.5)),  # framework wildcard
    ("datacenter_gpu", "vllm", "fp8", False, (0.85, 1.4)),  # precision-family wildcard
    ("datacenter_gpu", "pytorch", "float", False, (0.6, 1.8)),  # n=2 skipped -> any device
    ("edge_gpu_soc", "tensorrt", "int8", False, (0.6, 1.8)),  # device wildcard
    ("datacenter_gpu", "tensorrt", "int8", True, (0.85, 1.2)),  # calibrated classes first
])
def test_lookup_falls_back_from_specific_to_wildcards(device, fw, family, calibrated, expected) -> None:
    found = TABLE.lookup(device, fw, family, calibrated)
    assert (found.low_ratio, found.high_ratio) == expected


def test_a_framework_the_calibration_did_not_measure_gets_the_other_framework_classes() -> None:
    found = TABLE.lookup("datacenter_gpu", "tensorrt", "int8", calibrated=True, framework_measured=False)
    assert (found.low_ratio, found.high_ratio) == (0.6, 2.2)
    # without such classes the lookup goes on to the device class, never to the calibrated ones
    no_other = IntervalTable.model_validate({"default": TABLE.default.model_dump(),
                                             "classes": [c.model_dump() for c in TABLE.classes
                                                         if c.device_class != "calibrated-other-framework"]})
    found = no_other.lookup("datacenter_gpu", "tensorrt", "int8", calibrated=True, framework_measured=False)
    assert (found.low_ratio, found.high_ratio) == (0.9, 1.3)


def test_which_calibrations_measured_a_framework() -> None:
    from advisor.domain.specs import CalibrationSpec
    from advisor.predict.corrections import measures_framework

    base = {"platform_id": "p", "measured_at": "2026-12-02T00:00:00+00:00", "method": "m", "tool_version": "0"}
    fitted = CalibrationSpec(**base, corrections={"pytorch/float": 1.5, "pytorch/*": 1.4, "*/*": 1.3})
    assert measures_framework(fitted, "pytorch")
    assert not measures_framework(fitted, "tensorrt")  # only the */* figure reaches it
    assert measures_framework(fitted.model_copy(update={"framework_id": "tensorrt"}), "tensorrt")
    assert measures_framework(CalibrationSpec(**base, matmul_tflops={"fp32": 1.0}), "tensorrt")  # the device's own peaks
    assert measures_framework(CalibrationSpec(**base, bandwidth_gbs=100.0), "openvino")


def test_lookup_without_evidence_is_the_default() -> None:
    empty = IntervalTable.model_validate({"default": {"n": 0, "low_ratio": 0.5, "high_ratio": 2.0}})
    found = empty.lookup("npu", "hailort", "int8")
    assert (found.low_ratio, found.high_ratio) == (0.5, 2.0)
    assert found.describe() == "no measured evidence (default range 0.500-2.00x the prediction)"
    assert (TABLE.lookup("datacenter_gpu", "tensorrt", "int8").describe()
            == "datacenter_gpu x tensorrt x int8 (n=5): measured 0.900-1.30x the prediction")


def test_the_description_names_the_backoff_and_what_dominates_the_spread() -> None:
    def cls(**kw) -> IntervalClass:
        return IntervalClass.model_validate({"device_class": "edge_gpu_soc", "framework": "*", "precision_family": "float",
                                             "n": 40, "sources": 5, "low_ratio": 0.8, "high_ratio": 2.4} | kw)

    device_bias = cls(between_share=0.7).describe(("edge_gpu_soc", "tensorrt", "float"))
    assert device_bias.startswith("no class of 3+ rows for edge_gpu_soc x tensorrt x float; "
                                  "nearest: edge_gpu_soc x * x float (n=40 rows, 5 sources): measured 0.800-2.40x")
    assert "70% of the spread between sources" in device_bias and "`advisor fit`" in device_bias
    model_to_model = cls(between_share=0.2).describe(("edge_gpu_soc", "*", "float"))
    assert "no class" not in model_to_model and "mostly model to model" in model_to_model
    assert "advisor fit" not in model_to_model
    after_fit = cls(device_class="calibrated", between_share=0.7).describe(("edge_gpu_soc", "tensorrt", "float"))
    assert after_fit == ("calibrated x * x float (n=40 rows, 5 sources): measured 0.800-2.40x the prediction "
                         "after a fit on the device (70% of the spread between sources)")
    with pytest.raises(ValueError):
        cls(between_share=1.5)


def test_between_share_is_the_one_way_variance_split() -> None:
    import math

    from benchmarks.accuracy import Residual, between_share

    def rows(source: str, *ratios: float) -> list[Residual]:
        return [Residual("cpu", "ort", "float", r, source) for r in ratios]
    # two sources, each without scatter: all of the variance lies between them
    assert between_share(rows("a", 2.0, 2.0) + rows("b", 0.5, 0.5)) == pytest.approx(1.0)
    # the same mean in both sources: none of it does
    assert between_share(rows("a", 2.0, 0.5) + rows("b", 0.5, 2.0)) == pytest.approx(0.0)
    # logs a: (l2, l2, 0), b: (0): mean l2/2; total 4 x (l2/2)^2 = l2^2; between 3 x (l2*2/3 - l2/2)^2 + (l2/2)^2
    l2 = math.log(2)
    expected = (3 * (2 * l2 / 3 - l2 / 2) ** 2 + (l2 / 2) ** 2) / l2 ** 2
    assert between_share(rows("a", 2.0, 2.0, 1.0) + rows("b", 1.0)) == pytest.approx(expected)
    assert between_share(rows("a", 1.0, 1.0)) == 0.0


def test_between_share_is_not_written_without_scatter_within_a_source() -> None:
    from benchmarks.accuracy import Residual, interval_classes

    one_row_each = [Residual("cpu", "ort", "float", r, f"s{i}") for i, r in enumerate((0.8, 1.0, 1.3))]
    classes = interval_classes(one_row_each, with_between_share=True)
    assert classes and all("between_share" not in c for c in classes)
    with_scatter = one_row_each + [Residual("cpu", "ort", "float", r, "s0") for r in (0.9, 0.7)]
    assert all(0 <= c["between_share"] <= 1 for c in interval_classes(with_scatter, with_between_share=True))
    assert all("between_share" not in c for c in interval_classes(with_scatter))  # bounds only by default


def test_a_biased_class_shifts_the_range_above_the_prediction() -> None:
    low, high = latency_range(10.0, TABLE.lookup("cpu", "onnxruntime-cpu", "float"))
    assert (low, high) == pytest.approx((11.0, 16.0))


def write_table(tmp_path: Path, monkeypatch, text: str) -> None:
    path = tmp_path / "intervals.yaml"
    path.write_text(text)
    monkeypatch.setenv("ADVISOR_INTERVALS_CONFIG", str(path))


def test_predictions_carry_the_range_of_their_class(tmp_path, monkeypatch) -> None:
    write_table(tmp_path, monkeypatch, "default: {n: 0, low_ratio: 0.5, high_ratio: 2.0}\nclasses:\n"
                "  - {device_class: datacenter_gpu, framework: toy-engine, precision_family: weight_only,"
                " n: 6, low_ratio: 0.75, high_ratio: 1.25}\n")
    p = profile([gemm_op(1, 4096, 4096)])
    w4 = predict(p, gpu(), framework(), "w4a16")
    assert (w4.latency_ms_low, w4.latency_ms_high) == pytest.approx((0.75 * w4.latency_ms, 1.25 * w4.latency_ms))
    assert w4.uncertainty == "datacenter_gpu x toy-engine x weight_only (n=6): measured 0.750-1.25x the prediction"
    fp16 = predict(p, gpu(), framework(), "fp16")  # no class for float: the default
    assert (fp16.latency_ms_low, fp16.latency_ms_high) == pytest.approx((0.5 * fp16.latency_ms, 2 * fp16.latency_ms))
    assert "latency_ms_low" in fp16.model_dump(mode="json")


def test_a_bad_interval_file_names_the_field(tmp_path, monkeypatch) -> None:
    write_table(tmp_path, monkeypatch, "default: {n: 0, low_ratio: 2.0, high_ratio: 0.5}\n")
    with pytest.raises(InputError, match="intervals.yaml: field 'default'.*low_ratio 2 is above high_ratio 0.5"):
        interval_table()


def test_the_committed_table_loads() -> None:
    table = interval_table()
    assert table.default.low_ratio <= 1 <= table.default.high_ratio


# -- recommend: overlap with the best, three significant figures


def cand(rank: int, latency: float, low: float, high: float) -> Candidate:
    return Candidate(rank=rank, model="m", precision="fp16", framework=f"fw{rank}", latency_ms=latency,
                     throughput_per_s=1000 / latency, bound="memory", memory_mb=1.0,
                     latency_ms_low=low, latency_ms_high=high)


def test_candidates_whose_range_overlaps_the_best_are_within_error() -> None:
    marked = mark_within_error([cand(1, 2.0, 1.6, 2.6), cand(2, 2.4, 1.9, 3.1), cand(3, 4.0, 2.7, 5.0)])
    assert [c.within_error_of_best for c in marked] == [True, True, False]
    assert latency_cell(marked[1]) == "2.40 (1.90-3.10)~"
    assert latency_cell(marked[0]) == "2.00 (1.60-2.60)"
    assert latency_cell(marked[2]) == "4.00 (2.70-5.00)"


@pytest.mark.parametrize(("value", "text"), [(1348, "1,350"), (0.04567, "0.0457"), (2.871, "2.87"),
                                             (9.999, "10.0"), (0, "0")])
def test_three_significant_figures(value, text) -> None:
    assert sig3(value) == text


# -- the gate's use: high


def figures(latency: float, high: float) -> CandidateFigures:
    return CandidateFigures(rank=1, model="m", precision="fp16", framework="fw", latency_ms=latency,
                            throughput_per_s=1000 / latency, memory_mb=1, params=1, flops=1, bound="memory",
                            latency_ms_high=high, throughput_per_s_low=1000 / high)


def test_gate_use_high_checks_the_pessimistic_end() -> None:
    base = {"models": ["m"], "target": "t", "requirements": {"max_latency_ms": 5, "min_throughput": 180}}
    point = judge(parse_config(base, "gate.yaml"), [figures(4.0, 6.0)], [])
    high = judge(parse_config({**base, "use": "high"}, "gate.yaml"), [figures(4.0, 6.0)], [])
    assert point.passed and not high.passed
    by_req = {c.requirement: c for c in high.checks}
    assert by_req["max_latency_ms"].metric == "latency_ms_high" and by_req["max_latency_ms"].value == 6.0
    # 1000 / 6 ms = 166.7/s at the slow end, short of 180
    assert by_req["min_throughput"].value == pytest.approx(1000 / 6)
    assert not by_req["min_throughput"].passed


def test_gate_use_names_a_bad_value() -> None:
    with pytest.raises(InputError, match="gate.yaml: use"):
        parse_config({"models": ["m"], "target": "t", "requirements": {"max_latency_ms": 5}, "use": "worst"},
                     "gate.yaml")


# -- end to end: predict and recommend JSON carry the range; GGUF only where listed


def test_recommend_json_candidates_carry_ranges_and_gguf_only_for_llama_cpp(db) -> None:
    from advisor.precision import GGUF_SCHEMES
    from advisor.recommend.engine import recommend
    from advisor.recommend.types import RecommendRequest
    from tests.factories_predict import cache_zoo_profile

    cache_zoo_profile(db, "llama-1.1b", "decode", 256)
    rec = recommend(db, RecommendRequest(models=["llama-1.1b"], target="rtx-4090", phase="decode", context=256))
    assert rec.candidates
    for c in rec.candidates:
        assert 0 < c.latency_ms_low <= c.latency_ms_high and c.uncertainty
    assert rec.candidates[0].within_error_of_best
    gguf = [c for c in rec.candidates if c.precision in GGUF_SCHEMES]
    assert gguf and {c.framework for c in gguf} == {"llama-cpp"}
    # file-format schemes are not even listed as excluded for the frameworks that cannot run them
    assert not [e for e in rec.excluded if e.precision in GGUF_SCHEMES and e.framework != "llama-cpp"]
    # an fp8 KV cache halves the cache: less memory for the same weights
    fp8 = recommend(db, RecommendRequest(models=["llama-1.1b"], target="rtx-4090", phase="decode", context=256,
                                         kv_cache="fp8", frameworks=["llama-cpp"], precisions=["q4_k_m"]))
    default = recommend(db, RecommendRequest(models=["llama-1.1b"], target="rtx-4090", phase="decode", context=256,
                                             frameworks=["llama-cpp"], precisions=["q4_k_m"]))
    assert fp8.candidates[0].memory_mb < default.candidates[0].memory_mb


def test_predict_cli_json_has_the_range_and_a_bad_kv_cache_is_exit_2(db, isolated_db) -> None:
    import json

    from tests.factories_predict import cache_zoo_profile, run_cli

    cache_zoo_profile(db, "resnet18")
    out = run_cli("predict", "-m", "resnet18", "-t", "h100-sxm", "-p", "int8", "-F", "tensorrt", "-f", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["latency_ms_low"] > 0 and data["latency_ms_high"] >= data["latency_ms_low"] and data["uncertainty"]
    bad = run_cli("predict", "-m", "resnet18", "-t", "h100-sxm", "-p", "fp16", "-F", "tensorrt", "--kv-cache", "fp9")
    assert bad.returncode == 2 and "--kv-cache dtype 'fp9'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
