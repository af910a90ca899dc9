"""The service's recommend-answer cache: its key must change exactly when a row the answer
depends on changes (on SQLite and, in CI, PostgreSQL), and the LRU must stay bounded."""

from __future__ import annotations

import pytest

from advisor.domain.specs import CalibrationSpec
from advisor.errors import InputError
from advisor.recommend.types import RecommendRequest
from advisor.service.cache import RecommendCache, recommend_key

REQ = RecommendRequest(models=["yolov5s"], target="jetson-nano")


def test_key_follows_the_rows_the_answer_depends_on(db) -> None:
    key = recommend_key(db, REQ)
    assert recommend_key(db, REQ) == key
    assert recommend_key(db, REQ.model_copy(update={"batch": 2})) != key

    # Another platform changing does not touch this answer...
    t4 = db.get_platform("t4")
    db.upsert_platform(t4.model_copy(update={"name": "T4 (edited)"}))
    assert recommend_key(db, REQ) == key

    # ...the target, any framework, or a calibration of the target do.
    nano = db.get_platform("jetson-nano")
    db.upsert_platform(nano.model_copy(update={"name": "Nano (edited)"}))
    key2 = recommend_key(db, REQ)
    assert key2 != key
    db.add_frameworks([db.get_framework("tensorrt")], replace=True)
    key3 = recommend_key(db, REQ)
    assert key3 != key2
    db.add_calibration(CalibrationSpec(platform_id="t4", measured_at="2026-11-29T00:00:00Z", method="test", tool_version="0"))
    assert recommend_key(db, REQ) == key3
    db.add_calibration(CalibrationSpec(platform_id="jetson-nano", measured_at="2026-11-29T00:00:00Z", method="test", tool_version="0"))
    assert recommend_key(db, REQ) != key3


def test_unknown_target_is_the_databases_input_error(db) -> None:
    with pytest.raises(InputError, match="unknown platform 'jetson-nanoo'; did you mean jetson-nano"):
        recommend_key(db, REQ.model_copy(update={"target": "jetson-nanoo"}))


def test_lru_is_bounded_by_entries_and_bytes() -> None:
    cache = RecommendCache(max_entries=2, max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"90")
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"90"
    cache.put("d", b"123456789")  # 9 bytes: a and c must go to stay within 10
    assert len(cache) == 1 and cache.get("d") == b"123456789"
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None
    assert RecommendCache(max_entries=0).get("x") is None
