"""Every torchvision classification/detection/segmentation model loads by name, untrained.

Parameter counts are checked against torchvision's own published ``num_params`` (weight
metadata, read without downloading anything).
"""

from __future__ import annotations

import pytest
import torch
from torchvision import models

from advisor.errors import InputError
from advisor.models import load_model, zoo_names
from advisor.models.torchvision_zoo import published_num_params
from advisor.workload import Workload

CLASSIFICATION = models.list_models(module=models)
DETECTION = models.list_models(module=models.detection)
SEGMENTATION = models.list_models(module=models.segmentation)


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_zoo_lists_every_torchvision_model_and_the_custom_ones() -> None:
    names = set(zoo_names())
    assert set(CLASSIFICATION + DETECTION + SEGMENTATION) <= names
    assert {"yolov5s", "yolov8x", "bert-base", "llama-1.1b", "llama-70b"} <= names
    assert len(CLASSIFICATION) > 70 and len(DETECTION) >= 12 and len(SEGMENTATION) >= 6


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_model_loads_on_meta_with_published_params(name: str) -> None:
    spec = load_model(Workload(model=name))
    assert spec.device == "meta" and not spec.module.training
    assert all(t.device.type == "meta" for t in (*spec.module.parameters(), *spec.module.buffers()))
    assert spec.args[0].device.type == "meta" and list(spec.args[0].shape) == spec.input_shape
    assert _params(spec.module) == published_num_params(name)


@pytest.mark.parametrize("name", SEGMENTATION)
def test_segmentation_model_loads_on_meta(name: str) -> None:
    spec = load_model(Workload(model=name))
    assert spec.device == "meta" and spec.input_shape == [1, 3, 520, 520]
    # Published counts include the training-only auxiliary head, which the zoo leaves out.
    aux_kwargs = {} if name.startswith("lraspp") else {"aux_loss": True}  # LR-ASPP has no aux head
    with torch.device("meta"):
        with_aux = models.get_model(name, weights=None, weights_backbone=None, **aux_kwargs)
    aux = _params(with_aux.aux_classifier) if getattr(with_aux, "aux_classifier", None) is not None else 0
    assert _params(with_aux) == published_num_params(name)
    assert _params(spec.module) == published_num_params(name) - aux


# torchvision's detection transforms resize to min_size: 800 (R-CNNs, RetinaNet, FCOS), 320/300 (SSD).
DETECTION_SIDE = {"fasterrcnn_mobilenet_v3_large_320_fpn": 320, "ssd300_vgg16": 300, "ssdlite320_mobilenet_v3_large": 320}


@pytest.mark.parametrize("name", DETECTION)
def test_detection_model_loads_on_cpu(name: str) -> None:
    spec = load_model(Workload(model=name))
    assert spec.device == "cpu" and not spec.module.training
    side = DETECTION_SIDE.get(name, 800)
    assert spec.input_shape == [1, 3, side, side]
    images = spec.args[0]
    assert isinstance(images, list) and len(images) == 1 and list(images[0].shape) == spec.input_shape[1:]
    # Published counts use FrozenBatchNorm2d (weight/bias as buffers) in pretrained backbones;
    # untrained builds use BatchNorm2d, whose weight and bias are parameters.
    bn = sum(_params(m) for m in spec.module.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert _params(spec.module) in (published_num_params(name), published_num_params(name) + bn)


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("resnet50", 224), ("inception_v3", 299), ("efficientnet_b7", 600), ("vit_h_14", 518),
        ("swin_v2_t", 256), ("fcn_resnet50", 520), ("deeplabv3_mobilenet_v3_large", 520),
    ],
)
def test_default_input_side_follows_torchvision_presets(name: str, side: int) -> None:
    assert load_model(Workload(model=name)).input_shape == [1, 3, side, side]


