"""Quantization schemes as fake-quantizers: each maps an fp32 tensor to the fp32 values it would
decode to after quantization, so the error can be measured by running the model in fp32.

Weights use torch's own primitives (``torch.fake_quantize_per_channel_affine`` /
``torch.fake_quantize_per_tensor_affine``, ``torch.float8_e4m3fn`` casts); only the GGUF block
formats, which torch has no primitive for, are written out here from llama.cpp's documented layout:

- ``q8_0``: blocks of 32 weights, one fp16 scale ``d = max|x| / 127`` per block, ``x = d * q`` with
  q in [-127, 127] (8.5 bits per weight).
- ``q4_k_m``: "k-quants" Q4_K: super-blocks of 256 weights split into 8 blocks of 32; each block has a
  6-bit scale and a 6-bit min, themselves scaled by two fp16 numbers per super-block (``d``, ``dmin``),
  ``x = d * sc * q - dmin * m`` with q in [0, 15] (4.5 bits per weight). Source: llama.cpp pull request
  #1684 "k-quants" (ggml-org/llama.cpp) and the GGUF quantization table in the ggml docs. The ``_M``
  ("medium") mix stores some tensors (half of attn_v and ffn_down) in Q6_K; here every tensor is Q4_K,
  so the figure is slightly pessimistic. llama.cpp also refines each block's scale/min with a small
  search; here the scale/min come straight from the block's range (again slightly pessimistic).

Activations (``int8`` / ``int8-tensor`` / ``fp8`` schemes) are quantized per tensor with a range
calibrated on the calibration inputs (min/max), as TensorRT's and ONNX Runtime's static
quantization do by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from advisor.errors import InputError, unknown_name
from advisor.options import comma_list

FP8_E4M3_MAX = 448.0  # largest finite float8_e4m3fn value (OCP FP8 spec, 2023)
GGUF_BLOCK = 32
GGUF_SUPER_BLOCK = 256
DEFAULT_GROUP_SIZE = 128  # the group size AWQ and GPTQ checkpoints use most


@dataclass(frozen=True)
class ActivationRange:
    """Observed min/max of a layer's input over the calibration set."""

    low: float
    high: float

    def merged(self, low: float, high: float) -> ActivationRange:
        return ActivationRange(min(self.low, low), max(self.high, high))


@dataclass(frozen=True)
class QuantScheme:
    """A named scheme: how weights are quantized, and whether the layer input is quantized too.

    ``bits`` orders schemes by how aggressive they are (weight bits per element, including block
    scales for the GGUF formats); ``predictor_scheme`` is the advisor scheme whose speed the
    predictor knows (design.md's vocabulary), used to price the suggestion.
    """

    name: str
    description: str
    bits: float
    quantize_weight: Callable[[torch.Tensor], torch.Tensor]
    activation: str | None  # None (weight-only), "int8" or "fp8"
    predictor_scheme: str
    per_tensor_weight: bool = False  # one scale over the whole weight: streaming needs its max first

    def quantize_rows(self, rows: torch.Tensor, tensor_amax: float) -> torch.Tensor:
        """Quantize some output rows of a weight whose whole-tensor max magnitude is ``tensor_amax``
        (streaming: every scheme here is row-local except for that one number)."""
        if not self.per_tensor_weight:
            return self.quantize_weight(rows)
        if self.predictor_scheme == "fp8":
            return fp8_e4m3(rows, tensor_amax)
        return int8_per_tensor(rows, tensor_amax)

    def quantize_input(self, x: torch.Tensor, observed: ActivationRange) -> torch.Tensor:
        """Fake-quantize a layer input with the calibrated range (identity for weight-only schemes)."""
        if self.activation is None:
            return x
        if self.activation == "fp8":
            amax = max(abs(observed.low), abs(observed.high))
            return fp8_e4m3(x, amax)
        scale, zero = affine_params(observed.low, observed.high, -128, 127)
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, -128, 127)


# --------------------------------------------------------------------------- primitives


