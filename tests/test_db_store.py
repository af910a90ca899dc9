"""The two Store implementations answer alike; open_store picks the right one;
profile_for looks the cache up once and writes zoo models back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor.db.sqlite_store import SqliteStore
from advisor.db.store import open_store
from advisor.domain.specs import CalibrationSpec
from advisor.errors import InputError
from db_samples import make_platform


def _cal(platform: str, framework: str | None, when: str, bw: float) -> CalibrationSpec:
    return CalibrationSpec(platform_id=platform, framework_id=framework, measured_at=when, method="test",
                           tool_version="0", matmul_tflops={"fp32": 1.5}, bandwidth_gbs=bw,
                           utilisation_curve=[(10.0, 0.1), (1e6, 0.9)])


def test_sqlite_store_reads_like_database(db, isolated_db) -> None:
    if not isolated_db.startswith("sqlite"):
        pytest.skip("the standard-library store exists for SQLite files only")
    db.add_platforms([make_platform("user-box")])
    db.add_calibration(_cal("h200", None, "2026-01-01T00:00:00Z", 100))
    db.add_calibration(_cal("h200", None, "2026-02-01T00:00:00Z", 200))
    db.add_calibration(_cal("h200", "pytorch", "2026-01-15T00:00:00Z", 300))
    db.put_cached_profile("profile/x", '{"a": 1}')
    fast = open_store(isolated_db, readonly=True)
    assert isinstance(fast, SqliteStore)
    assert fast.list_platforms() == db.list_platforms()
    assert fast.list_platforms("cpu") == db.list_platforms("cpu")
    assert "user-box" in [p.id for p in fast.list_platforms("cpu")]
    assert all(p.device_class == "datacenter_gpu" for p in fast.list_platforms("datacenter_gpu"))
    assert fast.list_frameworks() == db.list_frameworks()
    assert fast.platform_origins() == db.platform_origins()
    assert fast.platform_origins()["user-box"] == "user" and fast.platform_origins()["h200"] == "seed"
    assert fast.framework_origins() == db.framework_origins()
    assert fast.platform_ids() == db.platform_ids() == sorted(db.platform_ids())
    assert fast.get_platform("h200") == db.get_platform("h200")
    assert fast.get_framework("vllm") == db.get_framework("vllm")
    # newest framework record first, else the newest framework-independent one
    assert fast.latest_calibration("h200", "pytorch").bandwidth_gbs == 300
    assert fast.latest_calibration("h200", "tensorrt").bandwidth_gbs == 200
    assert fast.latest_calibration("h200").bandwidth_gbs == 200
    for fw in (None, "pytorch", "tensorrt"):
        assert fast.latest_calibration("h200", fw) == db.latest_calibration("h200", fw)
    assert fast.latest_calibration("t4") is None
    assert fast.answer_state("h200") == db.answer_state("h200")
    assert ("calibrations", "3", None) not in fast.answer_state("h200")  # max(id) is set
    assert [k for k, _, _ in fast.answer_state("nowhere")] == ["calibrations"] + ["framework"] * len(db.framework_ids())
    assert fast.get_cached_profile("profile/x") == '{"a": 1}'
    assert fast.get_cached_profile("profile/y") is None
    fast.put_cached_profile("profile/y", '{"b": 2}')
    assert db.get_cached_profile("profile/y") == '{"b": 2}'
    fast.put_cached_profile("profile/y", '{"b": 3}')
    assert db.get_cached_profile("profile/y") == '{"b": 3}'
    with pytest.raises(InputError, match="unknown platform 'h2000'; did you mean h200"):
        fast.get_platform("h2000")
    with pytest.raises(InputError) as from_db:
        db.get_framework("tensort")
    with pytest.raises(InputError) as from_fast:
        fast.get_framework("tensort")
    assert str(from_fast.value) == str(from_db.value)
    fast.close()


def test_open_store_picks_the_implementation(isolated_db, tmp_path) -> None:
    from advisor.db.database import Database

    writable = open_store(isolated_db)
    assert isinstance(writable, Database)
    writable.close()
    reader = open_store(isolated_db, readonly=True)
    assert isinstance(reader, SqliteStore if isolated_db.startswith("sqlite") else Database)
    reader.close()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = open_store(fresh, readonly=True)  # nothing there yet: Database migrates and seeds it
    assert isinstance(first, Database) and "h200" in first.platform_ids()
    first.close()
    assert SqliteStore.try_open(f"sqlite:///{tmp_path / 'missing.db'}") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert SqliteStore.try_open(f"sqlite:///{empty}") is None


def test_profile_for_reads_the_cache_without_torch(isolated_db, tmp_path) -> None:
    """A cached profile comes back as stored, in a process that never imports torch or
    SQLAlchemy; a miss counts the model and caches it under the workload's key."""
    from advisor.db.profile_cache import profile_for
    from advisor.workload import Workload

    workload = Workload(model="resnet18", batch=2)
    with open_store(isolated_db) as store:
        counted = profile_for(store, workload)
        stored = store.get_cached_profile(workload.profile_cache_key())
    assert stored is not None and json.loads(stored)["batch"] == counted.batch == 2
    assert counted.params == 11_689_512  # torchvision's published parameter count of resnet18
    probe = (
        "import sys\n"
        "from advisor.db.store import open_store\n"
        "from advisor.db.profile_cache import profile_for\n"
        "from advisor.workload import Workload\n"
        f"store = open_store({isolated_db!r}, readonly=True)\n"
        "p = profile_for(store, Workload(model='resnet18', batch=2))\n"
        "heavy = sorted(m for m in ('torch', 'sqlalchemy') if m in sys.modules)\n"
        "print(p.model_dump_json()); print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True).stdout
    payload, heavy = out.strip().splitlines()
    assert json.loads(payload) == json.loads(counted.model_dump_json())
    if isolated_db.startswith("sqlite"):
        assert heavy == "HEAVY="
