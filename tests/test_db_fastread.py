"""The stdlib read path answers exactly like Database for what predict/recommend read."""

from __future__ import annotations

from advisor.domain.specs import CalibrationSpec
from advisor.db.fastread import FastDatabase, open_database


def _cal(platform: str, framework: str | None, when: str, bw: float) -> CalibrationSpec:
    return CalibrationSpec(platform_id=platform, framework_id=framework, measured_at=when, method="test",
                           tool_version="0", matmul_tflops={"fp32": 1.5}, bandwidth_gbs=bw,
                           utilisation_curve=[(10.0, 0.1), (1e6, 0.9)])


def test_fast_reads_match_database(db, isolated_db) -> None:
    if not isolated_db.startswith("sqlite"):
        return  # the fast path exists for SQLite files only
    db.add_calibration(_cal("h200", None, "2026-01-01T00:00:00Z", 100))
    db.add_calibration(_cal("h200", None, "2026-02-01T00:00:00Z", 200))
    db.add_calibration(_cal("h200", "pytorch", "2026-01-15T00:00:00Z", 300))
    db.put_cached_profile("profile/x", '{"a": 1}')
    fast = open_database(isolated_db)
    assert isinstance(fast, FastDatabase)
    for fw in (None, "pytorch", "tensorrt"):
        assert fast.latest_calibration("h200", fw) == db.latest_calibration("h200", fw)
    assert fast.latest_calibration("t4") is None
    assert fast.get_platform("h200") == db.get_platform("h200")
    assert [f.id for f in fast.list_frameworks()] == [f.id for f in db.list_frameworks()]
    assert fast.get_cached_profile("profile/x") == '{"a": 1}'
    assert fast.get_cached_profile("profile/y") is None
    fast.put_cached_profile("profile/y", '{"b": 2}')
    assert db.get_cached_profile("profile/y") == '{"b": 2}'
    fast.put_cached_profile("profile/y", '{"b": 3}')
    assert db.get_cached_profile("profile/y") == '{"b": 3}'
