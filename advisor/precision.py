"""Precisions and quantization schemes, and the byte widths they imply.

A Profile stores element counts per tensor role; this module turns them into bytes for
any scheme without tracing again. No torch import here: the database and service use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

#: element types a peak, a tensor or a kernel can have (the one list; types and tuples derive from it)
Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"]
#: deployable quantization schemes (weights x activations x compute), in the order they are listed
Scheme = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "w8a16", "w4a16"]

PRECISIONS: tuple[str, ...] = get_args(Precision)
SCHEMES: tuple[str, ...] = get_args(Scheme)

#: Storage bytes per element. tf32 is a compute mode on fp32 storage.
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}


@dataclass(frozen=True)
class SchemeSpec:
    """How a quantization scheme stores weights and activations and where it computes.

    ``compute`` is the precision whose peak the matmul-class kernels run at: weight-only
    schemes dequantize low-bit weights and compute in fp16.
    """

    name: str
    weight: str
    activation: str
    compute: str

    @property
    def weight_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.weight]

    @property
    def activation_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.activation]

    @property
    def weight_only(self) -> bool:
        return self.weight != self.activation and self.compute == self.activation


_SCHEMES: dict[str, SchemeSpec] = {
    "fp32": SchemeSpec("fp32", "fp32", "fp32", "fp32"),
    "tf32": SchemeSpec("tf32", "tf32", "tf32", "tf32"),
    "fp16": SchemeSpec("fp16", "fp16", "fp16", "fp16"),
    "bf16": SchemeSpec("bf16", "bf16", "bf16", "bf16"),
    "fp8": SchemeSpec("fp8", "fp8", "fp8", "fp8"),
    "int8": SchemeSpec("int8", "int8", "int8", "int8"),
    "w8a16": SchemeSpec("w8a16", "int8", "fp16", "fp16"),
    "w4a16": SchemeSpec("w4a16", "int4", "fp16", "fp16"),
}


def scheme(name: str) -> SchemeSpec:
    """Look a scheme up by name; a plain precision name (``int4``) is not a scheme."""
    from advisor.errors import unknown_name

    try:
        return _SCHEMES[name]
    except KeyError:
        raise unknown_name("precision", name, SCHEMES) from None


def storage(name: str) -> SchemeSpec:
    """Byte widths for a scheme or a plain precision, for traffic figures only.

    ``advisor profile --precision int4`` asks for int4 storage of weights and activations;
    that is a byte width, not a deployable scheme (there is no w4a4 kernel to predict), so
    it is accepted here and nowhere in predict or recommend.
    """
    if name in _SCHEMES:
        return _SCHEMES[name]
    if name in BYTES_PER_ELEMENT:
        return SchemeSpec(name, name, name, name)
    from advisor.errors import unknown_name

    raise unknown_name("precision", name, (*SCHEMES, *PRECISIONS))

