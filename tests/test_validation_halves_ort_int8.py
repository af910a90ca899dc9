"""`advisor fit` on half of the stored CPU validation measurements (onnxruntime int8 included)
improves the other half's error, for every halving docs/validation.md lists: by model, by row,
by batch, both ways round. Runs the predictor on benchmarks/data/validation-cpu.json."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "validation-cpu.json"


@pytest.fixture(scope="module")
def halves():
    sys.path.insert(0, str(ROOT))
    from benchmarks.fit import validation_halves

    return validation_halves(DATA)


def test_six_halvings_both_ways_round(halves) -> None:
    assert [h.split for h in halves] == ["by model"] * 2 + ["by row"] * 2 + ["by batch"] * 2


def test_fit_on_one_half_improves_the_other(halves) -> None:
    for h in halves:
        assert h.other_after < h.other_before, (h.split, h.fit_on, h.other_before, h.other_after)


def test_fit_accepts_what_carries_over(halves) -> None:
    # advisor fit's own leave-one-model-out check on the half it fits agrees with the outcome
    assert all(h.accepted for h in halves)
    assert statistics.median(h.other_after for h in halves) < statistics.median(h.other_before for h in halves)
