"""Every torchvision classification, detection and segmentation model, by its torchvision name.

Models are built with ``weights=None`` (and ``weights_backbone=None``), so nothing is ever
downloaded. Classification and segmentation models are built on the meta device. Detection
models cannot run on meta: their post-processing (``nonzero``, ``nms``, score filtering)
has output sizes that depend on the values, so they are built on the CPU with a seeded
random initialisation and profiled on real tensors (see docs/zoo.md for the cost).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from advisor.errors import InputError
from advisor.models.meta import SkipRandomInitOnMeta, on_meta

CLASSIFICATION = "classification"
DETECTION = "detection"
SEGMENTATION = "segmentation"
# torchvision's segmentation presets resize to 520 (weights' transforms: resize_size=520).
SEGMENTATION_SIZE = 520
# Fixed seed for detection models' random weights and inputs, so their data-dependent
# post-processing keeps the same number of boxes from run to run.
DETECTION_SEED = 0
# Score thresholds of 0 make post-processing keep its maximum number of detections
# (e.g. 100 per image for R-CNNs), so second-stage heads (mask, keypoint) are costed at
# their worst case instead of at whatever a randomly initialised model happens to score.
_DETECTION_KWARGS: dict[str, dict[str, Any]] = {
    "fasterrcnn": {"box_score_thresh": 0.0},
    "maskrcnn": {"box_score_thresh": 0.0},
    "keypointrcnn": {"box_score_thresh": 0.0},
    "retinanet": {"score_thresh": 0.0},
    "fcos": {"score_thresh": 0.0},
    "ssd": {"score_thresh": 0.0},
}


@functools.lru_cache(maxsize=1)
def torchvision_names() -> dict[str, str]:
    """Map every torchvision classification/detection/segmentation model name to its task."""
    from torchvision import models

    names: dict[str, str] = {}
    for task, module in (
        (CLASSIFICATION, models),
        (DETECTION, models.detection),
        (SEGMENTATION, models.segmentation),
    ):
        for name in models.list_models(module=module):
            names[name] = task
    return names


def default_image_size(name: str) -> int:
    """Square input side the model's default torchvision weights were evaluated at.

    Classification: the ``crop_size`` of the DEFAULT weights' preset (224 for most, 299
    for inception_v3, 240-600 for EfficientNets, 518 for vit_h_14...). Segmentation: 520.
    Detection: the transform's ``min_size`` (800 for R-CNNs, RetinaNet, FCOS; 300/320 SSD).
    The preset is read from torchvision's weight metadata; nothing is downloaded.
    """
    from torchvision import models

    task = torchvision_names()[name]
    if task == SEGMENTATION:
        return SEGMENTATION_SIZE
    if task == DETECTION:
        return _detection_min_size(name)
    preset = models.get_model_weights(name).DEFAULT.transforms
    return int(getattr(preset, "keywords", {}).get("crop_size", 224))


def published_num_params(name: str) -> int | None:
    """Parameter count torchvision publishes for the model's DEFAULT weights (no download)."""
    from torchvision import models

    return models.get_model_weights(name).DEFAULT.meta.get("num_params")


def _detection_min_size(name: str) -> int:
    if name.startswith("ssd300"):
        return 300
    if name.startswith("ssdlite320") or name.endswith("_320_fpn"):
        return 320
    return 800


class _ParametersOnMeta(TorchFunctionMode):
    """Create the tensors that nn.Module constructors allocate (empty/zeros/ones/full) on meta.

    Unlike ``torch.device("meta")`` it leaves ``arange``/``tensor`` on the CPU, for builders
    that compute their layer widths with tensor arithmetic and ``.tolist()`` (torchvision's
    RegNet BlockParams), which cannot read values back from meta tensors.
    """

    _FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self._FACTORIES and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def build(name: str, image_size: int) -> tuple[nn.Module, str]:
    """Build ``name`` untrained; return the module in eval mode and the device it lives on."""
    from torchvision import models

    task = torchvision_names()[name]
    kwargs: dict[str, Any] = {"weights": None}
    if task in (DETECTION, SEGMENTATION):
        kwargs["weights_backbone"] = None
    if name.startswith("vit_"):
        kwargs["image_size"] = image_size  # ViT's position embedding is sized for one resolution
    if name.startswith(("googlenet", "inception_v3")):
        kwargs["init_weights"] = False  # skip the slow scipy truncated-normal init (and its warning)
    if name == "googlenet":
        kwargs["aux_logits"] = False  # as the published model: the aux heads are training-only
    if task == DETECTION:
        family = name.split("_")[0].rstrip("0123456789").replace("ssdlite", "ssd")
        kwargs.update(_DETECTION_KWARGS.get(family, {}))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(DETECTION_SEED)
            model = models.get_model(name, **kwargs)
        return model.eval(), "cpu"
    if name.startswith("regnet_"):
        with _ParametersOnMeta(), SkipRandomInitOnMeta():
            model = models.get_model(name, **kwargs)
        return model.to("meta").eval(), "meta"
    with on_meta():
        model = models.get_model(name, **kwargs)
    return model.eval(), "meta"


def example_inputs(name: str, shape: list[int], device: str) -> tuple[Any, ...]:
    """Forward arguments for an input of ``shape`` ([batch, 3, H, W]).

    Detection models take a list of [3, H, W] images; the others a batched tensor.
    """
    if torchvision_names()[name] != DETECTION:
        return (torch.empty(shape, device=device),)
    generator = torch.Generator().manual_seed(DETECTION_SEED)
    images = [torch.rand(shape[1:], generator=generator) for _ in range(shape[0])]
    return (images,)


def check_image_shape(name: str, shape: list[int]) -> None:
    """Reject shapes the architecture cannot take, with one line naming the value."""
    if len(shape) != 4:
        raise InputError(f"input shape {'x'.join(map(str, shape))} for {name}: expected BxCxHxW (e.g. 1x3x224x224)")
    if shape[1] != 3:
        raise InputError(f"input shape {'x'.join(map(str, shape))} for {name}: expected 3 channels, got {shape[1]}")
    if name.startswith("vit_") and shape[2] != shape[3]:
        raise InputError(f"input shape {'x'.join(map(str, shape))} for {name}: ViT needs a square image")