def affine_params(low: float, high: float, qmin: int, qmax: int) -> tuple[float, int]:
    """Scale and zero point of an affine grid over [low, high] that always contains 0 (so zero
    padding and ReLU zeros are exact), as PyTorch's MinMax observers compute them."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / (qmax - qmin) if high > low else 1.0
    zero = int(round(qmin - low / scale))
    return float(scale), max(qmin, min(qmax, zero))


def _as_rows(weight: torch.Tensor) -> torch.Tensor:
    """A weight as [output channels, everything else] (conv kernels flattened per filter)."""
    w = weight.detach().to(torch.float32)
    return w.reshape(w.shape[0], -1) if w.dim() > 1 else w.reshape(1, -1)


def _symmetric_per_channel(rows: torch.Tensor, bits: int) -> torch.Tensor:
    qmax = 2 ** (bits - 1) - 1
    amax = rows.abs().amax(dim=1).clamp_min(1e-12)
    scale = (amax / qmax).to(torch.float32)
    zero = torch.zeros(rows.shape[0], dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(rows, scale, zero, 0, -qmax, qmax)


def int8_per_channel(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric int8, one scale per output channel (TensorRT / ONNX Runtime default for weights)."""
    return _symmetric_per_channel(_as_rows(weight), 8).reshape(weight.shape)


def int8_per_tensor(weight: torch.Tensor, amax: float | None = None) -> torch.Tensor:
    """Symmetric int8, one scale for the whole tensor (``amax``: its max magnitude, if known)."""
    w = weight.detach().to(torch.float32)
    amax = (float(w.abs().max()) if amax is None else amax) or 1e-12
    return torch.fake_quantize_per_tensor_affine(w, amax / 127.0, 0, -127, 127)


def fp8_e4m3(x: torch.Tensor, amax: float | None = None) -> torch.Tensor:
    """Per-tensor scaled float8 e4m3: scale so that the largest magnitude lands on 448, cast, cast back."""
    x = x.detach().to(torch.float32)
    amax = float(x.abs().max()) if amax is None else amax
    scale = (amax / FP8_E4M3_MAX) if amax > 0 else 1.0
    scaled = (x / scale).clamp(-FP8_E4M3_MAX, FP8_E4M3_MAX)
    return scaled.to(torch.float8_e4m3fn).to(torch.float32) * scale


def _padded_groups(rows: torch.Tensor, group: int) -> tuple[torch.Tensor, int]:
    """Rows cut into groups of ``group`` along the input dimension, zero-padded at the end."""
    pad = (-rows.shape[1]) % group
    if pad:
        rows = torch.nn.functional.pad(rows, (0, pad))
    return rows.reshape(-1, group), pad


def grouped_int4(weight: torch.Tensor, group: int) -> torch.Tensor:
    """Asymmetric 4-bit per group of ``group`` input weights (AWQ/GPTQ-style w4a16)."""
    rows = _as_rows(weight)
    groups, pad = _padded_groups(rows, group)
    low = groups.amin(dim=1).clamp_max(0.0)
    high = groups.amax(dim=1).clamp_min(0.0)
    scale = ((high - low) / 15.0).clamp_min(1e-12)
    zero = torch.round(-low / scale).clamp(0, 15).to(torch.int32)
    q = torch.fake_quantize_per_channel_affine(groups, scale.to(torch.float32), zero, 0, 0, 15)
    q = q.reshape(rows.shape[0], -1)
    if pad:
        q = q[:, : rows.shape[1]]
    return q.reshape(weight.shape)


def _fp16(values: torch.Tensor) -> torch.Tensor:
    return values.to(torch.float16).to(torch.float32)


def gguf_q8_0(weight: torch.Tensor) -> torch.Tensor:
    """GGUF Q8_0: blocks of 32 along each row, fp16 scale amax/127, q in [-127, 127]."""
    rows = _as_rows(weight)
    blocks, pad = _padded_groups(rows, GGUF_BLOCK)
    d = _fp16(blocks.abs().amax(dim=1, keepdim=True) / 127.0)
    safe = torch.where(d > 0, d, torch.ones_like(d))
    q = torch.round(blocks / safe).clamp(-127, 127) * d
    q = q.reshape(rows.shape[0], -1)
    return (q[:, : rows.shape[1]] if pad else q).reshape(weight.shape)


