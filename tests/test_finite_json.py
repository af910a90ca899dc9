"""advisor.finite_json: JSON output never carries NaN or Infinity (issue 14, finding 2).

`bandwidth_gbs: 5e-324` once made recommend print `"latency_ms": Infinity`, which no JSON
parser accepts. The ranges in advisor/domain/specs.py stop such figures at the door; this
guard is the last line: the CLI's json output names the field instead of writing it.
"""

from __future__ import annotations

import json
import math

import pytest

from advisor.errors import InputError
from advisor.finite_json import dumps, first_non_finite, first_non_finite_in_json


def test_the_first_non_finite_number_is_named_by_its_path() -> None:
    data = {"target": "t4", "candidates": [{"latency_ms": 3.0}, {"latency_ms": math.inf, "memory_mb": math.nan}]}
    assert first_non_finite(data) == ("candidates[1].latency_ms", math.inf)
    assert first_non_finite({"a": [1, 2.5, {"b": "NaN"}]}) is None  # a string is not a number


def test_dumps_refuses_with_one_line() -> None:
    with pytest.raises(InputError) as info:
        dumps({"candidates": [{"latency_ms": math.nan}]}, "recommendation", indent=2)
    assert str(info.value).startswith("recommendation: candidates[0].latency_ms is nan, not a finite number")
    assert "\n" not in str(info.value)
    text = dumps({"latency_ms": 1.5, "name": "Infinity board"}, indent=2)
    assert json.loads(text) == {"latency_ms": 1.5, "name": "Infinity board"}


def test_json_text_from_elsewhere_is_checked() -> None:
    assert first_non_finite_in_json('{"name": "NaN board"}') is None  # the letters in a string only
    assert first_non_finite_in_json('{"a": [1.5, {"x": -Infinity}]}') == ("a[1].x", -math.inf)
    found = first_non_finite_in_json(b'{"name": "Infinity board", "latency_ms": NaN}')  # an answer's bytes
    assert found is not None and found[0] == "latency_ms" and math.isnan(found[1])
    with pytest.raises(ValueError):
        first_non_finite_in_json(b"NaN, not JSON")


def test_predict_json_goes_through_the_guard() -> None:
    from advisor.predict.command import to_json
    from advisor.predict.types import Prediction

    fields = dict(model="resnet18", target="t4", framework="tensorrt", precision="fp16", batch=1,
                  bound="memory", memory_mb=50.0, flops=3_628_000_000, macs=1_814_000_000, params=11_689_512)
    ok = Prediction(latency_ms=1.25, throughput_per_s=800.0, **fields)
    assert json.loads(to_json(ok, per_layer=False))["latency_ms"] == 1.25
    broken = Prediction(latency_ms=math.inf, throughput_per_s=0.0, **fields)
    with pytest.raises(InputError, match=r"^prediction: latency_ms is inf, not a finite number"):
        to_json(broken, per_layer=False)
