"""Store writes the service and calibrate rely on (issue 14), on SQLite and PostgreSQL.

- the profile cache is bounded: every distinct model/batch/shape added a row forever;
- `upsert_platform` says whether it created the id, decided inside the write, so racing
  creators of one id learn "created" exactly once (the service's PUT answers 201 once);
- `record_calibration` writes a platform and its records together.
"""

from __future__ import annotations

import threading

import pytest

from db_samples import make_platform


def test_the_profile_cache_keeps_the_newest_rows(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_PROFILE_CACHE_ROWS", "3")
    for i in range(6):
        db.put_cached_profile(f"profile/test/m{i}", f'{{"n": {i}}}')
    kept = [i for i in range(6) if db.get_cached_profile(f"profile/test/m{i}") is not None]
    assert kept == [3, 4, 5]
    db.put_cached_profile("profile/test/m4", '{"n": 44}')  # overwriting makes m4 the newest
    assert db.get_cached_profile("profile/test/m4") == '{"n": 44}'
    db.put_cached_profile("profile/test/m6", '{"n": 6}')
    db.put_cached_profile("profile/test/m7", '{"n": 7}')  # evicts m3, then m5 (older than the new m4)
    assert [i for i in range(8) if db.get_cached_profile(f"profile/test/m{i}") is not None] == [4, 6, 7]


def test_upsert_says_whether_it_created(db) -> None:
    assert db.upsert_platform(make_platform("fresh-box")) is True
    assert db.upsert_platform(make_platform("fresh-box", bandwidth=7.0)) is False
    assert db.get_platform("fresh-box").memory.bandwidth_gbs.value == 7.0


def test_racing_creators_of_one_id_learn_created_once(isolated_db: str) -> None:
    from advisor.db import Database

    stores = [Database.open(isolated_db) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def create(store) -> None:
        barrier.wait()
        results.append(store.upsert_platform(make_platform("raced-box")))

    threads = [threading.Thread(target=create, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [False] * 5 + [True]


def test_record_calibration_writes_platform_and_records_together(db) -> None:
    from advisor.domain.specs import CalibrationSpec

    rec = CalibrationSpec(platform_id="cal-box", measured_at="2026-12-01T00:00:00+00:00", method="test",
                          tool_version="test", matmul_tflops={"fp32": 0.3}, bandwidth_gbs=10.0)
    db.record_calibration(make_platform("cal-box"), [rec, rec.model_copy(update={"framework_id": "pytorch"})])
    assert db.get_platform("cal-box").id == "cal-box"
    assert db.latest_calibration("cal-box", "pytorch").framework_id == "pytorch"
    assert db.latest_calibration("cal-box").framework_id is None
