"""Byte widths per scheme: the numbers every traffic figure is derived from."""

import pytest

from advisor.errors import InputError
from advisor.precision import SCHEMES, scheme


@pytest.mark.parametrize(
    ("name", "weight", "activation", "compute"),
    [
        ("fp32", 4, 4, "fp32"),
        ("tf32", 4, 4, "tf32"),
        ("fp16", 2, 2, "fp16"),
        ("bf16", 2, 2, "bf16"),
        ("fp8", 1, 1, "fp8"),
        ("int8", 1, 1, "int8"),
        ("w8a16", 1, 2, "fp16"),
        # 4-bit values + one fp16 scale per group of 128: 0.5 + 2/128
        ("w4a16", 0.5 + 2 / 128, 2, "fp16"),
    ],
)
def test_scheme_byte_widths(name: str, weight: float, activation: float, compute: str) -> None:
    s = scheme(name)
    assert (s.weight_bytes, s.activation_bytes, s.compute) == (weight, activation, compute)
    assert s.weight_only == name.startswith("w")


def test_every_scheme_is_known() -> None:
    assert set(SCHEMES) == {"fp32", "tf32", "fp16", "bf16", "fp8", "int8", "w8a16", "w4a16",
                            "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"}


def test_unknown_scheme_names_nearest() -> None:
    with pytest.raises(InputError, match="int8"):
        scheme("int9")


def test_plain_int4_is_a_storage_width_but_not_a_scheme() -> None:
    from advisor.precision import storage

    s = storage("int4")
    assert (s.weight_bytes, s.activation_bytes) == (0.5, 0.5)
    assert storage("w4a16") == scheme("w4a16")
    with pytest.raises(InputError):
        scheme("int4")
    with pytest.raises(InputError, match="int4"):
        storage("int5")


def test_w4a16_group_scales_of_a_4096_square_linear() -> None:
    """4096x4096 weights at w4a16, groups of 128 with fp16 scales: half a byte per weight plus
    one 2-byte scale per 128 weights (hand-computed)."""
    weights = 4096 * 4096
    expected = weights / 2 + weights / 128 * 2
    assert weights * scheme("w4a16").weight_bytes == expected == 8_650_752


def test_group_size_and_zero_points_come_from_the_config(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "q.yaml"
    cfg.write_text("schemes:\n  w4a16: {group_size: 64, scale: fp16, zero_point: int4}\n"
                   "  q8_0: {bits_per_weight: 8.5}\n  q6_k: {bits_per_weight: 6.5625}\n"
                   "  q5_k_m: {bits_per_weight: 5.68}\n  q4_k_m: {bits_per_weight: 4.84}\n"
                   "  q4_0: {bits_per_weight: 4.5}\n")
    monkeypatch.setenv("ADVISOR_QUANTIZATION_CONFIG", str(cfg))
    # 0.5 byte value + (2-byte scale + 0.5-byte packed zero point) per 64 weights
    assert scheme("w4a16").weight_bytes == 0.5 + 2.5 / 64
    assert scheme("w8a16").weight_bytes == 1.0  # not in this file: per channel, no metadata


@pytest.mark.parametrize("text,field", [
    ("schemes:\n  w4a16: {group_size: 0}\n", "schemes.w4a16.group_size"),
    ("schemes:\n  w4a16: {scale: fp12}\n", "schemes.w4a16.scale"),
    ("schemes:\n  w5a16: {group_size: 64}\n", "schemes.w5a16"),
    ("schemes:\n  q4_0: {group_size: 32}\n", "schemes.q8_0.bits_per_weight"),
])
def test_a_bad_layout_names_the_field(tmp_path, monkeypatch, text: str, field: str) -> None:
    cfg = tmp_path / "q.yaml"
    cfg.write_text(text)
    monkeypatch.setenv("ADVISOR_QUANTIZATION_CONFIG", str(cfg))
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        scheme("fp16")


@pytest.mark.parametrize(("name", "bits"), [
    # ggml block layouts: q8_0 = fp16 scale + 32 int8 in 34 bytes per 32 weights;
    # q4_0 = fp16 scale + 16 bytes per 32; q6_K = 210 bytes per 256
    ("q8_0", 34 * 8 / 32), ("q4_0", 18 * 8 / 32), ("q6_k", 210 * 8 / 256),
    # mixes: llama.cpp tools/quantize/README.md, Llama 2 7B
    ("q5_k_m", 5.68), ("q4_k_m", 4.84),
])
def test_gguf_bits_per_weight(name: str, bits: float) -> None:
    s = scheme(name)
    assert s.weight_bytes * 8 == pytest.approx(bits)
    assert s.family == "gguf" and s.weight_only and s.compute == "fp16"


def test_kv_cache_default_is_16_bit_whatever_the_weights() -> None:
    from advisor.precision import default_kv_cache, kv_cache_bytes

    assert [default_kv_cache(s) for s in ("fp8", "int8", "w4a16", "q4_k_m", "bf16", "fp32")] == \
        ["fp16", "fp16", "fp16", "fp16", "bf16", "fp32"]
    assert kv_cache_bytes("int8") == 2.0
    assert kv_cache_bytes("fp16", "fp8") == 1.0
    assert kv_cache_bytes("fp16", "int4") == 0.5
    with pytest.raises(InputError, match="KV-cache dtype 'fp7'"):
        kv_cache_bytes("fp16", "fp7")
