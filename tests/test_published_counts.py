"""Counts of zoo models against the figures their authors publish.

torchvision's model tables list "GFLOPS" that are multiply-accumulates (ResNet-50 4.09 is
4.09 G MACs), see https://pytorch.org/vision/stable/models.html; ultralytics lists YOLOv5s at
640 as 16.5 GFLOPs = 2 x 8.25 G MACs (https://github.com/ultralytics/yolov5#pretrained-checkpoints).
Tolerance 1%, or 3% where the published figure has only two significant digits.
"""

from __future__ import annotations

import pytest

from advisor.profiling.api import count_workload
from advisor.profiling.types import Profile
from advisor.workload import Workload


def get_profile(name: str) -> Profile:
    return count_workload(Workload(model=name))

# (zoo name, published G MACs, relative tolerance)
PUBLISHED_GMACS = [
    ("resnet50", 4.09, 0.01),
    ("vit_b_16", 17.56, 0.01),
    ("convnext_tiny", 4.46, 0.01),
    ("resnet18", 1.81, 0.01),
    ("mobilenet_v2", 0.30, 0.03),
    ("efficientnet_b0", 0.39, 0.03),
    ("mobilenet_v3_large", 0.22, 0.03),
]


@pytest.mark.parametrize(("name", "gmacs", "tolerance"), PUBLISHED_GMACS)
def test_torchvision_published_macs(name: str, gmacs: float, tolerance: float) -> None:
    profile = get_profile(name)
    assert not profile.unsupported_ops
    assert profile.macs / 1e9 == pytest.approx(gmacs, rel=tolerance)


def test_resnet50_params_exact() -> None:
    assert get_profile("resnet50").params == 25_557_032


def test_vit_b_16_counts_attention() -> None:
    """Naive counters that miss the fused attention report about 11.3 G here."""
    assert get_profile("vit_b_16").macs / 1e9 == pytest.approx(17.56, rel=0.01)


def test_yolov5s_published_flops() -> None:
    try:
        from advisor.models import load_model  # noqa: F401
    except ImportError:
        pytest.skip("advisor.models.load_model (the zoo) is not available")
    profile = get_profile("yolov5s")
    assert profile.input_shape == [1, 3, 640, 640]
    assert profile.params == 7_235_389
    assert profile.macs / 1e9 == pytest.approx(8.25, rel=0.01)
    assert 2 * profile.macs / 1e9 == pytest.approx(16.5, rel=0.01)
