"""benchmarks/model_residuals.py: agreement of two campaigns' per-model errors, checked by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.model_residuals import MIN_SHARED, agreements  # noqa: E402

SETTING = ("jetson-agx-xavier", "tensorrt", "fp16")
MODELS = [f"m{i}" for i in range(MIN_SHARED)]


def test_two_campaigns_that_see_the_same_per_model_error_agree_fully() -> None:
    """Campaign b runs every model 1.5x slower than a (its own board bias): the per-model pattern is
    the same, so correlation 1 and the whole scatter is shared."""
    a = {m: r for m, r in zip(MODELS, (0.6, 0.8, 1.0, 1.6, 2.4))}
    b = {m: 1.5 * r for m, r in a.items()}
    (agreement,) = agreements({SETTING: {"a": a, "b": b}})[SETTING]
    assert agreement.sources == ("a", "b") and agreement.models == tuple(MODELS)
    assert agreement.correlation == pytest.approx(1.0)
    assert agreement.shared_share == pytest.approx(1.0)


def test_opposite_and_unrelated_patterns() -> None:
    """b = 1 / a: log b = -log a, var(a - b) = 4 var(a) against var(a) + var(b) = 2 var(a): share -1."""
    a = {m: r for m, r in zip(MODELS, (0.5, 0.8, 1.0, 1.25, 2.0))}
    b = {m: 1 / r for m, r in a.items()}
    (opposite,) = agreements({SETTING: {"a": a, "b": b}})[SETTING]
    assert opposite.correlation == pytest.approx(-1.0) and opposite.shared_share == pytest.approx(-1.0)
    # unrelated: log a = (-1, 0, 1, 0, 0) ln2 and log c = (0, 1, 0, -1, 0) ln2 have zero covariance
    a2 = {m: 2.0 ** e for m, e in zip(MODELS, (-1, 0, 1, 0, 0))}
    c = {m: 2.0 ** e for m, e in zip(MODELS, (0, 1, 0, -1, 0))}
    (unrelated,) = agreements({SETTING: {"a": a2, "c": c}})[SETTING]
    # both have variance 0.4 ln2^2; a - c = (-1, -1, 1, 1, 0) ln2 has variance 0.8 ln2^2: share 0
    assert unrelated.correlation == pytest.approx(0.0, abs=1e-12)
    assert unrelated.shared_share == pytest.approx(0.0, abs=1e-12)
    assert math.isclose(unrelated.log_ratios[0][0], -math.log(2))


def test_pairs_need_enough_shared_models() -> None:
    a = {m: 1.0 + i / 10 for i, m in enumerate(MODELS)}
    b = {m: r for m, r in list(a.items())[:-1]} | {"other": 1.0}
    assert agreements({SETTING: {"a": a, "b": b}}) == {}
    assert agreements({SETTING: {"a": a}}) == {}


def test_what_the_other_sources_figures_would_leave() -> None:
    """Campaign b sees a's per-model pattern times 1.5: a per-model figure from b leaves every model
    1.5x off in one direction (an exact 1.5x window of width 1), one median figure leaves the pattern."""
    from benchmarks.model_residuals import median_error, window_80

    a = {m: r for m, r in zip(MODELS, (0.5, 1.0, 1.0, 2.0, 4.0))}
    b = {m: 1.5 * r for m, r in a.items()}
    (agreement,) = agreements({SETTING: {"a": a, "b": b}})[SETTING]
    per_model = agreement.transfer(per_model=True)
    assert per_model == pytest.approx([-math.log(1.5)] * 5 + [math.log(1.5)] * 5)
    # a's models predicted 1.5x too slow (|error| 0.5), b's 1/1.5 too fast (|error| 1/3): median of ten
    assert median_error(per_model) == pytest.approx((0.5 + 1 / 3) / 2)
    assert window_80(per_model) == pytest.approx(1.5 ** 2)  # 8 of 10: must span both signs
    # one figure: a's models against b's median ratio (1.5) and b's against a's (1.0): the pattern stays
    platform = agreement.transfer(per_model=False)
    assert sorted(platform[:5]) == pytest.approx(sorted(math.log(r / 1.5) for r in a.values()))
    assert window_80(platform) > window_80(per_model)
