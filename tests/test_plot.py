"""The roofline chart is a valid PNG and SVG with one point per kernel."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import pytest

from advisor.errors import InputError
from advisor.predict.engine import predict
from advisor.predict.plot import plot_roofline
from advisor.profiling.types import Category, OpRecord
from factories_predict import conv_op, framework, gemm_op, gpu, pointwise, profile


def _prediction():
    copy = OpRecord(op="aten.cat", category=Category.data_movement, module_path="cat", module_type="Concat",
                    input_elems=2000, output_elems=2000, parallel_work=2000)
    ops = [conv_op(3, 32, 64, path="c1"), pointwise(32 * 64 * 64, op="aten.silu", path="a1"),
           conv_op(32, 64, 64, path="c2"), copy, gemm_op(8192, 8192, 8192, path="big")]
    return predict(profile(ops), gpu(), framework(fused=False, per_kernel_us=20), "fp16")


def test_png_is_an_image(tmp_path: Path) -> None:
    pred = _prediction()
    out = plot_roofline(pred, gpu(), framework(fused=False, per_kernel_us=20), tmp_path / "r.png")
    pixels = matplotlib.image.imread(out)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0  # not blank


def test_svg_has_one_point_per_kernel(tmp_path: Path) -> None:
    pred = _prediction()
    assert len(pred.layers) == 5
    out = plot_roofline(pred, gpu(), framework(fused=False, per_kernel_us=20), tmp_path / "r.svg")
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    (group,) = [g for g in root.iter(f"{ns}g") if g.get("id") == "layers"]
    points = [e for e in group if e.tag in (f"{ns}path", f"{ns}use")]
    assert len(points) == len(pred.layers)


def test_other_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="r.jpg"):
        plot_roofline(_prediction(), gpu(), framework(), tmp_path / "r.jpg")
