"""Small classifiers trained in about a second on scikit-learn's digits (1797 8x8 images that ship
inside the package), for the sensitivity tests: real weights, real accuracy, no download.

``digits_mlp(outlier_scale=K)`` multiplies the two most active hidden units of the first layer by K
and divides the
next layer's matching weight columns by K. ReLU is positively homogeneous, so the fp32 function is
unchanged, but the second layer now reads inputs with a few channels K times larger than the rest:
the activation outliers that make per-tensor int8 fail on large language models (Dettmers et al.,
"LLM.int8()", 2022). The expected sensitivity is known by construction: the second Linear (``2``)
is the layer that per-tensor input quantization breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

OUTLIER_COUNT = 2
TRAIN_SAMPLES = 1200


@dataclass
class Digits:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_split(seed: int = 0, *, images: bool = False) -> Digits:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    y = torch.tensor(data.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    train, test = order[:TRAIN_SAMPLES], order[TRAIN_SAMPLES:]
    return Digits(x[train], y[train], x[test], y[test])


def _train(model: nn.Module, data: Digits, steps: int, lr: float) -> nn.Module:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
        optimiser.step()
    return model.eval()


def build_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def digits_narrow_mlp(data: Digits, *, hidden: int = 8, seed: int = 0) -> nn.Sequential:
    """A trained 64-8-10 MLP, no reparametrisation: few weights per output, so 4-bit grids hurt."""
    torch.manual_seed(seed)
    return _train(nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)), data, steps=150, lr=2e-2)


def outlier_units(model: nn.Sequential, data: Digits) -> list[int]:
    """The hidden units of the first layer with the largest mean activation on the training set."""
    with torch.no_grad():
        hidden = torch.relu(model[0](data.x_train))
    return sorted(hidden.mean(dim=0).topk(OUTLIER_COUNT).indices.tolist())


def digits_mlp(data: Digits, *, outlier_scale: float = 1.0, seed: int = 0) -> nn.Sequential:
    """A trained 64-128-128-10 MLP, with function-preserving activation outliers when scale > 1."""
    torch.manual_seed(seed)
    model = _train(build_mlp(), data, steps=80, lr=1e-2)
    if outlier_scale != 1.0:
        units = torch.tensor(outlier_units(model, data))
        with torch.no_grad():
            model[0].weight[units] *= outlier_scale
            model[0].bias[units] *= outlier_scale
            model[2].weight[:, units] /= outlier_scale
    return model


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(-1) == labels).float().mean())


def cli_mlp() -> tuple[nn.Sequential, torch.Tensor]:
    """``--model tests.sensitivity_digits:cli_mlp``: the MLP's architecture and an example input."""
    return build_mlp(), torch.empty(1, 64)


def write_digits_files(folder):
    """Trained outlier MLP weights (``mlp.safetensors``) and 64 calibration samples (``calib.npy``)
    in ``folder``, for the command-line tests; trained on one torch thread."""
    import numpy as np
    from safetensors.torch import save_file

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = load_digits_split()
        model = digits_mlp(data, outlier_scale=200.0)
    finally:
        torch.set_num_threads(before)
    save_file(model.state_dict(), folder / "mlp.safetensors")
    np.save(folder / "calib.npy", data.x_train[:64].numpy())
    return folder
