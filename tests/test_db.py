"""The Database API (advisor.db.Database) on SQLite and, in CI, PostgreSQL."""

from __future__ import annotations

import pytest

from advisor.db import Database
from advisor.db.locations import HEAD_REVISION
from advisor.domain.specs import CalibrationSpec
from advisor.errors import InputError
from db_samples import FRAMEWORK_IDS, PLATFORM_IDS, make_platform

def test_seed_has_every_required_id(db: Database) -> None:
    assert sorted(p.id for p in db.list_platforms()) == sorted(PLATFORM_IDS)
    assert sorted(f.id for f in db.list_frameworks()) == sorted(FRAMEWORK_IDS)


def test_h200_dense_figures(db: Database) -> None:
    h200 = db.get_platform("h200")
    assert h200.matrix_peaks["bf16"].value == 989.5  # dense; 1,979 is the sparse headline
    assert h200.sparse_headline["bf16"].value == 1979  # the sparse headline is 2x dense
    assert h200.memory.bandwidth_gbs.value == 4800
    assert h200.memory.capacity_gb.value == 141
    assert h200.peak_tflops("bf16", matmul=True) == 989.5


def test_unknown_ids_suggest_nearest(db: Database) -> None:
    with pytest.raises(InputError, match=r"unknown platform 'h20'.*did you mean h200"):
        db.get_platform("h20")
    with pytest.raises(InputError, match=r"unknown framework 'tensort'.*tensorrt"):
        db.get_framework("tensort")


def test_add_get_remove_platform(db: Database) -> None:
    db.add_platforms([make_platform("lab-box"), make_platform("lab-box-2")])
    assert db.get_platform("lab-box") == make_platform("lab-box")
    assert db.platform_origin("lab-box") == "user"
    with pytest.raises(InputError, match="already exists"):
        db.add_platforms([make_platform("lab-box", bandwidth=5)])
    assert db.get_platform("lab-box").memory.bandwidth_gbs.value == 100
    db.add_platforms([make_platform("lab-box", bandwidth=5)], replace=True)
    assert db.get_platform("lab-box").memory.bandwidth_gbs.value == 5
    db.remove_platform("lab-box")
    with pytest.raises(InputError):
        db.get_platform("lab-box")
    with pytest.raises(InputError, match="unknown platform"):
        db.remove_platform("lab-box")


def test_add_platforms_is_all_or_nothing(db: Database) -> None:
    before = [p.id for p in db.list_platforms()]
    with pytest.raises(InputError, match="already exists"):
        db.add_platforms([make_platform("new-one"), make_platform("h200")])
    assert [p.id for p in db.list_platforms()] == before
    with pytest.raises(InputError, match="given twice"):
        db.add_platforms([make_platform("dup"), make_platform("dup")])
    assert [p.id for p in db.list_platforms()] == before


def test_upsert_platform_local(db: Database) -> None:
    db.upsert_platform(make_platform("local", bandwidth=10))
    db.upsert_platform(make_platform("local", bandwidth=20))
    assert db.get_platform("local").memory.bandwidth_gbs.value == 20


def test_calibrations_latest(db: Database) -> None:
    assert db.latest_calibration("local") is None
    def cal(when: str, framework: str | None, bw: float) -> CalibrationSpec:
        return CalibrationSpec(platform_id="local", framework_id=framework, measured_at=when, method="test",
                               tool_version="0.1.0", matmul_tflops={"fp32": 1.0}, bandwidth_gbs=bw,
                               utilisation_curve=[(1e6, 0.1), (1e9, 0.9)])
    db.add_calibration(cal("2026-11-01T10:00:00+00:00", None, 10))
    db.add_calibration(cal("2026-11-02T10:00:00+00:00", None, 20))
    db.add_calibration(cal("2026-11-03T10:00:00+00:00", "pytorch", 30))
    assert db.latest_calibration("local").bandwidth_gbs == 20  # framework-independent first
    assert db.latest_calibration("local", "pytorch").bandwidth_gbs == 30
    assert db.latest_calibration("local", "tensorrt").bandwidth_gbs == 20  # falls back
    latest = db.latest_calibration("local")
    assert latest.utilisation_curve == [(1e6, 0.1), (1e9, 0.9)]
    assert db.latest_calibration("h200") is None


def test_profile_cache_round_trip(db: Database) -> None:
    key = "resnet50|1x3x224x224|b1|advisor-0.1.0|" + "x" * 3000  # long keys are fine
    assert db.get_cached_profile(key) is None
    db.put_cached_profile(key, '{"flops": 1}')
    assert db.get_cached_profile(key) == '{"flops": 1}'
    db.put_cached_profile(key, '{"flops": 2}')
    assert db.get_cached_profile(key) == '{"flops": 2}'
    assert db.get_cached_profile(key[:-1]) is None


def test_validation_results(db: Database) -> None:
    db.add_validation_results([
        {"model": "resnet50", "batch": 1, "precision": "fp32", "framework": "pytorch", "target": "local",
         "predicted_ms": 12.0, "measured_ms": 10.0, "device": "cpu"},
        {"model": "resnet50", "batch": 8, "precision": "fp32", "framework": "pytorch", "target": "local",
         "predicted_ms": 40.0, "measured_ms": 50.0, "error": -0.2},
    ])
    rows = db.validation_results("local")
    assert [r["batch"] for r in rows] == [1, 8]
    assert rows[0]["error"] == pytest.approx(0.2)
    assert rows[0]["details"] == {"device": "cpu"}
    assert rows[1]["error"] == pytest.approx(-0.2)
    with pytest.raises(InputError, match="missing measured_ms"):
        db.add_validation_results([{"model": "m", "batch": 1, "precision": "fp32", "framework": "f",
                                    "target": "t", "predicted_ms": 1.0}])
    assert len(db.validation_results()) == 2


def test_seed_refresh_keeps_user_rows(db: Database) -> None:
    custom = make_platform("h200", bandwidth=1.0)  # a user row shadowing a seed id
    db.add_platforms([custom], replace=True)
    db.add_platforms([make_platform("mine")])
    db.remove_platform("t4")
    db.upgrade()  # re-applies the seed
    assert db.get_platform("h200") == custom
    assert db.platform_origin("h200") == "user"
    assert db.get_platform("mine") == make_platform("mine")
    assert db.platform_origin("t4") == "seed"  # seed rows come back on upgrade


def test_reopen_is_cheap_and_keeps_rows(isolated_db: str) -> None:
    db = Database.open(isolated_db)
    db.add_platforms([make_platform("kept")])
    db.close()
    again = Database.open(isolated_db)
    assert again.get_platform("kept") == make_platform("kept")
    assert again.revision() == HEAD_REVISION
    again.close()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_db_url: str) -> None:
    db = Database.open(sqlite_db_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    db.close()


def test_default_location_is_the_user_data_dir(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.db.locations import default_sqlite_path, resolve_url

    monkeypatch.delenv("ADVISOR_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_sqlite_path() == tmp_path / "xdg" / "advisor" / "advisor.db"
    assert resolve_url() == f"sqlite:///{tmp_path / 'xdg' / 'advisor' / 'advisor.db'}"
    db = Database.open()
    assert db.location == str(tmp_path / "xdg" / "advisor" / "advisor.db")
    assert (tmp_path / "xdg" / "advisor" / "advisor.db").is_file()
    db.close()
    monkeypatch.setenv("ADVISOR_DB", str(tmp_path / "plain.db"))  # a bare path is a SQLite file
    assert resolve_url() == f"sqlite:///{tmp_path / 'plain.db'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"  # psycopg 3 is the driver
