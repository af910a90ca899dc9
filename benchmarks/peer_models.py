"""Models for benchmarks/profilers.py, built the same way for every counter.

Each builder returns (model, example input) on the CPU with randomly initialised weights
(no downloads). advisor loads the same builders as `peer_models:NAME` callables.
"""

from __future__ import annotations

import torch
from torch import nn


def resnet18() -> tuple[nn.Module, torch.Tensor]:
    from torchvision.models import get_model

    return get_model("resnet18", weights=None).eval(), torch.randn(1, 3, 224, 224)


def resnet50() -> tuple[nn.Module, torch.Tensor]:
    from torchvision.models import get_model

    return get_model("resnet50", weights=None).eval(), torch.randn(1, 3, 224, 224)


def vit_b_16() -> tuple[nn.Module, torch.Tensor]:
    from torchvision.models import get_model

    return get_model("vit_b_16", weights=None).eval(), torch.randn(1, 3, 224, 224)


def transformer_encoder() -> tuple[nn.Module, torch.Tensor]:
    """nn.TransformerEncoder, d_model 256, 4 heads, feed-forward 1024, 4 layers, sequence 128."""
    layer = nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True)
    return nn.TransformerEncoder(layer, 4, enable_nested_tensor=False).eval(), torch.randn(1, 128, 256)


def yolov5s() -> tuple[nn.Module, torch.Tensor]:
    from advisor.models.yolo import build_yolov5

    return build_yolov5("s").eval(), torch.randn(1, 3, 640, 640)
