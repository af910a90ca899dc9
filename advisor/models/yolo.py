"""YOLOv5 (v6.0+) and YOLOv8 detectors, written from their published architecture facts.

No ultralytics code is used (it is AGPL). What is taken from the public model definitions
(ultralytics/yolov5 ``models/yolov5s.yaml`` v6.0 and ultralytics ``yolov8.yaml``) are facts:
the layer table, the depth/width multiples per scale, the anchors and the Detect layouts.

Both detectors run their inference-mode Detect decode (sigmoid, grid and anchor arithmetic,
DFL softmax) with grids built from static shapes, so the whole forward runs on meta tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

NUM_CLASSES = 80
STRIDES = (8, 16, 32)
# YOLOv5 anchors in pixels for P3/8, P4/16, P5/32 (yolov5*.yaml).
YOLOV5_ANCHORS = (
    ((10, 13), (16, 30), (33, 23)),
    ((30, 61), (62, 45), (59, 119)),
    ((116, 90), (156, 198), (373, 326)),
)
DFL_BINS = 16  # YOLOv8 reg_max


@dataclass(frozen=True)
class Scale:
    """Depth multiple, width multiple and channel cap of one model size."""

    depth: float
    width: float
    max_channels: int = 1 << 30


# yolov5{n,s,m,l,x}.yaml: depth_multiple / width_multiple.
YOLOV5_SCALES = {
    "n": Scale(0.33, 0.25),
    "s": Scale(0.33, 0.50),
    "m": Scale(0.67, 0.75),
    "l": Scale(1.00, 1.00),
    "x": Scale(1.33, 1.25),
}
# yolov8.yaml "scales": [depth, width, max_channels].
YOLOV8_SCALES = {
    "n": Scale(0.33, 0.25, 1024),
    "s": Scale(0.33, 0.50, 1024),
    "m": Scale(0.67, 0.75, 768),
    "l": Scale(1.00, 1.00, 512),
    "x": Scale(1.00, 1.25, 512),
}


def _channels(c: int, scale: Scale) -> int:
    """Width-scaled channel count, rounded up to a multiple of 8 as both YOLO versions do."""
    return math.ceil(min(c, scale.max_channels) * scale.width / 8) * 8


def _repeats(n: int, scale: Scale) -> int:
    """Depth-scaled block count (at least one)."""
    return max(round(n * scale.depth), 1) if n > 1 else n


class ConvBnAct(nn.Module):
    """Conv2d without bias, BatchNorm (eps 1e-3, momentum 0.03) and SiLU: YOLO's basic unit."""

    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1, p: int | None = None, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2 if p is None else p, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two convs (k1 then k2) with an optional residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, shortcut: bool, k1: int, k2: int, expansion: float):
        super().__init__()
        hidden = int(c_out * expansion)
        self.cv1 = ConvBnAct(c_in, hidden, k1)
        self.cv2 = ConvBnAct(hidden, c_out, k2)
        self.residual = shortcut and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.residual else y