def test_shape_and_batch_overrides() -> None:
    assert load_model(Workload(model="resnet18", batch=16)).input_shape == [16, 3, 224, 224]
    assert load_model(Workload(model="resnet18", input_shape="3x160x160", batch=2)).input_shape == [2, 3, 160, 160]
    vit = load_model(Workload(model="vit_b_16", input_shape="1x3x384x384"))
    with torch.no_grad():
        assert list(vit.module(*vit.args).shape) == [1, 1000]
    det = load_model(Workload(model="ssdlite320_mobilenet_v3_large", batch=2))
    assert len(det.args[0]) == 2


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("resnet18", "1x1x224x224", "3 channels"),
        ("vit_b_16", "1x3x250x250", "does not fit"),
        ("maxvit_t", "1x3x256x256", "does not fit"),
        ("vit_b_16", "1x3x224x256", "square"),
        ("resnet18", "224x224", "4 dimensions"),
        ("resnet18", "1x3x2a4x224", "malformed"),
    ],
)
def test_shapes_the_model_cannot_take_are_input_errors(name: str, shape: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        load_model(Workload(model=name, input_shape=shape))


counter = pytest.importorskip("advisor.profiling.counter")


@pytest.mark.parametrize(
    ("name", "published_gmacs", "rel"),
    [  # torchvision's "GFLOPS" column, which counts multiply-accumulates
        ("resnet18", 1.81, 0.01),
        ("mobilenet_v3_large", 0.22, 0.03),
        ("regnet_y_400mf", 0.40, 0.03),
        ("swin_t", 4.49, 0.01),
        ("lraspp_mobilenet_v3_large", 2.09, 0.01),
        ("deeplabv3_mobilenet_v3_large", 10.45, 0.01),
    ],
)
def test_representative_models_profile_to_published_macs(name: str, published_gmacs: float, rel: float) -> None:
    profile = counter.count(load_model(Workload(model=name)))
    assert profile.macs / 1e9 == pytest.approx(published_gmacs, rel=rel)
    assert not profile.unsupported_ops


@pytest.mark.slow
def test_detection_model_profiles_deterministically_on_cpu() -> None:
    """Seeded weights and inputs keep the data-dependent post-processing the same size, and
    the second stage (box head over the RPN's proposals) is counted."""
    first = counter.count(load_model(Workload(model="fasterrcnn_mobilenet_v3_large_320_fpn")))
    second = counter.count(load_model(Workload(model="fasterrcnn_mobilenet_v3_large_320_fpn")))
    assert first.macs == second.macs > 0
    box_head = sum(op.macs for op in first.ops if op.module_path.startswith("roi_heads.box_head"))
    # TwoMLPHead: 256*7*7 -> 1024 -> 1024 per proposal; the RPN keeps at most 150 at test time.
    per_proposal = 256 * 7 * 7 * 1024 + 1024 * 1024
    assert box_head % per_proposal == 0 and 0 < box_head // per_proposal <= 150


@pytest.mark.slow
def test_fasterrcnn_resnet50_fpn_profiles_all_stages() -> None:
    """The flagship detector counts end to end on the CPU: backbone at 800x800, RPN, box head."""
    profile = counter.count(load_model(Workload(model="fasterrcnn_resnet50_fpn")))
    by_stage: dict[str, int] = {}
    for op in profile.ops:
        stage = op.module_path.split(".")[0] if op.module_path else ""
        by_stage[stage] = by_stage.get(stage, 0) + op.macs
    # ResNet-50 trunk: 4.09 G MACs at 224 (torchvision), convolutions scale with pixels;
    # the classifier (fc, 2 M MACs) is not part of the detector's body.
    trunk = by_stage["backbone"]
    assert trunk > 4.0e9 * (800 / 224) ** 2
    per_proposal = 256 * 7 * 7 * 1024 + 1024 * 1024  # TwoMLPHead
    box_head = sum(op.macs for op in profile.ops if op.module_path.startswith("roi_heads.box_head"))
    assert box_head % per_proposal == 0 and 0 < box_head // per_proposal <= 1000  # RPN keeps <= 1000
    assert by_stage["rpn"] > 0 and profile.macs == sum(by_stage.values())
