"""`advisor fit`: the readers of measurement files (fixtures typed from each tool's documented
output), the correction fit (hand-computed), and the command end to end on a throw-away
database: it stores corrections the predictor then applies, and refuses (exit 2, one line,
nothing stored) a fit that is worse than no fit."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.display import sig3
from advisor.errors import InputError
from advisor.measure.fit_inputs import read_measurements
from advisor.predict.corrections import Sample, fit_corrections, latency_correction, leave_one_group_out

DATA = Path(__file__).resolve().parent / "data" / "fit"


# --------------------------------------------------------------------------- readers
def test_trtexec_log_gives_gpu_compute_median_and_the_command_line() -> None:
    (m,) = read_measurements(DATA / "trtexec_resnet50.log")
    assert (m.model, m.framework, m.precision, m.batch) == ("resnet50", "tensorrt", "int8", 8)
    assert m.latency_ms == 5.22  # GPU Compute Time median, not the end-to-end Latency (5.5)


def test_benchmark_app_report_gives_median_latency_and_takes_names_from_the_file() -> None:
    (m,) = read_measurements(DATA / "mobilenet_v2_int8.txt")
    assert (m.model, m.framework, m.precision, m.batch, m.latency_ms) == ("mobilenet_v2", "openvino", "int8", 1, 2.71)


def test_llama_bench_markdown_pp_is_prefill_and_tg_is_decode() -> None:
    pp, tg = read_measurements(DATA / "llama_bench.md")
    assert (pp.model, pp.framework, pp.precision, pp.phase, pp.seq_len) == ("llama-7b", "llama-cpp", "q4_0", "prefill", 512)
    assert pp.latency_ms == pytest.approx(512 / 2368.80 * 1e3)
    assert (tg.phase, tg.context) == ("decode", 64)  # 128 tokens from an empty context: mean context 64
    assert tg.latency_ms == pytest.approx(1e3 / 131.42)


def test_llama_bench_json() -> None:
    (m,) = read_measurements(DATA / "llama_bench.json")
    assert (m.model, m.precision, m.phase, m.context) == ("llama-7b", "q4_0", "decode", 64)
    assert m.latency_ms == pytest.approx(1e3 / 130.965708)


def test_csv_and_advisor_bench_json(tmp_path: Path) -> None:
    resnet, llama = read_measurements(DATA / "measurements.csv")
    assert (resnet.model, resnet.batch, resnet.latency_ms, resnet.phase) == ("resnet18", 1, 30.5, None)
    assert (llama.phase, llama.context, llama.precision) == ("decode", 64, "q4_0")
    bench = {"model": "resnet18", "framework": "onnxruntime-cpu", "precision": "int8", "batch": 8, "device": "cpu",
             "input_shape": [8, 3, 224, 224], "latency_ms": 41.08, "p10_ms": 39.0, "p90_ms": 50.8}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench, indent=2))  # `advisor bench --format json` prints one indented object
    (m,) = read_measurements(path)
    assert (m.framework, m.precision, m.batch, m.latency_ms) == ("onnxruntime-cpu", "int8", 8, 41.08)


@pytest.mark.parametrize("text, message", [
    ("model,framework,precision\nresnet18,pytorch,fp32\n", "bad.csv:2: missing field latency_ms"),
    ("model,framework,precision,latency_ms\nresnet18,pytorch,fp32,-3\n", "bad.csv:2: latency_ms must be a positive number"),
    ("model,framework,precision,latency_ms,batch\nresnet18,pytorch,fp32,3,1.5\n", "bad.csv:2: batch must be a whole number"),
    ("| model | test | t/s |\n|---|---|---|\n| mistral 7B Q4_0 | tg 128 | 50 |\n", "is not a llama model"),
])
def test_bad_files_name_the_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message.replace("bad.csv", ".*bad.csv")):
        read_measurements(path)


# --------------------------------------------------------------------------- the fit
def test_shrinkage_fit_by_hand() -> None:
    # two rows measured 2x the prediction in group x, one row on time in group y; prior 2
    rows = [Sample("a", 2.0, 1.0, ("x", "float")), Sample("b", 2.0, 1.0, ("x", "float")), Sample("c", 1.0, 1.0, ("y", "float"))]
    fitted = fit_corrections(rows, prior=2.0)
    root = 2 * math.log(2) / 3 * 3 / 5  # mean log ratio over 3 rows, moved 3/(3+2) of the way from 0
    assert fitted.figures[()].multiplier == pytest.approx(math.exp(root))
    x = root + (math.log(2) - root) * 2 / 4  # group x: 2 rows, 2/(2+2) of the way from its parent
    assert fitted.figures[("x",)].multiplier == pytest.approx(math.exp(x))
    assert fitted.figures[("x",)].rows == ("a", "b")
    assert fitted.multiplier(("z", "int8")) == pytest.approx(math.exp(root))  # unseen group: the parent's
    median = fit_corrections(rows, prior=2.0, estimator="median")
    assert median.figures[()].multiplier == pytest.approx(math.exp(math.log(2) * 3 / 5))  # median log ratio = log 2


def test_leave_one_group_out_never_sees_the_group() -> None:
    rows = [Sample("m1|0", 3.0, 1.0, ("pytorch", "float")), Sample("m2|1", 1.0, 1.0, ("pytorch", "float"))]
    held = leave_one_group_out(rows, lambda s: s.id.split("|")[0], prior=0.0)
    assert held == {"m1|0": pytest.approx(1.0), "m2|1": pytest.approx(3.0)}  # each from the other alone


def test_correction_lookup_falls_back_to_framework_then_all() -> None:
    from advisor.domain.specs import CalibrationSpec

    cal = CalibrationSpec(platform_id="p", measured_at="2026-12-01T00:00:00+00:00", method="m", tool_version="0",
                          corrections={"pytorch/float": 1.5, "pytorch/*": 1.2, "*/*": 1.1})
    assert latency_correction(cal, "pytorch", "fp16")[0] == 1.5
    assert latency_correction(cal, "pytorch", "int8")[0] == 1.2
    assert latency_correction(cal, "onnxruntime-cpu", "int8")[0] == 1.1
    assert latency_correction(None, "pytorch", "fp16") == (1.0, None)
    with pytest.raises(ValueError, match="corrections.pytorch/float"):
        CalibrationSpec(platform_id="p", measured_at="x", method="m", tool_version="0", corrections={"pytorch/float": 0.0})


def test_each_workload_kind_gets_a_fit_of_its_own() -> None:
    """llama-bench prints prefill (pp) and decode (tg) rows side by side. Decode runs 2x and
    prefill 0.5x the prediction on both models: one fit over both would sit near 1x for each;
    per kind, each gets its own figures (median of the log ratios, 2 measurements, prior 2:
    half of the way to its group's ratio at every level), keyed with the kind, and every
    held-out prediction comes from the other model of the same kind."""
    from advisor.measure.fitting import fit_measurements

    samples = [Sample(f"{m}|{i}", measured, 1.0, ("llama-cpp", "gguf"), workload=kind)
               for i, (m, kind, measured) in enumerate([("a", "decode", 2.0), ("b", "decode", 2.0),
                                                         ("a", "prefill", 0.5), ("b", "prefill", 0.5)])]
    result = fit_measurements(samples, "bench.md")
    root = math.log(2) * 2 / 4  # 2 samples, prior 2: half of log 2
    framework = root + (math.log(2) - root) * 2 / 4
    family = framework + (math.log(2) - framework) * 2 / 4
    assert result.corrections == pytest.approx({
        "*/*@decode": math.exp(root), "llama-cpp/*@decode": math.exp(framework), "llama-cpp/gguf@decode": math.exp(family),
        "*/*@prefill": math.exp(-root), "llama-cpp/*@prefill": math.exp(-framework),
        "llama-cpp/gguf@prefill": math.exp(-family)}, rel=1e-3)
    # held out: model a's decode from b's decode alone (one sample: 1/3 of the way at each level)
    one = math.log(2) / 3
    one = one + (math.log(2) - one) / 3
    one = one + (math.log(2) - one) / 3
    assert result.held_out_ms["a|0"] == pytest.approx(math.exp(one))
    assert result.held_out_ms["a|2"] == pytest.approx(math.exp(-one))


def test_a_kinds_figures_reach_only_that_kind() -> None:
    from advisor.domain.specs import CalibrationSpec

    cal = CalibrationSpec(platform_id="p", measured_at="2026-12-02T00:00:00+00:00", method="m", tool_version="0",
                          corrections={"llama-cpp/gguf@decode": 1.8, "*/*@decode": 1.5, "pytorch/float": 0.9})
    assert latency_correction(cal, "llama-cpp", "q4_0", "decode")[0] == 1.8
    assert latency_correction(cal, "pytorch", "fp16", "decode")[0] == 1.5
    assert latency_correction(cal, "llama-cpp", "q4_0", "prefill") == (1.0, None)  # prefill was not measured
    assert latency_correction(cal, "pytorch", "fp32", "network")[0] == 0.9
    assert latency_correction(cal, "onnxruntime-cpu", "fp32", "network") == (1.0, None)  # no */* for networks
    with pytest.raises(ValueError, match="pytorch/float@train"):
        CalibrationSpec(platform_id="p", measured_at="x", method="m", tool_version="0", corrections={"pytorch/float@train": 1.0})


# --------------------------------------------------------------------------- end to end
TARGET = "xeon-8480"
CASES = [(model, fw, prec) for model in ("resnet18", "mobilenet_v2", "resnet50")
         for fw, prec in (("pytorch", "fp32"), ("onnxruntime-cpu", "fp32"), ("onnxruntime-cpu", "int8"))]


def advisor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=600)


def prediction(model: str, fw: str, prec: str):
    from advisor.db.store import open_store
    from advisor.predict.api import predict_case
    from advisor.workload import Workload

    return predict_case(open_store(), Workload(model=model, batch=1), target=TARGET, precision=prec, framework=fw).prediction


def predicted_ms(model: str, fw: str, prec: str) -> float:
    return prediction(model, fw, prec).latency_ms


def write_csv(path: Path, ratio) -> None:
    lines = ["model,framework,precision,batch,latency_ms"]
    lines += [f"{m},{fw},{p},1,{predicted_ms(m, fw, p) * ratio(m, fw, p):.6g}" for m, fw, p in CASES]
    path.write_text("\n".join(lines) + "\n")


def calibration_count(url: str) -> int:
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM calibrations WHERE platform_id = :p"), {"p": TARGET}).scalar_one()


def test_fit_stores_corrections_the_predictor_applies(isolated_db: str, tmp_path: Path) -> None:
    # the device runs pytorch 1.5x, onnxruntime fp32 0.8x and int8 2x slower than predicted, on every model
    factors = {("pytorch", "fp32"): 1.5, ("onnxruntime-cpu", "fp32"): 0.8, ("onnxruntime-cpu", "int8"): 2.0}
    path = tmp_path / "mine.csv"
    write_csv(path, lambda m, fw, p: factors[(fw, p)])
    before = {case: predicted_ms(*case) for case in CASES}
    result = advisor("fit", str(path), "--target", TARGET, "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["median_abs_error_after"] < out["median_abs_error_before"]
    corr = out["corrections"]
    assert corr["onnxruntime-cpu/int8"] > corr["pytorch/float"] > 1.0 > corr["onnxruntime-cpu/float"]
    assert "mine.csv: 3 measurements of mobilenet_v2, resnet18, resnet50" in out["sources"]["onnxruntime-cpu/int8"]
    # the stored corrections multiply the prediction, one multiplier per framework x precision family
    from advisor.predict.intervals import interval_table

    for (model, fw, prec), ms in before.items():
        family = "int8" if prec == "int8" else "float"
        pred = prediction(model, fw, prec)
        assert pred.latency_ms == pytest.approx(ms * corr[f"{fw}/{family}"], rel=1e-6)
        assert "fitted correction" in pred.provenance["correction"]
        # the range is taken around the corrected latency, from the calibrated classes
        cls = interval_table().lookup("cpu", fw, family, calibrated=True)
        assert (pred.latency_ms_low, pred.latency_ms_high) == pytest.approx(
            (pred.latency_ms * cls.low_ratio, pred.latency_ms * cls.high_ratio), rel=1e-6)
    # it says which range each fitted framework/family now carries: the calibrated class, not the cpu one
    assert set(out["ranges"]) == set(corr)
    for key, rng in out["ranges"].items():
        framework, _, family = key.partition("/")
        cls = interval_table().lookup("cpu", framework, family, calibrated=True, framework_measured=framework != "*")
        assert (rng["low_ratio"], rng["high_ratio"]) == (cls.low_ratio, cls.high_ratio)
        assert rng["class"].startswith("calibrated x " if framework != "*" else "calibrated-other-framework x ")
    # a framework the fit did not measure: the */* correction, and the other-framework range
    other = prediction("resnet18", "openvino", "fp32")
    assert "fitted correction" in other.provenance["correction"]
    wide = interval_table().lookup("cpu", "openvino", "float", calibrated=True, framework_measured=False)
    assert wide.device_class == "calibrated-other-framework"
    assert (other.latency_ms_low, other.latency_ms_high) == pytest.approx(
        (other.latency_ms * wide.low_ratio, other.latency_ms * wide.high_ratio), rel=1e-6)
    assert out["ranges"]["*/*"]["class"].startswith("calibrated-other-framework x ")
    # a second fit starts from the uncorrected predictions, not from the corrected ones
    again = advisor("fit", str(path), "--target", TARGET)
    assert again.returncode == 0, again.stderr
    int8 = out["ranges"]["onnxruntime-cpu/int8"]
    assert "range now" in again.stdout and f"x{sig3(int8['low_ratio'])}-{sig3(int8['high_ratio'])}" in again.stdout
    assert json.loads(advisor("fit", str(path), "--target", TARGET, "--format", "json").stdout)["corrections"] == corr


def test_fit_on_a_platform_with_a_published_correction_stacks_on_it(isolated_db: str, tmp_path: Path) -> None:
    # the AGX Xavier carries a published figure (configs/platform_corrections.yaml); a user whose
    # board runs TensorRT 1.5x slower than advisor now predicts gets 1.5x on top of that figure
    from advisor.db.store import open_store
    from advisor.predict.api import predict_case
    from advisor.predict.platform_corrections import platform_correction_table
    from advisor.workload import Workload

    xavier = "jetson-agx-xavier"
    published = platform_correction_table().find(xavier, "network")
    assert published is not None

    def predicted(model: str):
        return predict_case(open_store(), Workload(model=model, batch=1), target=xavier, precision="fp16",
                            framework="tensorrt").prediction

    models = ("resnet18", "resnet50", "mobilenet_v2")
    before = {m: predicted(m) for m in models}
    assert all("published correction for jetson-agx-xavier" in p.provenance["published_correction"] for p in before.values())
    path = tmp_path / "xavier.csv"
    path.write_text("model,framework,precision,latency_ms\n" +
                    "".join(f"{m},tensorrt,fp16,{before[m].latency_ms * 1.5:.6g}\n" for m in models))
    out = advisor("fit", str(path), "--target", xavier, "--format", "json")
    assert out.returncode == 0, out.stderr
    fitted = json.loads(out.stdout)
    assert fitted["published_correction"] == {"network": published.multiplier}
    # before: every prediction (published figure included) 1/1.5 of its measurement
    assert fitted["median_abs_error_before"] == pytest.approx(1 - 1 / 1.5, rel=1e-3)
    corr = fitted["corrections"]["tensorrt/float"]
    assert 1.0 < corr < 1.5  # shrunk towards no correction with 3 measurements and prior 2
    for m in models:
        after = predicted(m)
        assert after.latency_ms == pytest.approx(before[m].latency_ms * corr, rel=1e-6)
        assert "published_correction" in after.provenance and "fitted correction" in after.provenance["correction"]
    text = advisor("fit", str(path), "--target", xavier)
    assert f"published correction x{sig3(published.multiplier)}" in " ".join(text.stdout.split())


def test_fit_worse_than_none_is_refused_and_stores_nothing(isolated_db: str, tmp_path: Path) -> None:
    # pytorch only, and the models disagree: 2x slow, 2x fast, on time
    ratio = {"resnet18": 2.0, "mobilenet_v2": 0.5, "resnet50": 1.0}
    path = tmp_path / "noisy.csv"
    lines = ["model,framework,precision,latency_ms"]
    lines += [f"{m},pytorch,fp32,{predicted_ms(m, 'pytorch', 'fp32') * r:.6g}" for m, r in ratio.items()]
    path.write_text("\n".join(lines) + "\n")
    count = calibration_count(isolated_db)
    result = advisor("fit", str(path), "--target", TARGET)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no better than no fit" in result.stderr and "noisy.csv" in result.stderr
    assert calibration_count(isolated_db) == count


def test_fit_bad_input_is_one_line_exit_2(isolated_db: str, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("model,framework,precision,latency_ms\nresnet18,pytorch,fp32,10\n")
    result = advisor("fit", str(path), "--target", TARGET)
    assert result.returncode == 2 and "at least 2 models" in result.stderr and result.stderr.count("\n") == 1
    result = advisor("fit", str(path), "--target", "no-such-board")
    assert result.returncode == 2 and "no-such-board" in result.stderr
    path.write_text("model,framework,precision,latency_ms\nresnet18,pytorch,fp99,10\nresnet50,pytorch,fp32,10\n")
    result = advisor("fit", str(path), "--target", TARGET)
    assert result.returncode == 2 and "one.csv:2" in result.stderr and "fp99" in result.stderr


BAD_JSON = {
    "nan": ('[{"model": "resnet18", "framework": "pytorch", "precision": "fp32", "latency_ms": NaN}]',
            "invalid JSON: NaN is not a JSON number"),
    "duplicate-key": ('[{"model": "resnet18", "model": "resnet50", "framework": "pytorch", "precision": "fp32", '
                      '"latency_ms": 3}]', "invalid JSON: duplicate key 'model'"),
    "malformed": ('[{"model": "resnet18", "latency_ms": 3,}]', "invalid JSON at line 1, column 40"),
    "too-big": (None, "measurements file is over the limit of 50000000 bytes"),
}


def write_bad_json(path: Path, case: str) -> None:
    text = BAD_JSON[case][0]
    if text is None:  # a sparse file one byte over the 50 MB limit, starting as JSON does
        with open(path, "wb") as out:
            out.write(b"[")
            out.truncate(50_000_001)
    else:
        path.write_text(text)


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_json_is_the_bounded_readers_error(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.json"
    write_bad_json(path, case)
    with pytest.raises(InputError) as info:
        read_measurements(path)
    assert str(info.value).startswith(f"{path}: ") and BAD_JSON[case][1] in str(info.value)


@pytest.mark.parametrize("case", ["nan", "too-big"])
def test_fit_bad_json_is_one_line_exit_2_and_stores_nothing(isolated_db: str, tmp_path: Path, case: str) -> None:
    path = tmp_path / "mine.json"
    write_bad_json(path, case)
    count = calibration_count(isolated_db)
    result = advisor("fit", str(path), "--target", TARGET)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr and BAD_JSON[case][1] in result.stderr
    assert calibration_count(isolated_db) == count


# --------------------------------------------------------------------------- published rows
def test_a_published_row_is_predicted_with_its_checkpoint_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpt-fast int4 (G=32, bf16 scale and zero point per group): 0.5 + 4/32 = 0.625 bytes per
    weight while that row is predicted; the default w4a16 layout (0.5 + 2/128) before and after."""
    from advisor.precision import scheme

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.fit import checkpoint_layout

    monkeypatch.delenv("ADVISOR_QUANTIZATION_CONFIG", raising=False)
    row = {"precision": "w4a16", "layout": {"group_size": 32, "scale": "bf16", "zero_point": "bf16", "source": "test"}}
    assert scheme("w4a16").weight_bytes == pytest.approx(0.5 + 2 / 128)
    with checkpoint_layout(row):
        assert scheme("w4a16").weight_bytes == pytest.approx(0.5 + 4 / 32)
        assert scheme("w8a16").weight_bytes == pytest.approx(1.0)  # other schemes keep theirs
    assert scheme("w4a16").weight_bytes == pytest.approx(0.5 + 2 / 128)
    assert "ADVISOR_QUANTIZATION_CONFIG" not in os.environ


def test_fit_of_prefill_and_decode_keeps_them_apart_and_keeps_earlier_kinds(isolated_db: str, tmp_path: Path) -> None:
    """End to end on a CPU target: decode measured 2x and prefill 0.5x the prediction, two models
    each. The stored figures reach only their own kind, a whole network keeps the figures of an
    earlier fit of networks, and its range stays that fit's."""
    from advisor.db.store import open_store
    from advisor.predict.api import predict_case
    from advisor.workload import Workload

    def llm(model: str, phase: str):
        shape = {"context": 256} if phase == "decode" else {"seq_len": 128}
        return predict_case(open_store(), Workload(model=model, batch=1, phase=phase, **shape), target=TARGET,
                            precision="q4_0", framework="llama-cpp").prediction

    # first, an earlier fit of whole networks (each framework x precision off by its own factor)
    factors = {("pytorch", "fp32"): 1.5, ("onnxruntime-cpu", "fp32"): 0.8, ("onnxruntime-cpu", "int8"): 2.0}
    nets = tmp_path / "nets.csv"
    write_csv(nets, lambda m, fw, p: factors[(fw, p)])
    untouched = llm("llama-1.1b", "decode")
    assert advisor("fit", str(nets), "--target", TARGET).returncode == 0
    network_before = prediction("resnet18", "pytorch", "fp32")
    # a fit of whole networks says nothing of a decode: same latency, same (uncalibrated) range
    decode = llm("llama-1.1b", "decode")
    assert (decode.latency_ms, decode.latency_ms_low, decode.latency_ms_high) == pytest.approx(
        (untouched.latency_ms, untouched.latency_ms_low, untouched.latency_ms_high), rel=1e-9)
    assert "correction" not in decode.provenance
    models = ("llama-1.1b", "llama-7b")
    plain = {(m, ph): llm(m, ph).latency_ms for m in models for ph in ("prefill", "decode")}
    lines = ["model,framework,precision,batch,phase,seq_len,context,latency_ms"]
    for m in models:
        lines.append(f"{m},llama-cpp,q4_0,1,prefill,128,,{plain[(m, 'prefill')] * 0.5:.6g}")
        lines.append(f"{m},llama-cpp,q4_0,1,decode,,256,{plain[(m, 'decode')] * 2.0:.6g}")
    bench = tmp_path / "bench.csv"
    bench.write_text("\n".join(lines) + "\n")
    result = advisor("fit", str(bench), "--target", TARGET, "--format", "json")
    assert result.returncode == 0, result.stderr
    corr = json.loads(result.stdout)["corrections"]
    assert set(corr) == {f"{key}@{kind}" for key in ("*/*", "llama-cpp/*", "llama-cpp/gguf") for kind in ("prefill", "decode")}
    assert corr["llama-cpp/gguf@decode"] > 1.4 and corr["llama-cpp/gguf@prefill"] < 0.7
    for m in models:
        assert llm(m, "decode").latency_ms == pytest.approx(plain[(m, "decode")] * corr["llama-cpp/gguf@decode"], rel=1e-6)
        assert llm(m, "prefill").latency_ms == pytest.approx(plain[(m, "prefill")] * corr["llama-cpp/gguf@prefill"], rel=1e-6)
    # the whole-network figures of the earlier fit are kept, and still the only ones networks take
    after = prediction("resnet18", "pytorch", "fp32")
    assert after.latency_ms == pytest.approx(network_before.latency_ms, rel=1e-9)
    assert (after.latency_ms_low, after.latency_ms_high) == pytest.approx(
        (network_before.latency_ms_low, network_before.latency_ms_high), rel=1e-9)
