"""Eager PyTorch's host-only costs, as `advisor calibrate` measures and stores them.

The measurement runs here on a tiny budget (a few calls, a few ms): it checks that the
figures come out, in microseconds and in a plausible range, not how fast this machine is
(a full calibrate belongs on a quiet machine)."""

from __future__ import annotations

import math

import pytest

from advisor.domain.specs import CalibrationSpec

TINY = dict(per_point_s=0.02, big_point_s=0.02, bandwidth_elems=1024, overhead_ops=30, sweep_stride=1)


def test_host_only_costs_on_a_tiny_budget() -> None:
    from advisor.measure import microbench as mb

    module_call_us, view_op_us = mb.host_only_costs("cpu", mb.Budget(**TINY))
    for value in (module_call_us, view_op_us):
        # a Python call or a dispatched view: more than 10 ns, far less than a millisecond
        assert math.isfinite(value) and 0.01 < value < 1000


def test_eager_overheads_carry_the_host_only_costs() -> None:
    from advisor.measure import microbench as mb

    o = mb.eager_overheads("cpu", mb.Budget(**TINY))
    assert o.module_call_us > 0 and o.view_op_us > 0 and o.module_op_us > 0
    merged = mb.median_of_rounds([o, o])  # rounds merge field by field
    assert merged.module_call_us == o.module_call_us


def test_calibration_records_round_trip_the_host_costs(db, isolated_db) -> None:
    from advisor.db.store import open_store

    rec = CalibrationSpec(platform_id="h200", framework_id="pytorch", measured_at="2026-12-01T00:00:00Z",
                          method="test", tool_version="0", per_op_overhead_us=12.5, module_call_us=3.25,
                          view_op_us=0.75)
    db.add_calibration(rec)
    for store in (db, open_store(isolated_db, readonly=True)):
        got = store.latest_calibration("h200", "pytorch")
        assert (got.module_call_us, got.view_op_us) == (3.25, 0.75)


@pytest.mark.parametrize("field", ["module_call_us", "view_op_us"])
def test_a_negative_host_cost_is_refused(field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        CalibrationSpec(platform_id="x", measured_at="2026-12-01", method="m", tool_version="0", **{field: -1.0})
