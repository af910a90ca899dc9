"""Per-platform corrections from published rows (advisor.predict.platform_corrections).

What is checked: `advisor fit`'s procedure run on published rows by platform and workload kind
(benchmarks/fit.py) gives the hand-computed multiplier and refuses what it refuses for a user; a
held-out source gets the figure of the OTHER sources on its platform and none from its own; the
predictor applies the figure to datasheet predictions of its workload kind only, under a user's
own `advisor fit` and never over `advisor calibrate` figures; a bad config file is one line naming the file and field; the
shipped configs/platform_corrections.yaml counts the published rows it came from.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor.db.profile_cache import profile_for
from advisor.domain.specs import CalibrationSpec
from advisor.display import sig3
from advisor.domain.workload_kinds import workload_kind
from advisor.errors import InputError
from advisor.predict.corrections import Sample
from advisor.predict.engine import predict
from advisor.predict.platform_corrections import NO_PLATFORM_CORRECTIONS, PlatformCorrectionTable, PlatformFit, platform_correction_table, published_correction
from advisor.workload import Workload
from factories_predict import seed_framework, seed_platform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fit import RowPrediction, Structure, fit_platforms, loso_predictions  # noqa: E402
from advisor.predict.corrections import fit_corrections  # noqa: E402

NOW = "2026-12-01T00:00:00+00:00"


def sample(rid: str, platform: str, model: str, measured: float, framework: str = "tensorrt",
           kind: str = "network") -> Sample:
    return Sample(rid, measured, 10.0, ("edge_gpu_soc", framework, "float"), (platform, kind, model))


def test_fit_on_one_platform_by_hand_and_what_it_refuses() -> None:
    # platform a: every row measured 2x its prediction, three models; b: one model only (cannot
    # be scored); c: predicted exactly (a fit cannot beat no fit, so it is refused)
    rows = [sample(f"a{i}", "a", f"m{i % 3}", 20.0) for i in range(6)]
    rows += [sample("b0", "b", "m0", 40.0), sample("b1", "b", "m0", 40.0)]
    rows += [sample(f"c{i}", "c", f"m{i}", 10.0) for i in range(3)]
    table = fit_platforms(rows, fit_corrections([], math.inf), {s.id: "src" for s in rows})
    assert [f.platform for f in table.fits] == ["a"]
    # the platform is one group: the median of log 2, shrunk with prior 2 and n = 6, keeps 6/8
    expected = 2 ** (6 / 8)
    (fit,) = table.fits
    assert fit.multiplier == pytest.approx(expected, rel=1e-3)
    assert fit.rows == 6 and fit.models == 3 and fit.error_before == pytest.approx(0.5)
    # held out, each model's rows get the figure of the other two models' 4 rows: 2^(4/6)
    assert fit.error_after == pytest.approx(1 - 2 ** (4 / 6) / 2, abs=1e-4)
    assert table.multiplier("a", "network") == pytest.approx(expected, rel=1e-3)
    assert table.multiplier("b", "network") == 1.0


def test_each_workload_kind_of_a_platform_is_its_own_group() -> None:
    # platform a: three vision networks measured 2x their prediction and three LLM decodes 0.5x;
    # one model's prefill alone (cannot be scored). One figure per kind, none for prefill.
    rows = [sample(f"n{i}", "a", f"cnn{i}", 20.0) for i in range(3)]
    rows += [sample(f"d{i}", "a", f"llm{i}", 5.0, kind="decode") for i in range(3)]
    rows += [sample(f"p{i}", "a", "llm0", 40.0, kind="prefill") for i in range(2)]
    table = fit_platforms(rows, fit_corrections([], math.inf), {s.id: "src" for s in rows})
    assert sorted((f.workload, f.rows, f.models) for f in table.fits) == [("decode", 3, 3), ("network", 3, 3)]
    # each group alone: median log ratio over 3 rows, shrunk with prior 2 to 3/5
    assert table.multiplier("a", "network") == pytest.approx(2 ** (3 / 5), rel=1e-3)
    assert table.multiplier("a", "decode") == pytest.approx(0.5 ** (3 / 5), rel=1e-3)
    assert table.multiplier("a", "prefill") == 1.0
    assert table.find("a", "decode").row_ids == ["d0", "d1", "d2"]


def test_a_published_row_joins_the_group_of_its_platform_and_kind() -> None:
    def row(rid: str, model, metric: str = "latency_ms", phase: str | None = None) -> RowPrediction:
        data = {"id": rid, "source_id": "s", "model": model, "platform": "a100-sxm", "framework": "tensorrt",
                "precision": "fp16", "metric": metric} | ({"phase": phase} if phase else {})
        return RowPrediction(data, "datacenter_gpu", 1.0, 1.0, "compute")

    assert row("r", "resnet50").sample().platform_model == ("a100-sxm", "network", "resnet50")
    assert row("d", "llama-7b", phase="decode").sample().platform_model == ("a100-sxm", "decode", "llama-7b")
    # one GEMM's kernel time (no launch or host cost) is not a latency a platform figure corrects
    assert row("k", {"gemm": [1, 4096, 4096]}, metric="kernel_ms").sample().platform_model == ()


def test_a_table_holds_one_figure_per_platform_and_kind() -> None:
    fit = table_for("a", 2.0).fits[0]
    with pytest.raises(ValueError, match="more than one figure for a \\(network\\)"):
        PlatformCorrectionTable(fits=[fit, fit.model_copy(update={"multiplier": 3.0})])
    assert PlatformCorrectionTable(fits=[fit, fit.model_copy(update={"workload": "decode"})]).multiplier("a", "decode") == 2.0
    assert [workload_kind(None), workload_kind("prefill"), workload_kind("decode")] == ["network", "prefill", "decode"]
    with pytest.raises(ValueError, match="phase 'train'"):
        workload_kind("train")


def test_a_held_out_source_gets_the_other_sources_figure_on_its_platform_only() -> None:
    # sources x and y measured platform p 2x and 3x slower than predicted; z alone measured q
    rows = [sample(f"x{i}", "p", f"m{i}", 20.0) for i in range(3)]
    rows += [sample(f"y{i}", "p", f"m{i}", 30.0) for i in range(3)]
    rows += [sample(f"z{i}", "q", f"m{i}", 50.0) for i in range(3)]
    source_of = {s.id: s.id[0] for s in rows}
    held = loso_predictions(rows, source_of, Structure("mean", math.inf))
    y_alone = fit_platforms([s for s in rows if s.id[0] == "y"], fit_corrections([], math.inf), source_of)
    x_alone = fit_platforms([s for s in rows if s.id[0] == "x"], fit_corrections([], math.inf), source_of)
    assert held["x0"] == pytest.approx(10.0 * y_alone.multiplier("p", "network"))
    assert held["y0"] == pytest.approx(10.0 * x_alone.multiplier("p", "network"))
    # each took the other's bias, not its own: 3 rows of ratio 3 (2), shrunk with prior 2 to 3/5
    assert held["x0"] == pytest.approx(10.0 * 3 ** (3 / 5), rel=1e-3)
    assert held["y0"] == pytest.approx(10.0 * 2 ** (3 / 5), rel=1e-3)
    assert held["z0"] == 10.0  # nobody else measured q


def table_for(platform: str, multiplier: float, kind: str = "network") -> PlatformCorrectionTable:
    return PlatformCorrectionTable(fits=[PlatformFit(platform=platform, workload=kind, multiplier=multiplier, rows=4, models=2,
                                                     sources=["s1", "s2"], error_before=0.5, error_after=0.1)])


@pytest.fixture(scope="module")
def xavier_resnet():
    return profile_for(None, Workload(model="resnet18", batch=1)), seed_platform("jetson-agx-xavier"), seed_framework("tensorrt")


def test_predictor_applies_the_figure_under_a_fit_and_never_over_calibrated_figures(xavier_resnet) -> None:
    prof, xavier, trt = xavier_resnet
    table = table_for("jetson-agx-xavier", 2.0)
    alone = predict(prof, xavier, trt, "fp16", platform_corrections=NO_PLATFORM_CORRECTIONS)
    corrected = predict(prof, xavier, trt, "fp16", platform_corrections=table)
    assert corrected.latency_ms == pytest.approx(2.0 * alone.latency_ms)
    assert "published correction for jetson-agx-xavier" in corrected.provenance["published_correction"]
    # a user's `advisor fit` (a corrections-only record) is fitted on top of the published figure
    fitted = CalibrationSpec(platform_id="jetson-agx-xavier", measured_at=NOW, method="advisor fit", tool_version="0",
                             corrections={"tensorrt/float": 1.25})
    assert predict(prof, xavier, trt, "fp16", fitted, platform_corrections=table).latency_ms == pytest.approx(
        2.5 * alone.latency_ms)
    # `advisor calibrate` figures replace the datasheet basis: no published figure on top
    measured = CalibrationSpec(platform_id="jetson-agx-xavier", measured_at=NOW, method="advisor calibrate",
                               tool_version="0", bandwidth_gbs=100.0)
    own = predict(prof, xavier, trt, "fp16", measured, platform_corrections=NO_PLATFORM_CORRECTIONS)
    again = predict(prof, xavier, trt, "fp16", measured, platform_corrections=table)
    assert again.latency_ms == own.latency_ms and "published_correction" not in again.provenance
    # another platform: nothing; every framework of this one: the same figure (the device's bias)
    assert published_correction(table, "jetson-nano", "network", None) == (1.0, None)
    assert published_correction(table, "jetson-agx-xavier", "network", None)[0] == 2.0
    ort = predict(prof, xavier, seed_framework("onnxruntime-tensorrt"), "int8", platform_corrections=table)
    ort_alone = predict(prof, xavier, seed_framework("onnxruntime-tensorrt"), "int8",
                        platform_corrections=NO_PLATFORM_CORRECTIONS)
    assert ort.latency_ms == pytest.approx(2.0 * ort_alone.latency_ms)


def test_a_figure_reaches_only_the_workload_kind_it_was_fitted_on() -> None:
    # a figure fitted on vision networks says nothing of an LLM decode on the same board, and a
    # decode figure nothing of a vision network
    xavier, torch = seed_platform("jetson-agx-xavier"), seed_framework("pytorch")
    decode = profile_for(None, Workload(model="llama-1.1b", phase="decode", context=256))
    alone = predict(decode, xavier, torch, "fp16", platform_corrections=NO_PLATFORM_CORRECTIONS)
    network_only = predict(decode, xavier, torch, "fp16", platform_corrections=table_for("jetson-agx-xavier", 2.0))
    assert network_only.latency_ms == alone.latency_ms and "published_correction" not in network_only.provenance
    with_decode = predict(decode, xavier, torch, "fp16", platform_corrections=table_for("jetson-agx-xavier", 2.0, "decode"))
    assert with_decode.latency_ms == pytest.approx(2.0 * alone.latency_ms)
    assert "decode workloads" in with_decode.provenance["published_correction"]
    cnn = profile_for(None, Workload(model="resnet18", batch=1))
    assert "published_correction" not in predict(cnn, xavier, torch, "fp16", platform_corrections=table_for(
        "jetson-agx-xavier", 2.0, "decode")).provenance


def test_bad_config_is_one_line_naming_file_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "platform_corrections.yaml"
    path.write_text(yaml.safe_dump({"fits": [{"platform": "x", "workload": "network", "multiplier": -1.0, "rows": 4,
                                              "models": 2, "sources": ["s"], "error_before": 0.5, "error_after": 0.1}]}))
    monkeypatch.setenv("ADVISOR_PLATFORM_CORRECTIONS_CONFIG", str(path))
    with pytest.raises(InputError) as err:
        platform_correction_table()
    assert str(path) in str(err.value) and "fits.0" in str(err.value) and "\n" not in str(err.value)


def test_shipped_figures_count_the_published_rows_of_their_platform() -> None:
    data = yaml.safe_load((ROOT / "benchmarks" / "data" / "published.yaml").read_text())
    table = platform_correction_table()
    assert table.fits, "configs/platform_corrections.yaml holds no figure"
    for fit in table.fits:
        rows = [r for r in data["rows"] if r["platform"] == fit.platform and workload_kind(r.get("phase")) == fit.workload]
        assert fit.rows == len(rows) and fit.row_ids == [r["id"] for r in rows]
        assert fit.sources == sorted({r["source_id"] for r in rows})
        assert fit.error_after < fit.error_before  # `advisor fit` keeps only a fit that beats none
    # the AGX Xavier: two independent campaigns (torch2trt's and Waggle's) agree it runs slower
    xavier = table.find("jetson-agx-xavier", "network")
    assert xavier is not None and len(xavier.sources) == 2 and xavier.multiplier > 1.3


def test_cli_prediction_carries_the_published_correction(xavier_resnet) -> None:
    out = subprocess.run([sys.executable, "-m", "advisor.cli", "predict", "--model", "resnet18", "--target",
                          "jetson-agx-xavier", "--framework", "tensorrt", "--precision", "fp16", "--format", "json"],
                         capture_output=True, text=True, check=True)
    pred = json.loads(out.stdout)
    prof, xavier, trt = xavier_resnet
    alone = predict(prof, xavier, trt, "fp16", platform_corrections=NO_PLATFORM_CORRECTIONS)
    factor = platform_correction_table().multiplier("jetson-agx-xavier", "network")
    assert pred["latency_ms"] == pytest.approx(alone.latency_ms * factor, rel=1e-3)
    assert "published correction" in json.dumps(pred)


def test_recommend_says_its_latencies_carry_the_published_correction() -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "advisor.cli", "recommend", "--model", "resnet18", *args],
                              capture_output=True, text=True, check=True)

    fit = platform_correction_table().find("jetson-agx-xavier", "network")
    data = json.loads(run("--target", "jetson-agx-xavier", "--format", "json").stdout)
    assert data["published_correction"]["multiplier"] == fit.multiplier
    assert data["published_correction"]["sources"] == fit.sources
    text = " ".join(run("--target", "jetson-agx-xavier").stdout.split())
    assert f"latencies on jetson-agx-xavier include its published correction x{sig3(fit.multiplier)}" in text
    # a platform without one: no line, and the JSON keeps the command-line contract's keys
    assert platform_correction_table().find("jetson-nano", "network") is None
    nano = json.loads(run("--target", "jetson-nano", "--format", "json").stdout)
    assert "published_correction" not in nano
    assert "published correction" not in run("--target", "jetson-nano").stdout
    # a platform whose published figure comes from another workload kind (the RTX 4090's from
    # LLM decode): none applied to a CNN, and a line says why
    (decode,) = platform_correction_table().for_platform("rtx-4090")
    assert decode.workload == "decode"
    assert "published_correction" not in json.loads(run("--target", "rtx-4090", "--format", "json").stdout)
    text = " ".join(run("--target", "rtx-4090").stdout.split())
    assert (f"latencies on rtx-4090 carry no published correction: its published figures "
            f"(x{sig3(decode.multiplier)} from decode rows)") in text
