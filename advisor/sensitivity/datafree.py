"""Data-free weight analysis: quantization SQNR of every weight tensor of a checkpoint, streamed.

For checkpoints too large to load (a 70 B model on a 24 GB machine), no model is built and no
input is run: each weight matrix is read from its safetensors file a block of rows at a time
(``safe_open(...).get_slice``), quantized with each scheme, and only the running signal and noise
sums are kept. Every scheme here is row-local except the per-tensor ones, which need the tensor's
max magnitude first: that is one extra streaming pass over the tensor. The file is reopened for
every block so the memory map never holds more than one block resident.

Weight SQNR predicts output error only loosely (activations and error growth are ignored); it is
the right tool to find the tensors that a format treats worst (outliers, wide-range embeddings),
not to predict perplexity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from advisor.errors import InputError
from advisor.sensitivity.analysis import Tracker, no_progress
from advisor.sensitivity.report import LayerResult, SchemeResult, SensitivityReport
from advisor.sensitivity.schemes import QuantScheme, sqnr_db
from advisor.sensitivity.files import SAFETENSORS_SUFFIX, WeightFiles, as_weight_files

CHUNK_ELEMENTS = 1 << 24  # 16 M elements: 64 MB as fp32, a few of them alive while quantizing
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


@dataclass(frozen=True)
class TensorEntry:
    file: Path
    name: str
    shape: tuple[int, ...]

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class _Power:
    signal: float = 0.0
    noise: dict[str, float] = field(default_factory=dict)


def weight_tensors(weights: Path | WeightFiles) -> list[TensorEntry]:
    """The floating-point tensors of two or more dimensions (matrices, conv kernels, embeddings)."""
    from safetensors import safe_open

    resolved = as_weight_files(weights)
    path, files = resolved.source, resolved.files
    if not all(f.suffix == SAFETENSORS_SUFFIX for f in files):
        raise InputError(f"--weights {path}: data-free analysis streams safetensors files; convert the state dict first")
    entries = []
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                view = handle.get_slice(name)
                shape = tuple(view.get_shape())
                if len(shape) >= 2 and view.get_dtype() in FLOAT_DTYPES and math.prod(shape) > 0:
                    entries.append(TensorEntry(file, name, shape))
    if not entries:
        raise InputError(f"--weights {path}: no floating-point weight matrices found")
    return entries


def _row_blocks(entry: TensorEntry, chunk_elements: int) -> Iterator[tuple[int, int]]:
    row_elements = entry.numel // entry.rows
    step = max(1, chunk_elements // row_elements)
    for start in range(0, entry.rows, step):
        yield start, min(entry.rows, start + step)


def _read_rows(entry: TensorEntry, start: int, stop: int) -> torch.Tensor:
    from safetensors import safe_open

    with safe_open(str(entry.file), framework="pt") as handle:
        block = handle.get_slice(entry.name)[start:stop]
    return block.to(torch.float32).reshape(stop - start, -1)


def tensor_power(entry: TensorEntry, schemes: list[QuantScheme], *,
                 chunk_elements: int = CHUNK_ELEMENTS) -> _Power:
    """Signal power and per-scheme noise power of one tensor, a block of rows at a time."""
    amax = 0.0
    if any(s.per_tensor_weight for s in schemes):
        for start, stop in _row_blocks(entry, chunk_elements):
            amax = max(amax, float(_read_rows(entry, start, stop).abs().max()))
    power = _Power(noise={s.name: 0.0 for s in schemes})
    for start, stop in _row_blocks(entry, chunk_elements):
        rows = _read_rows(entry, start, stop)
        power.signal += rows.pow(2).sum().item()
        for scheme in schemes:
            power.noise[scheme.name] += (scheme.quantize_rows(rows, amax) - rows).pow(2).sum().item()
        del rows
    return power


def analyse_checkpoint(weights: Path | WeightFiles, schemes: list[QuantScheme], *, model: str = "",
                       track: Tracker = no_progress, chunk_elements: int = CHUNK_ELEMENTS) -> SensitivityReport:
    """Weight SQNR per tensor and per scheme, and overall (all weights' noise against all signal)."""
    resolved = as_weight_files(weights)
    entries = weight_tensors(resolved)
    layers: list[LayerResult] = []
    total_signal = 0.0
    total_noise = {s.name: 0.0 for s in schemes}
    for entry in track(entries, "data-free weight SQNR", len(entries)):
        power = tensor_power(entry, schemes, chunk_elements=chunk_elements)
        total_signal += power.signal
        for scheme in schemes:
            noise = power.noise[scheme.name]
            total_noise[scheme.name] += noise
            value = sqnr_db(power.signal, noise)
            layers.append(LayerResult(entry.name, scheme.name, None if not math.isfinite(value) else round(value, 4),
                                      "weight", entry.numel))
    results = []
    for scheme in schemes:
        value = sqnr_db(total_signal, total_noise[scheme.name])
        results.append(SchemeResult(scheme.name, None, weight_bits=scheme.bits,
                                    weight_sqnr_db=None if not math.isfinite(value) else round(value, 4)))
    layers.sort(key=lambda r: math.inf if r.sqnr_db is None else r.sqnr_db)
    return SensitivityReport(model=model or str(resolved.source), method="data-free", calib="none", samples=0,
                             schemes=results, layers=layers)