class C3(nn.Module):
    """YOLOv5 CSP block: two 1x1 branches, n bottlenecks on one, concatenated and fused by a 1x1."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool = True):
        super().__init__()
        hidden = int(c_out * 0.5)
        self.cv1 = ConvBnAct(c_in, hidden, 1)
        self.cv2 = ConvBnAct(c_in, hidden, 1)
        self.cv3 = ConvBnAct(2 * hidden, c_out, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, 1, 3, 1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2f(nn.Module):
    """YOLOv8 CSP block: one 1x1 split in two, n bottlenecks chained, every output concatenated."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool = False):
        super().__init__()
        self.hidden = int(c_out * 0.5)
        self.cv1 = ConvBnAct(c_in, 2 * self.hidden, 1)
        self.cv2 = ConvBnAct((2 + n) * self.hidden, c_out, 1)
        self.m = nn.ModuleList(Bottleneck(self.hidden, self.hidden, shortcut, 3, 3, 1.0) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).split((self.hidden, self.hidden), 1))
        for block in self.m:
            parts.append(block(parts[-1]))
        return self.cv2(torch.cat(parts, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 max-pools concatenated with the input."""

    def __init__(self, c_in: int, c_out: int, k: int = 5):
        super().__init__()
        hidden = c_in // 2
        self.cv1 = ConvBnAct(c_in, hidden, 1)
        self.cv2 = ConvBnAct(hidden * 4, c_out, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


def _grid(ny: int, nx: int, like: torch.Tensor) -> torch.Tensor:
    """(ny, nx, 2) cell coordinates (x, y), built from static sizes so it runs on meta."""
    # Integer arange then a cast: a float arange on meta takes a slow Python reference path.
    ys = torch.arange(ny, device=like.device).to(like.dtype)
    xs = torch.arange(nx, device=like.device).to(like.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy), -1)


class YoloV5Detect(nn.Module):
    """Anchor-based head: one 1x1 conv per level, 3 anchors x (4 box + 1 objectness + classes).

    Inference decode per level: sigmoid, xy = (2*s - 0.5 + grid) * stride, wh = (2*s)^2 * anchor.
    """

    def __init__(self, channels: tuple[int, ...], num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_outputs = num_classes + 5
        self.num_anchors = len(YOLOV5_ANCHORS[0])
        self.m = nn.ModuleList(nn.Conv2d(c, self.num_outputs * self.num_anchors, 1) for c in channels)
        # Anchors are fixed data, not learned: a buffer, so they are not counted as parameters.
        self.register_buffer("anchors", torch.tensor(YOLOV5_ANCHORS, dtype=torch.float32))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        outputs = []
        for level, (conv, x) in enumerate(zip(self.m, features)):
            x = conv(x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.num_anchors, self.num_outputs, ny, nx).permute(0, 1, 3, 4, 2)
            y = x.sigmoid()
            xy, wh, conf = y.split((2, 2, self.num_outputs - 4), 4)
            grid = _grid(ny, nx, x).view(1, 1, ny, nx, 2) - 0.5
            anchor = self.anchors[level].view(1, self.num_anchors, 1, 1, 2)
            xy = (xy * 2 + grid) * STRIDES[level]
            wh = (wh * 2) ** 2 * anchor
            outputs.append(torch.cat((xy, wh, conf), 4).view(bs, -1, self.num_outputs))
        return torch.cat(outputs, 1)


class DistributionFocalDecode(nn.Module):
    """DFL: softmax over 16 distance bins, expectation by a fixed 1x1 conv with weights 0..15."""

    def __init__(self, bins: int = DFL_BINS):
        super().__init__()
        self.bins = bins
        self.conv = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        if self.conv.weight.device.type != "meta":  # meta tensors hold no values to set
            with torch.no_grad():
                self.conv.weight.copy_(torch.arange(bins, dtype=torch.float32).view(1, bins, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.bins, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class YoloV8Detect(nn.Module):
    """Decoupled anchor-free head: per level a box branch (4 x 16 DFL bins) and a class branch."""

    def __init__(self, channels: tuple[int, ...], num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        box_c = max(16, channels[0] // 4, DFL_BINS * 4)
        cls_c = max(channels[0], min(num_classes, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(ConvBnAct(c, box_c, 3), ConvBnAct(box_c, box_c, 3), nn.Conv2d(box_c, 4 * DFL_BINS, 1))
            for c in channels
        )
        self.cv3 = nn.ModuleList(
            nn.Sequential(ConvBnAct(c, cls_c, 3), ConvBnAct(cls_c, cls_c, 3), nn.Conv2d(cls_c, num_classes, 1))
            for c in channels
        )
        self.dfl = DistributionFocalDecode()

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        flat, points, strides = [], [], []
        for level, x in enumerate(features):
            y = torch.cat((self.cv2[level](x), self.cv3[level](x)), 1)
            bs, no, ny, nx = y.shape
            flat.append(y.view(bs, no, -1))
            points.append((_grid(ny, nx, y) + 0.5).view(-1, 2))
            strides.append(torch.full((ny * nx, 1), float(STRIDES[level]), dtype=y.dtype, device=y.device))
        anchors = torch.cat(points).transpose(0, 1).unsqueeze(0)  # (1, 2, A)
        stride = torch.cat(strides).transpose(0, 1)  # (1, A)
        box, cls = torch.cat(flat, 2).split((4 * DFL_BINS, self.num_classes), 1)
        left_top, right_bottom = self.dfl(box).chunk(2, 1)
        x1y1 = anchors - left_top
        x2y2 = anchors + right_bottom
        boxes = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * stride
        return torch.cat((boxes, cls.sigmoid()), 1)


class Upsample2x(nn.Upsample):
    """Nearest-neighbour 2x upsampling, as in both YOLO necks."""

    def __init__(self) -> None:
        super().__init__(scale_factor=2.0, mode="nearest")


class YoloV5(nn.Module):
    """YOLOv5 v6.0+: 6x6/2 stem, C3 backbone, SPPF, PANet neck with C3 (no shortcut), Detect."""

    def __init__(self, scale: Scale, num_classes: int = NUM_CLASSES):
        super().__init__()
        c = lambda n: _channels(n, scale)  # noqa: E731 - short local alias keeps the layer table readable
        d = lambda n: _repeats(n, scale)  # noqa: E731
        self.stem = ConvBnAct(3, c(64), 6, 2, 2)
        self.down2 = ConvBnAct(c(64), c(128), 3, 2)
        self.c3_2 = C3(c(128), c(128), d(3))
        self.down3 = ConvBnAct(c(128), c(256), 3, 2)
        self.c3_3 = C3(c(256), c(256), d(6))
        self.down4 = ConvBnAct(c(256), c(512), 3, 2)
        self.c3_4 = C3(c(512), c(512), d(9))
        self.down5 = ConvBnAct(c(512), c(1024), 3, 2)
        self.c3_5 = C3(c(1024), c(1024), d(3))
        self.sppf = SPPF(c(1024), c(1024), 5)
        self.lat5 = ConvBnAct(c(1024), c(512), 1)
        self.up = Upsample2x()
        self.top_c3_4 = C3(c(1024), c(512), d(3), shortcut=False)
        self.lat4 = ConvBnAct(c(512), c(256), 1)
        self.top_c3_3 = C3(c(512), c(256), d(3), shortcut=False)
        self.bottom_down3 = ConvBnAct(c(256), c(256), 3, 2)
        self.bottom_c3_4 = C3(c(512), c(512), d(3), shortcut=False)
        self.bottom_down4 = ConvBnAct(c(512), c(512), 3, 2)
        self.bottom_c3_5 = C3(c(1024), c(1024), d(3), shortcut=False)
        self.detect = YoloV5Detect((c(256), c(512), c(1024)), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = self.c3_3(self.down3(self.c3_2(self.down2(self.stem(x)))))
        p4 = self.c3_4(self.down4(p3))
        p5 = self.sppf(self.c3_5(self.down5(p4)))
        l5 = self.lat5(p5)
        t4 = self.top_c3_4(torch.cat((self.up(l5), p4), 1))
        l4 = self.lat4(t4)
        out3 = self.top_c3_3(torch.cat((self.up(l4), p3), 1))
        out4 = self.bottom_c3_4(torch.cat((self.bottom_down3(out3), l4), 1))
        out5 = self.bottom_c3_5(torch.cat((self.bottom_down4(out4), l5), 1))
        return self.detect([out3, out4, out5])


class YoloV8(nn.Module):
    """YOLOv8: 3x3/2 stem, C2f backbone, SPPF, PANet neck with C2f (no lateral convs), DFL Detect."""

    def __init__(self, scale: Scale, num_classes: int = NUM_CLASSES):
        super().__init__()
        c = lambda n: _channels(n, scale)  # noqa: E731
        d = lambda n: _repeats(n, scale)  # noqa: E731
        self.stem = ConvBnAct(3, c(64), 3, 2)
        self.down2 = ConvBnAct(c(64), c(128), 3, 2)
        self.c2f_2 = C2f(c(128), c(128), d(3), shortcut=True)
        self.down3 = ConvBnAct(c(128), c(256), 3, 2)
        self.c2f_3 = C2f(c(256), c(256), d(6), shortcut=True)
        self.down4 = ConvBnAct(c(256), c(512), 3, 2)
        self.c2f_4 = C2f(c(512), c(512), d(6), shortcut=True)
        self.down5 = ConvBnAct(c(512), c(1024), 3, 2)
        self.c2f_5 = C2f(c(1024), c(1024), d(3), shortcut=True)
        self.sppf = SPPF(c(1024), c(1024), 5)
        self.up = Upsample2x()
        self.top_c2f_4 = C2f(c(1024) + c(512), c(512), d(3))
        self.top_c2f_3 = C2f(c(512) + c(256), c(256), d(3))
        self.bottom_down3 = ConvBnAct(c(256), c(256), 3, 2)
        self.bottom_c2f_4 = C2f(c(256) + c(512), c(512), d(3))
        self.bottom_down4 = ConvBnAct(c(512), c(512), 3, 2)
        self.bottom_c2f_5 = C2f(c(512) + c(1024), c(1024), d(3))
        self.detect = YoloV8Detect((c(256), c(512), c(1024)), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = self.c2f_3(self.down3(self.c2f_2(self.down2(self.stem(x)))))
        p4 = self.c2f_4(self.down4(p3))
        p5 = self.sppf(self.c2f_5(self.down5(p4)))
        t4 = self.top_c2f_4(torch.cat((self.up(p5), p4), 1))
        out3 = self.top_c2f_3(torch.cat((self.up(t4), p3), 1))
        out4 = self.bottom_c2f_4(torch.cat((self.bottom_down3(out3), t4), 1))
        out5 = self.bottom_c2f_5(torch.cat((self.bottom_down4(out4), p5), 1))
        return self.detect([out3, out4, out5])


def build_yolov5(size: str) -> YoloV5:
    """YOLOv5 of one size: 'n', 's', 'm', 'l' or 'x'."""
    return YoloV5(YOLOV5_SCALES[size])


def build_yolov8(size: str) -> YoloV8:
    """YOLOv8 of one size: 'n', 's', 'm', 'l' or 'x'."""
    return YoloV8(YOLOV8_SCALES[size])
