"""Alembic migrations: a database built at the first revision, holding user rows,
upgrades to head with every row intact; the head constant matches Alembic's; the
migrated schema matches the SQLModel tables; migrations/ is found from a fresh clone."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from advisor.db import Database, migrate
from advisor.db.engine import make_engine
from advisor.db.locations import HEAD_REVISION, REPO_ROOT
from advisor.db.records import platform_columns
from advisor.domain.specs import CalibrationSpec
from advisor.db.tables import SQLModel
from db_samples import make_platform

FIRST = "0001_initial_schema"


def test_head_constant_matches_alembic(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    assert migrate.script_head(engine) == HEAD_REVISION
    engine.dispose()


def _insert_rev1_rows(engine) -> dict:  # noqa: ANN001
    """User rows written the way a version at revision 0001 would have written them."""
    mine = make_platform("my-board", bandwidth=12.5)
    shadow = make_platform("h200", bandwidth=1.0)  # a user row that shadows a seed id
    cal = CalibrationSpec(platform_id="my-board", measured_at="2026-10-01T12:00:00+00:00", method="matmul sweep",
                          tool_version="0.0.9", matmul_tflops={"fp32": 0.9}, bandwidth_gbs=11.0,
                          utilisation_curve=[(1e5, 0.05), (1e8, 0.8)])
    with engine.begin() as conn:
        for spec in (mine, shadow):
            cols = platform_columns(spec.model_dump(mode="json"))
            cols.pop("npu_peaks"), cols.pop("sparse_headline")  # not in revision 0001
            cols.pop("interconnect"), cols.pop("price_per_device_hour")  # 0005 added them
            values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in cols.items()}
            names = ", ".join([*values, "origin", "created_at", "updated_at"])
            binds = ", ".join([f":{k}" for k in values] + ["'user'", "CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"])
            conn.execute(text(f"INSERT INTO platforms ({names}) VALUES ({binds})"), values)
        # revision 1 has no correction columns (0004 added them), no host costs (0006) and no
        # convolution figures (0007)
        calib = cal.model_dump(mode="json", exclude={"corrections", "correction_sources", "module_call_us", "view_op_us",
                                                     "conv_tflops", "conv_utilisation_curve"})
        calib = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in calib.items()}
        names = ", ".join([*calib, "created_at"])
        binds = ", ".join([f":{k}" for k in calib] + ["CURRENT_TIMESTAMP"])
        conn.execute(text(f"INSERT INTO calibrations ({names}) VALUES ({binds})"), calib)
        conn.execute(text("INSERT INTO profile_cache (key_sha256, key, payload, created_at) VALUES (:h, :k, :p, CURRENT_TIMESTAMP)"),
                     {"h": hashlib.sha256(b"resnet50|v0.0.9").hexdigest(), "k": "resnet50|v0.0.9", "p": '{"flops": 8}'})
    return {"mine": mine, "shadow": shadow, "cal": cal}


def test_upgrade_from_first_revision_keeps_user_rows(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, FIRST)
    assert migrate.current_revision(engine) == FIRST
    assert "validation_results" not in inspect(engine).get_table_names()
    rows = _insert_rev1_rows(engine)
    engine.dispose()

    db = Database.open(empty_db_url)  # first use migrates to head and seeds
    assert db.revision() == HEAD_REVISION
    assert db.get_platform("my-board") == rows["mine"]
    assert db.platform_origin("my-board") == "user"
    assert db.get_platform("h200") == rows["shadow"]  # the seed did not overwrite the user's row
    assert db.platform_origin("h200") == "user"
    assert db.latest_calibration("my-board") == rows["cal"]
    assert db.get_cached_profile("resnet50|v0.0.9") == '{"flops": 8}'
    assert db.get_platform("t4").memory.bandwidth_gbs.value == 320  # seed loaded alongside
    # New tables work after the upgrade.
    db.add_validation_results([{"model": "m", "batch": 1, "precision": "fp32", "framework": "pytorch",
                                "target": "my-board", "predicted_ms": 2.0, "measured_ms": 1.0}])
    assert db.validation_results("my-board")[0]["error"] == pytest.approx(1.0)
    db.close()


def test_migrated_schema_matches_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine)
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        migrated = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(migrated) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert migrated[column.name]["nullable"] == column.nullable, (table.name, column.name)
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            assert tuple(c.name for c in index.columns) in indexed, (table.name, index.name)
    engine.dispose()


def test_downgrade_and_upgrade_again(empty_db_url: str) -> None:
    db = Database.open(empty_db_url)
    db.add_platforms([make_platform("kept-box")])
    db.close()
    engine = make_engine(empty_db_url)
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(engine, connection=conn), FIRST)
    assert migrate.current_revision(engine) == FIRST
    engine.dispose()
    db = Database.open(empty_db_url)
    assert db.get_platform("kept-box") == make_platform("kept-box")
    db.close()


@pytest.mark.skipif(not (REPO_ROOT / ".git").exists() or shutil.which("git") is None, reason="needs the git checkout")
def test_fresh_clone_finds_its_migrations(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    env = {**os.environ, "PYTHONPATH": str(clone), "ADVISOR_DB": f"sqlite:///{tmp_path / 'c.db'}"}
    probe = (
        "from advisor.db import Database\n"
        "from advisor.db.locations import MIGRATIONS_DIR\n"
        "db = Database.open()\n"
        "print(MIGRATIONS_DIR, db.revision(), len(db.list_platforms()))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    where, revision, count = result.stdout.split()
    assert Path(where) == clone / "migrations"
    assert revision == HEAD_REVISION and int(count) >= 26


def test_corrections_fitted_before_workload_kinds_still_reach_every_kind(empty_db_url: str) -> None:
    """0008: a record written by `advisor fit` before fits were kept per workload kind may have been
    fitted on any kind; its unsuffixed keys are copied to @prefill and @decode, so a decode
    prediction takes the figure it took before, and a downgrade takes the copies away again."""
    from alembic import command

    from advisor.predict.corrections import latency_correction

    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0007_calibration_conv_figures")
    cal = CalibrationSpec(platform_id="my-board", measured_at="2026-11-30T12:00:00+00:00", method="advisor fit old.csv",
                          tool_version="0.1.0", corrections={"llama-cpp/gguf": 0.8, "*/*": 1.25},
                          correction_sources={"llama-cpp/gguf": "advisor fit old.csv: 4 measurements of llama-7b"})
    row = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in cal.model_dump(mode="json").items()}
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO calibrations ({', '.join([*row, 'created_at'])}) "
                          f"VALUES ({', '.join([f':{k}' for k in row] + ['CURRENT_TIMESTAMP'])})"), row)
    engine.dispose()

    db = Database.open(empty_db_url)  # migrates to head
    stored = db.latest_calibration("my-board")
    db.close()
    assert stored.corrections == {"llama-cpp/gguf": 0.8, "*/*": 1.25, "llama-cpp/gguf@prefill": 0.8,
                                  "llama-cpp/gguf@decode": 0.8, "*/*@prefill": 1.25, "*/*@decode": 1.25}
    assert stored.correction_sources["llama-cpp/gguf@decode"] == "advisor fit old.csv: 4 measurements of llama-7b"
    for kind in ("network", "prefill", "decode"):
        assert latency_correction(stored, "llama-cpp", "q4_0", kind)[0] == 0.8
        assert latency_correction(stored, "pytorch", "fp16", kind)[0] == 1.25

    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(engine, connection=conn), "0007_calibration_conv_figures")
    engine.dispose()
    db = Database.open(empty_db_url)  # and up again: the copies come back from the kept originals
    again = db.latest_calibration("my-board")
    db.close()
    assert again.corrections == stored.corrections


def test_revision_ids_fit_alembics_version_column() -> None:
    """alembic_version.version_num is VARCHAR(32): on PostgreSQL a longer revision id fails the
    upgrade itself (SQLite does not check lengths, so only this test catches it there)."""
    import re

    ids = [re.search(r'^revision = "([^"]+)"', path.read_text(), re.M).group(1)
           for path in sorted((REPO_ROOT / "migrations" / "versions").glob("*.py"))]
    assert HEAD_REVISION in ids and len(ids) >= 8
    assert all(len(rev) <= 32 for rev in ids), [rev for rev in ids if len(rev) > 32]


def test_a_database_from_a_newer_advisor_is_refused_in_one_line(tmp_path: Path) -> None:
    """A revision this code does not know (a newer advisor migrated the file) is one line naming
    the file and the revision, exit 2, and the database is left as it was; it was an internal
    error (Alembic's "Can't locate revision")."""
    path = tmp_path / "newer.db"
    url = f"sqlite:///{path}"
    Database.open(url).close()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    before = path.read_bytes()
    result = subprocess.run([sys.executable, "-m", "advisor.cli", "hardware", "list"], capture_output=True, text=True,
                            env={**os.environ, "ADVISOR_DB": url}, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr and "'0099_from_the_future'" in result.stderr
    assert path.read_bytes() == before
