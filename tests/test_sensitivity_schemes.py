"""The quantizers against hand-computed grids and textbook noise figures."""

from __future__ import annotations

import math

import pytest
import torch

from advisor.errors import InputError
from advisor.sensitivity.schemes import (
    SCHEME_NAMES,
    fp8_e4m3,
    get_scheme,
    gguf_q4_k,
    gguf_q8_0,
    grouped_int4,
    int8_per_channel,
    int8_per_tensor,
    parse_schemes,
    sqnr_db,
    weight_sqnr_db,
)


def fp16(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float16))


def test_int8_per_tensor_on_a_full_scale_uniform_signal_gives_the_textbook_sqnr():
    # Uniform signal over [-1, 1] (power 1/3), step 2/254, noise step^2/12: SQNR = 10 log10(4 * 127^2) = 48.1 dB.
    x = torch.rand(400_000, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x[0], x[1] = -1.0, 1.0
    measured = sqnr_db(x.pow(2).sum().item(), (int8_per_tensor(x) - x).pow(2).sum().item())
    assert measured == pytest.approx(10 * math.log10(4 * 127**2), abs=0.1)


def test_int8_per_channel_uses_one_scale_per_row():
    w = torch.tensor([[1.0, 0.5, -0.26], [100.0, 40.0, 0.3]])
    q = int8_per_channel(w)
    # Row 0: step 1/127; row 1: step 100/127, so 0.3 rounds to 0 and 40 to 51 steps (40.157).
    assert q[0].tolist() == pytest.approx([1.0, round(0.5 * 127) / 127, round(-0.26 * 127) / 127], abs=1e-6)
    assert q[1].tolist() == pytest.approx([100.0, 51 * 100 / 127, 0.0], abs=1e-4)
    # Per tensor the first row falls onto the coarse grid and mostly vanishes.
    assert int8_per_tensor(w)[0].tolist() == pytest.approx([100 / 127, 100 / 127, 0.0], abs=1e-5)


def test_fp8_e4m3_rounds_to_three_mantissa_bits_after_scaling():
    x = torch.tensor([448.0, 1.1, 0.25, -3.3])
    # amax 448: scale 1. Between 1 and 2 the e4m3 step is 1/8 -> 1.1 -> 1.125; between 2 and 4 it is 1/4 -> 3.25.
    assert fp8_e4m3(x).tolist() == [448.0, 1.125, 0.25, -3.25]
    # Scaled: amax 896 -> scale 2; 1.1/2 = 0.55 -> step 1/16 in [0.5, 1) -> 0.5625 -> 1.125.
    assert fp8_e4m3(torch.tensor([896.0, 1.1])).tolist() == [896.0, 1.125]


def test_grouped_int4_uses_an_affine_grid_per_group():
    row = torch.tensor([[0.0, 1.0, 2.0, 15.0, -3.0, 0.0, 0.0, 12.0]])
    q = grouped_int4(row, 4)
    # Group 1: [0, 15], step 1: exact. Group 2: [-3, 12], step 1, zero point 3: exact too.
    assert q.tolist() == row.tolist()
    # One group of 8 over [-3, 15]: step 18/15 = 1.2, zero point round(3/1.2) = 2 (2.5 rounds to even).
    q8 = grouped_int4(row, 8)
    step, zero = 1.2, 2
    expected = [(min(15, max(0, round(v / step) + zero)) - zero) * step for v in row[0].tolist()]
    assert q8[0].tolist() == pytest.approx(expected, abs=1e-5)


def test_q8_0_blocks_of_32_with_fp16_scales():
    block = torch.arange(-16, 16, dtype=torch.float32) * 3.0  # amax 48
    other = torch.full((32,), 0.001)
    w = torch.cat([block, other]).reshape(1, 64)
    d = fp16(48.0 / 127)
    expected_block = [max(-127, min(127, round(v / d))) * d for v in block.tolist()]
    q = gguf_q8_0(w)[0]
    assert q[:32].tolist() == pytest.approx(expected_block, rel=1e-6)
    # The second block has its own scale: tiny values survive (they would vanish with one scale per row).
    assert q[32:].tolist() == pytest.approx(other.tolist(), rel=1e-2)


def test_q4_k_super_block_scales_are_6_bit_multiples_of_an_fp16_d():
    # Block 0 holds 0..15 twice (scale 1, min 0); the other 7 blocks are zeros (scale 0).
    w = torch.zeros(256)
    w[:32] = torch.arange(32, dtype=torch.float32) % 16
    d = fp16(1.0 / 63)  # largest block scale / 63, stored as fp16
    step = d * 63  # the block's 6-bit scale is round(1 / d) = 63
    expected = torch.round(w[:32] / step).clamp(0, 15) * step
    q = gguf_q4_k(w.reshape(1, 256))[0]
    assert q[:32].tolist() == pytest.approx(expected.tolist(), rel=1e-6)
    assert q[32:].abs().max() == 0.0


def test_q4_k_negative_block_uses_the_6_bit_min():
    w = torch.zeros(256)
    w[:16] = torch.arange(-8, 8, dtype=torch.float32)  # block 0: min -8, max 7, scale 1
    q = gguf_q4_k(w.reshape(1, 256))[0]
    d, dmin = fp16(1.0 / 63), fp16(8.0 / 63)
    step, offset = d * 63, dmin * 63
    expected = (torch.round((w[:32] + offset) / step).clamp(0, 15) * step - offset)
    assert q[:32].tolist() == pytest.approx(expected.tolist(), abs=1e-5)
    assert (q[:16] - w[:16]).abs().max() < 0.02


def test_bits_order_and_known_sqnr_order_on_gaussian_weights():
    w = torch.randn(256, 512, generator=torch.Generator().manual_seed(0))
    sqnr = {name: weight_sqnr_db(w, get_scheme(name)) for name in SCHEME_NAMES}
    # More bits, less noise: 8-bit formats well above fp8 (3 mantissa bits, about 31 dB) above 4-bit.
    assert min(sqnr["int8"], sqnr["w8a16"], sqnr["q8_0"], sqnr["int8-tensor"]) > 36.0
    assert 28.0 < sqnr["fp8"] < 34.0
    assert max(sqnr["w4a16"], sqnr["q4_k_m"]) < 24.0 < min(sqnr["w4a16"], sqnr["q4_k_m"]) + 6
    assert get_scheme("w4a16", group_size=32).bits == pytest.approx(5.0)
    assert get_scheme("q4_k_m").bits == 4.5


def test_scheme_names_are_checked():
    assert [s.name for s in parse_schemes("int8, fp8,int8")] == ["int8", "fp8"]
    with pytest.raises(InputError, match="unknown scheme 'int3'"):
        parse_schemes("int8,int3")
    with pytest.raises(InputError, match="--schemes is empty"):
        parse_schemes(" , ")
    with pytest.raises(InputError, match="--group-size"):
        get_scheme("w4a16", group_size=1)
