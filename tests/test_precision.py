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
        ("w4a16", 0.5, 2, "fp16"),
    ],
)
def test_scheme_byte_widths(name: str, weight: float, activation: float, compute: str) -> None:
    s = scheme(name)
    assert (s.weight_bytes, s.activation_bytes, s.compute) == (weight, activation, compute)
    assert s.weight_only == name.startswith("w")


def test_every_scheme_is_known() -> None:
    assert set(SCHEMES) == {"fp32", "tf32", "fp16", "bf16", "fp8", "int8", "w8a16", "w4a16"}


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
