"""YOLOv5/YOLOv8 built from their published layer tables: exact counts and published MACs."""

from __future__ import annotations

import pytest
import torch

from advisor.models import load_model
from advisor.models.yolo import build_yolov5, build_yolov8
from advisor.workload import Workload

# Published by ultralytics/yolov5 (v6.0 release table, model summary with BatchNorm unfused).
YOLOV5_PARAMS = {"n": 1_872_157, "s": 7_235_389, "m": 21_190_557, "l": 46_563_709, "x": 86_749_405}
# Published by ultralytics for YOLOv8: README table in millions (rounded to 0.1 M), and the
# model summaries' exact counts (yolov8n: "225 layers, 3157200 parameters", ...).
YOLOV8_PARAMS_M = {"n": 3.2, "s": 11.2, "m": 25.9, "l": 43.7, "x": 68.2}
YOLOV8_PARAMS = {"n": 3_157_200, "s": 11_166_560, "m": 25_902_640, "l": 43_691_520, "x": 68_229_648}


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", list(YOLOV5_PARAMS))
def test_yolov5_parameter_count_is_exact(size: str) -> None:
    spec = load_model(Workload(model=f"yolov5{size}"))
    assert _params(spec.module) == YOLOV5_PARAMS[size]
    # Anchors are data, not learned weights.
    assert "detect.anchors" in dict(spec.module.named_buffers())


@pytest.mark.parametrize("size", list(YOLOV8_PARAMS_M))
def test_yolov8_parameter_count_within_one_percent(size: str) -> None:
    params = _params(load_model(Workload(model=f"yolov8{size}")).module)
    assert params == pytest.approx(YOLOV8_PARAMS[size], rel=0.01)
    # And it rounds to the README's one-decimal figure (3.157 M is 1.3% below "3.2").
    assert round(params / 1e6, 1) == YOLOV8_PARAMS_M[size]


@pytest.mark.parametrize("name", ["yolov5s", "yolov8n"])
def test_yolo_spec_is_meta_640_and_runs(name: str) -> None:
    spec = load_model(Workload(model=name))
    assert spec.input_shape == [1, 3, 640, 640] and spec.device == "meta"
    assert all(p.device.type == "meta" for p in spec.module.parameters())
    assert not spec.module.training
    with torch.no_grad():
        out = spec.module(*spec.args)
    # 3 anchors x (80x80 + 40x40 + 20x20) cells x 85; YOLOv8: (4 box + 80 classes) x 8400 points.
    expected = [1, 25200, 85] if name == "yolov5s" else [1, 84, 8400]
    assert list(out.shape) == expected


def test_yolo_batch_and_shape_override() -> None:
    assert load_model(Workload(model="yolov5n", batch=8)).input_shape == [8, 3, 640, 640]
    spec = load_model(Workload(model="yolov8s", input_shape="2x3x320x480"))
    assert spec.input_shape == [2, 3, 320, 480]
    with torch.no_grad():
        assert list(spec.module(*spec.args).shape) == [2, 84, (40 * 60 + 20 * 30 + 10 * 15)]


def test_yolov5_decode_on_real_tensors_gives_boxes_inside_the_grid() -> None:
    """The Detect decode (sigmoid, grid, anchors) on CPU: centres lie within a cell's reach."""
    torch.manual_seed(0)
    model = build_yolov5("n").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    xy, wh, scores = out[..., :2], out[..., 2:4], out[..., 4:]
    # xy = (2*sigmoid - 0.5 + cell) * stride lies in [-0.5*stride, size + 0.5*stride].
    assert float(xy.min()) >= -16 and float(xy.max()) <= 64 + 16
    # wh = (2*sigmoid)^2 * anchor lies in (0, 4 * largest anchor side).
    assert float(wh.min()) > 0 and float(wh.max()) < 4 * 373
    assert float(scores.min()) >= 0 and float(scores.max()) <= 1


def test_yolov8_decode_on_real_tensors_gives_positive_sizes() -> None:
    torch.manual_seed(0)
    model = build_yolov8("n").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    # DFL distances are expectations over bins 0..15, so box sides lie in [0, 30 * stride].
    wh = out[:, 2:4]
    assert float(wh.min()) >= 0 and float(wh.max()) <= 30 * 32
    assert float(out[:, 4:].min()) >= 0 and float(out[:, 4:].max()) <= 1


counter = pytest.importorskip("advisor.profiling.counter")


# Published GFLOPs at 640 (ultralytics READMEs; their GFLOPs are 2 x MACs of the fused model).
PUBLISHED_GFLOPS_640 = {
    "yolov5n": 4.5, "yolov5s": 16.5, "yolov5m": 49.0, "yolov5l": 109.1, "yolov5x": 205.7,
    "yolov8n": 8.7, "yolov8s": 28.6, "yolov8m": 78.9, "yolov8l": 165.2, "yolov8x": 257.8,
}


@pytest.mark.parametrize("name", list(PUBLISHED_GFLOPS_640))
def test_yolo_macs_match_published(name: str) -> None:
    profile = counter.count(load_model(Workload(model=name)))
    assert profile.macs == pytest.approx(PUBLISHED_GFLOPS_640[name] / 2 * 1e9, rel=0.01)
    assert not profile.unsupported_ops
