"""predict_case and `advisor predict` on the seeded database."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import matplotlib.image
import pytest

from advisor.errors import InputError
from advisor.predict.api import predict_case
from advisor.workload import Workload
from factories_predict import cache_zoo_profile, run_cli



def test_llama_7b_decode_on_h200_is_near_the_bandwidth_bound(db) -> None:
    cache_zoo_profile(db, "llama-7b", "decode", 512)
    pred = predict_case(db, Workload(model="llama-7b", phase="decode", context=512), target="h200",
                        precision="fp16", framework="vllm").prediction
    weights_ms = pred.params * 2 / (4800e9) * 1e3  # fp16 weights / datasheet bandwidth
    assert weights_ms < pred.latency_ms < 2 * weights_ms
    assert pred.bound == "memory"
    assert pred.throughput_per_s == pytest.approx(1e3 / pred.latency_ms)


def test_decode_quantized_weights_are_faster(db) -> None:
    cache_zoo_profile(db, "llama-7b", "decode", 512)
    llama = Workload(model="llama-7b", phase="decode", context=512)
    fp16 = predict_case(db, llama, target="a100-sxm", framework="vllm", precision="fp16").prediction
    w4 = predict_case(db, llama, target="a100-sxm", framework="vllm", precision="w4a16").prediction
    assert w4.latency_ms < 0.6 * fp16.latency_ms
    assert w4.memory_mb < 0.35 * fp16.memory_mb


def test_excluded_combination_is_predicted_with_the_reason(db) -> None:
    from advisor.rules.notes import with_rule_notes

    cache_zoo_profile(db, "yolov5n")
    case = predict_case(db, Workload(model="yolov5n"), target="jetson-nano", precision="int8", framework="tensorrt")
    assert case.prediction.warnings == [w for w in case.prediction.warnings if not w.startswith("exclude:")]
    pred = with_rule_notes(case)
    assert any(w.startswith("exclude:") and "no int8 support" in w and w.endswith("[precision_support]")
               for w in pred.warnings)


@pytest.mark.parametrize(
    ("kw", "nearest"),
    [
        (dict(target="jetsonnano"), "jetson-nano"),
        (dict(framework="tensorrtt"), "tensorrt"),
        (dict(precision="fp61"), "fp16"),
    ],
)
def test_unknown_names(db, kw, nearest) -> None:
    cache_zoo_profile(db, "yolov5n")
    args = dict(target="jetson-nano", precision="fp16", framework="tensorrt") | kw
    with pytest.raises(InputError, match=nearest):
        predict_case(db, Workload(model="yolov5n"), **args)


def test_cli_json_keys_and_per_layer(db, isolated_db) -> None:
    cache_zoo_profile(db, "yolov5n")
    out = run_cli("predict", "--model", "yolov5n", "--target", "jetson-orin-nano", "--precision", "fp16",
               "--framework", "tensorrt", "--format", "json", "--per-layer")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"model", "target", "framework", "precision", "batch", "latency_ms", "throughput_per_s", "bound",
            "memory_mb", "layers"} <= set(data)
    layers = data["layers"]
    assert layers and {"name", "kind", "bound", "time_ms"} <= set(layers[0])
    # kernels plus the per-call overhead make up the latency
    assert sum(k["time_ms"] for k in layers) < data["latency_ms"]
    assert sum(k["time_ms"] for k in layers) == pytest.approx(data["latency_ms"], abs=0.1)
    # BN folded and SiLU fused: fewer kernels than convolutions + norms + activations
    assert any("+" in k["kind"] for k in layers)


def test_cli_plot_png_and_svg(db, isolated_db, tmp_path) -> None:
    cache_zoo_profile(db, "yolov5n")
    base = ["predict", "--model", "yolov5n", "--target", "jetson-orin-nano", "--precision", "fp16",
            "--framework", "tensorrt", "--format", "json", "--per-layer"]
    png, svg = tmp_path / "r.png", tmp_path / "r.svg"
    out = run_cli(*base, "--plot", str(png))
    assert out.returncode == 0, out.stderr
    n = len(json.loads(out.stdout)["layers"])
    assert matplotlib.image.imread(png).ndim == 3
    assert run_cli(*base, "--plot", str(svg)).returncode == 0
    ns = "{http://www.w3.org/2000/svg}"
    (group,) = [g for g in ET.parse(svg).getroot().iter(f"{ns}g") if g.get("id") == "layers"]
    assert len([e for e in group if e.tag in (f"{ns}path", f"{ns}use")]) == n


def test_cli_bad_plot_suffix_exit_2(isolated_db, tmp_path) -> None:
    out = run_cli("predict", "--model", "yolov5n", "--target", "jetson-nano", "--precision", "fp16",
               "--framework", "tensorrt", "--plot", str(tmp_path / "x.gif"))
    assert out.returncode == 2 and "x.gif" in out.stderr and len(out.stderr.strip().splitlines()) == 1
