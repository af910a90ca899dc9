"""Precisions and quantization schemes, and the byte widths they imply.

A Profile stores element counts per tensor role; this module turns them into bytes for
any scheme without tracing again. No torch import here: the database and service use it.

A scheme's stored weight width includes its quantization metadata: group-wise schemes read
one scale (and a zero point when asymmetric) per ``group_size`` weights, GGUF formats store
their block scales inside a fixed number of bits per weight. Layouts come from
configs/quantization.yaml (``$ADVISOR_QUANTIZATION_CONFIG``), each with its origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

#: element types a peak, a tensor or a kernel can have (the one list; types and tuples derive from it)
Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"]
#: deployable quantization schemes (weights x activations x compute), in the order they are listed;
#: the q*_ names are GGUF formats, deployable only where a runtime lists them (llama.cpp)
Scheme = Literal[
    "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "w8a16", "w4a16",
    "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0",
]
#: dtypes a KV cache can be stored in (``--kv-cache``)
KvCacheDtype = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]

PRECISIONS: tuple[str, ...] = get_args(Precision)
SCHEMES: tuple[str, ...] = get_args(Scheme)
KV_CACHE_DTYPES: tuple[str, ...] = get_args(KvCacheDtype)
#: GGUF storage formats (llama.cpp): they are schemes of one runtime's file format
GGUF_SCHEMES: tuple[str, ...] = ("q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0")

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

#: quantized value widths that are no element type of their own (GGUF 5- and 6-bit values)
_VALUE_BYTES: dict[str, float] = {"int6": 0.75, "int5": 0.625}

#: Precision families: the classes prediction intervals are kept for (configs/intervals.yaml)
PrecisionFamily = Literal["float", "fp8", "int8", "weight_only", "gguf"]


@dataclass(frozen=True)
class SchemeSpec:
    """How a quantization scheme stores weights and activations and where it computes.

    ``compute`` is the precision whose peak the matmul-class kernels run at: weight-only
    schemes dequantize low-bit weights and compute in fp16. ``weight`` names the element
    type of the quantized values; ``weight_bits``, when set, is the stored bits per weight
    including every scale (GGUF formats). Otherwise group-wise schemes add ``scale_bytes``
    and ``zero_bytes`` per ``group_size`` weights (None: per channel or per tensor, whose
    metadata is under 0.1% of a layer with 1024+ inputs and is not counted).
    """

    name: str
    weight: str
    activation: str
    compute: str
    group_size: int | None = None
    scale_bytes: float = 0.0
    zero_bytes: float = 0.0
    weight_bits: float | None = None

    @property
    def element_weight_bytes(self) -> float:
        """Bytes of one quantized value, without scales or zero points."""
        return {**BYTES_PER_ELEMENT, **_VALUE_BYTES}[self.weight]

    @property
    def metadata_bytes_per_weight(self) -> float:
        """Scale and zero-point bytes per weight (group-wise schemes; inside weight_bits for GGUF)."""
        if self.weight_bits is not None:
            return self.weight_bits / 8 - self.element_weight_bytes
        if not self.group_size:
            return 0.0
        return (self.scale_bytes + self.zero_bytes) / self.group_size

    @property
    def weight_bytes(self) -> float:
        """Stored bytes per weight, metadata included: what a kernel reads from memory."""
        if self.weight_bits is not None:
            return self.weight_bits / 8
        return BYTES_PER_ELEMENT[self.weight] + self.metadata_bytes_per_weight

    @property
    def activation_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.activation]

    @property
    def float_dtype(self) -> str:
        """The model's float dtype under this scheme: what layers a runtime keeps unquantized
        use (16-bit for quantized schemes, the scheme itself for float ones)."""
        if self.activation in ("fp32", "tf32", "fp16", "bf16"):
            return "fp32" if self.activation == "tf32" else self.activation
        return "fp16"

    @property
    def weight_only(self) -> bool:
        return self.weight != self.activation and self.compute == self.activation

    @property
    def gguf(self) -> bool:
        return self.name in GGUF_SCHEMES

    @property
    def family(self) -> str:
        """float, fp8, int8 (w8a8), weight_only (w8a16/w4a16) or gguf."""
        if self.gguf:
            return "gguf"
        if self.weight_only:
            return "weight_only"
        if self.compute in ("fp8", "int8"):
            return self.compute
        return "float"


#: Element type, activation and compute of each scheme; metadata comes from the config.
_BASE: dict[str, tuple[str, str, str]] = {
    "fp32": ("fp32", "fp32", "fp32"),
    "tf32": ("tf32", "tf32", "tf32"),
    "fp16": ("fp16", "fp16", "fp16"),
    "bf16": ("bf16", "bf16", "bf16"),
    "fp8": ("fp8", "fp8", "fp8"),
    "int8": ("int8", "int8", "int8"),
    "w8a16": ("int8", "fp16", "fp16"),
    "w4a16": ("int4", "fp16", "fp16"),
    # GGUF: llama.cpp dequantizes blocks (or quantizes activations to 8-bit blocks for
    # integer dot products) and keeps 16/32-bit activations; priced like weight-only at fp16
    "q8_0": ("int8", "fp16", "fp16"),
    "q6_k": ("int6", "fp16", "fp16"),
    "q5_k_m": ("int5", "fp16", "fp16"),
    "q4_k_m": ("int4", "fp16", "fp16"),
    "q4_0": ("int4", "fp16", "fp16"),
}


def _layout_error(path: object, field: str, value: object, expected: str):
    from advisor.errors import InputError

    return InputError(f"{path}: field '{field}': {value!r} is not {expected}")


@lru_cache(maxsize=4)
def _schemes(path: str) -> dict[str, SchemeSpec]:
    from pathlib import Path

    from advisor.config import load_yaml

    layouts = load_yaml(Path(path)).get("schemes") or {}
    if not isinstance(layouts, dict):
        raise _layout_error(path, "schemes", layouts, "a mapping of scheme -> layout")
    unknown = sorted(set(layouts) - set(SCHEMES))
    if unknown:
        raise _layout_error(path, f"schemes.{unknown[0]}", unknown[0], f"a scheme ({', '.join(SCHEMES)})")
    out: dict[str, SchemeSpec] = {}
    for name, (weight, activation, compute) in _BASE.items():
        layout = layouts.get(name) or {}
        if not isinstance(layout, dict):
            raise _layout_error(path, f"schemes.{name}", layout, "a mapping")
        extra = sorted(set(layout) - {"group_size", "scale", "zero_point", "bits_per_weight", "source"})
        if extra:
            raise _layout_error(path, f"schemes.{name}.{extra[0]}", extra[0], "a layout field")
        group = layout.get("group_size")
        if group is not None and (not isinstance(group, int) or isinstance(group, bool) or group < 1):
            raise _layout_error(path, f"schemes.{name}.group_size", group, "a positive integer or null")
        widths = {k: layout.get(k, "none") for k in ("scale", "zero_point")}
        for key, value in widths.items():
            if value != "none" and value not in BYTES_PER_ELEMENT:
                raise _layout_error(path, f"schemes.{name}.{key}", value, f"none or one of {', '.join(PRECISIONS)}")
        bits = layout.get("bits_per_weight")
        if bits is not None and (isinstance(bits, bool) or not isinstance(bits, (int, float)) or not 1 <= bits <= 32):
            raise _layout_error(path, f"schemes.{name}.bits_per_weight", bits, "a number of bits in [1, 32]")
        out[name] = SchemeSpec(
            name, weight, activation, compute,
            group_size=group,
            scale_bytes=BYTES_PER_ELEMENT.get(widths["scale"], 0.0),
            zero_bytes=BYTES_PER_ELEMENT.get(widths["zero_point"], 0.0),
            weight_bits=float(bits) if bits is not None else None,
        )
    missing = [n for n in GGUF_SCHEMES if out[n].weight_bits is None]
    if missing:
        raise _layout_error(path, f"schemes.{missing[0]}.bits_per_weight", None, "set (GGUF formats need it)")
    return out


def scheme_layouts() -> dict[str, SchemeSpec]:
    """Every scheme with its layout from configs/quantization.yaml (read once per path)."""
    from advisor.config import config_path

    return _schemes(str(config_path("quantization.yaml", "ADVISOR_QUANTIZATION_CONFIG")))


def scheme(name: str) -> SchemeSpec:
    """Look a scheme up by name; a plain precision name (``int4``) is not a scheme."""
    from advisor.errors import unknown_name

    try:
        return scheme_layouts()[name]
    except KeyError:
        raise unknown_name("precision", name, SCHEMES) from None


def storage(name: str) -> SchemeSpec:
    """Byte widths for a scheme or a plain precision, for traffic figures only.

    ``advisor profile --precision int4`` asks for int4 storage of weights and activations;
    that is a byte width, not a deployable scheme (there is no w4a4 kernel to predict), so
    it is accepted here and nowhere in predict or recommend.
    """
    layouts = scheme_layouts()
    if name in layouts:
        return layouts[name]
    if name in BYTES_PER_ELEMENT:
        return SchemeSpec(name, name, name, name)
    from advisor.errors import unknown_name

    raise unknown_name("precision", name, (*SCHEMES, *PRECISIONS))


def default_kv_cache(scheme_name: str) -> str:
    """The KV-cache dtype a runtime uses when none is asked for: the model's 16-bit dtype
    whatever the weight scheme (vLLM ``kv_cache_dtype=auto``, TensorRT-LLM without
    ``--kv_cache_dtype``, llama.cpp ``-ctk f16``), fp32 for fp32/tf32 models, bf16 for bf16.
    An fp8 or int8 cache is an explicit choice (``--kv-cache``), never implied by w8a8/fp8."""
    s = scheme(scheme_name)
    if s.activation in ("fp32", "tf32"):
        return "fp32"
    return "bf16" if s.activation == "bf16" else "fp16"


def kv_cache_bytes(scheme_name: str, kv_cache: str | None = None) -> float:
    """Bytes per cached K/V element: ``kv_cache`` when given (and not "auto"), else the
    scheme's default (``default_kv_cache``). The one width the predictor, the memory
    estimate and the planner use."""
    dtype = default_kv_cache(scheme_name) if kv_cache in (None, "auto") else kv_cache
    if dtype not in KV_CACHE_DTYPES:
        from advisor.errors import unknown_name

        raise unknown_name("KV-cache dtype", str(dtype), ("auto", *KV_CACHE_DTYPES))
    return BYTES_PER_ELEMENT[dtype]