def gguf_q4_k(weight: torch.Tensor) -> torch.Tensor:
    """GGUF Q4_K: super-blocks of 256 = 8 blocks of 32; per block a 6-bit scale and 6-bit min
    (quantized against the super-block's fp16 ``d`` and ``dmin``); weights 4-bit in [0, 15]."""
    rows = _as_rows(weight)
    supers, pad = _padded_groups(rows, GGUF_SUPER_BLOCK)
    blocks = supers.reshape(supers.shape[0], GGUF_SUPER_BLOCK // GGUF_BLOCK, GGUF_BLOCK)
    low = blocks.amin(dim=2).clamp_max(0.0)  # llama.cpp keeps the block's min at or below zero
    high = blocks.amax(dim=2)
    block_scale = ((high - low) / 15.0).clamp_min(0.0)
    block_min = -low  # subtracted offset, >= 0
    d = _fp16(block_scale.amax(dim=1, keepdim=True) / 63.0)
    dmin = _fp16(block_min.amax(dim=1, keepdim=True) / 63.0)
    sc = torch.round(block_scale / torch.where(d > 0, d, torch.ones_like(d))).clamp(0, 63)
    m = torch.round(block_min / torch.where(dmin > 0, dmin, torch.ones_like(dmin))).clamp(0, 63)
    step = (d * sc).unsqueeze(2)
    offset = (dmin * m).unsqueeze(2)
    safe_step = torch.where(step > 0, step, torch.ones_like(step))
    q = torch.round((blocks + offset) / safe_step).clamp(0, 15)
    decoded = (step * q - offset).reshape(rows.shape[0], -1)
    return (decoded[:, : rows.shape[1]] if pad else decoded).reshape(weight.shape)


# --------------------------------------------------------------------------- registry


def _fp8_weight(weight: torch.Tensor) -> torch.Tensor:
    return fp8_e4m3(weight)


def _build(name: str, group_size: int) -> QuantScheme:
    if name == "int8":
        return QuantScheme("int8", "int8 w8a8: weights per channel, inputs per tensor (calibrated)", 8.0,
                           int8_per_channel, "int8", "int8")
    if name == "int8-tensor":
        return QuantScheme("int8-tensor", "int8 w8a8: weights and inputs per tensor", 8.0,
                           int8_per_tensor, "int8", "int8", per_tensor_weight=True)
    if name == "fp8":
        return QuantScheme("fp8", "fp8 e4m3 w8a8: per-tensor scales", 8.0, _fp8_weight, "fp8", "fp8",
                           per_tensor_weight=True)
    if name == "w8a16":
        return QuantScheme("w8a16", "int8 weights per channel, 16-bit activations", 8.0,
                           int8_per_channel, None, "w8a16")
    if name == "w4a16":
        return QuantScheme("w4a16", f"int4 weights, groups of {group_size}, 16-bit activations",
                           4.0 + 32.0 / group_size, lambda w: grouped_int4(w, group_size), None, "w4a16")
    if name == "q8_0":
        return QuantScheme("q8_0", "GGUF Q8_0: blocks of 32, fp16 scale", 8.5, gguf_q8_0, None, "w8a16")
    if name == "q4_k_m":
        return QuantScheme("q4_k_m", "GGUF Q4_K (k-quants): 256-weight super-blocks, 6-bit block scales/mins",
                           4.5, gguf_q4_k, None, "w4a16")
    raise unknown_name("scheme", name, SCHEME_NAMES)


SCHEME_NAMES: tuple[str, ...] = ("int8", "int8-tensor", "fp8", "w8a16", "w4a16", "q8_0", "q4_k_m")
DEFAULT_SCHEMES: tuple[str, ...] = ("int8", "fp8", "w8a16", "w4a16")


def get_scheme(name: str, *, group_size: int = DEFAULT_GROUP_SIZE) -> QuantScheme:
    """A scheme by name (``int8``, ``int8-tensor``, ``fp8``, ``w8a16``, ``w4a16``, ``q8_0``, ``q4_k_m``)."""
    if not isinstance(group_size, int) or group_size < 2:
        raise InputError(f"invalid --group-size {group_size!r}: expected an integer of at least 2")
    return _build(name.strip(), group_size)


def parse_schemes(text: str, *, group_size: int = DEFAULT_GROUP_SIZE) -> list[QuantScheme]:
    """``"int8,fp8"`` -> schemes, in order, without duplicates; unknown names are InputErrors."""
    names = comma_list([text])
    if not names:
        raise InputError("--schemes is empty: expected e.g. int8,fp8,w8a16,w4a16")
    return [get_scheme(name, group_size=group_size) for name in dict.fromkeys(names)]


def weight_sqnr_db(weight: torch.Tensor, scheme: QuantScheme) -> float:
    """Signal-to-quantization-noise ratio of one weight tensor under ``scheme``, in dB."""
    w = weight.detach().to(torch.float32)
    noise = (scheme.quantize_weight(w) - w).pow(2).sum().item()
    return sqnr_db(w.pow(2).sum().item(), noise)


def sqnr_db(signal_power: float, noise_power: float) -> float:
    """10 log10(signal / noise); +inf when quantization was exact."""
    import math

    if noise_power <= 0.0:
        return math.inf
    if signal_power <= 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_power / noise_power)
