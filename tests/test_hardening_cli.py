"""Hostile and broken input through the command line (issue 14, findings 3, 4, 5, 6, 7).

Each test feeds the input of the finding, as the finding's user did, and checks what a
user must see instead: one line on stderr naming the file (or database) and the problem,
exit 2 (1 for a noisy calibration: a condition not met), and nothing changed. Commands
that could hang or eat memory on a regression run in a subprocess with a timeout and an
address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from db_samples import lab_box_data
from test_hardware_cli import run_cli  # the real entry point in-process

#: Address space a hostile-input subprocess may take: plenty for `hardware add` (no torch),
#: far below what /dev/zero or the billion laughs took (2.5 GB and more).
SUBPROCESS_MEMORY = 1536 * 1024 * 1024


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))


def advisor(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or dict(os.environ), preexec_fn=_limit_memory)


def one_error_line(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(lines[0]) < 500
    return lines[0]


def db_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def platform_ids(url: str) -> list[str]:
    with sqlite3.connect(db_file(url)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM platforms ORDER BY id")]


# ---------------------------------------------------------------------- finding 3: YAML intake
def billion_laughs() -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name, text, needle", [
    ("laughs.yaml", billion_laughs(), "YAML aliases (*name) are not accepted"),
    ("deep.yaml", "id: " + "[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
    ("digits.yaml", yaml.safe_dump(lab_box_data()).replace("units: 8", "units: " + "7" * 5000),
     "integer of 5000 digits is over the 30-digit limit"),
], ids=["billion-laughs", "5000-deep", "5000-digits"])
def test_hostile_yaml_files_get_one_line(sqlite_db_url: str, tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    before = platform_ids(sqlite_db_url)
    start = time.monotonic()
    line = one_error_line(advisor("hardware", "add", str(path)))
    assert time.monotonic() - start < 30
    assert line.startswith(f"advisor: error: {path}: invalid YAML at line ") and needle in line
    assert "lol" not in line and "7777" not in line  # the input is not echoed
    assert platform_ids(sqlite_db_url) == before


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_not_read(sqlite_db_url: str, device: str) -> None:
    line = one_error_line(advisor("hardware", "add", device, timeout=30))
    assert line == f"advisor: error: {device}: not a regular file (a character device); expected a YAML file"


def test_a_fifo_does_not_hang(sqlite_db_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "platform.yaml"
    os.mkfifo(fifo)
    line = one_error_line(advisor("hardware", "add", str(fifo), timeout=30))
    assert line == f"advisor: error: {fifo}: not a regular file (a FIFO); expected a YAML file"


def test_the_gate_reads_its_config_and_baseline_through_the_same_reader(sqlite_db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(billion_laughs())
    assert "YAML aliases (*name) are not accepted" in one_error_line(advisor("gate", str(config)))
    config.write_text("models: [resnet18]\ntarget: t4\ntarget: h200\nrequirements: {max_latency_ms: 10}\n")
    assert "duplicate key 'target'" in one_error_line(advisor("gate", str(config)))
    config.write_text("models: [resnet18]\ntarget: t4\nrequirements: {max_latency_ms: 10}\n")
    fifo = tmp_path / "baseline.json"
    os.mkfifo(fifo)
    line = one_error_line(advisor("gate", str(config), "--baseline", str(fifo), timeout=60))
    assert f"{fifo}: not a regular file (a FIFO)" in line


# ---------------------------------------------------------------------- finding 7: escapes in names
def test_escape_sequences_in_a_platform_name_are_refused(sqlite_db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    # an OSC title change and a screen clear, written as YAML escapes
    path.write_text(yaml.safe_dump(lab_box_data(), sort_keys=False).replace(
        "name: Lab box", 'name: "Lab \\e]0;pwned\\a box \\e[2J"'))
    line = one_error_line(advisor("hardware", "add", str(path)))
    assert "\x1b" not in line and "\x07" not in line
    assert "field name" in line and "U+001B" in line
    assert "lab-box" not in platform_ids(sqlite_db_url)


def test_error_lines_never_carry_escape_sequences(sqlite_db_url: str) -> None:
    line = one_error_line(advisor("hardware", "show", "\x1b]0;pwned\x07"))
    assert "\x1b" not in line and "\x07" not in line and "\\x1b" in line


# ---------------------------------------------------------------------- finding 4: broken databases
def _seeded_copy(template: Path, dest: Path) -> Path:
    shutil.copyfile(template, dest)
    return dest


def _garbage_in_the_middle(path: Path) -> None:
    """Overwrite one index page in the middle of the file (the calibrations index, which
    `hardware add` never touches, so SQLite itself would happily write)."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_calibrations_platform_id'").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(page - 1) * page_size: page * page_size] = bytes((i * 37 + 11) % 256 for i in range(page_size))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_broken_database_file_is_one_line_on_every_command(
    _seeded_sqlite_template: Path, tmp_path: Path, damage: str,
) -> None:
    path = tmp_path / "advisor.db"
    good = _seeded_template_bytes(_seeded_sqlite_template)
    path.write_bytes(good[: len(good) // 2] if damage == "truncated" else os.urandom(len(good)))
    before = path.read_bytes()
    env = {**os.environ, "ADVISOR_DB": str(path)}
    for args in (("hardware", "list"), ("predict", "--model", "resnet18", "--target", "t4", "--precision", "fp16",
                                        "--framework", "tensorrt"), ("db", "upgrade")):
        line = one_error_line(advisor(*args, env=env, timeout=120))
        assert f"the database at {path} is damaged" in line and "Move the file aside" in line, line
    assert path.read_bytes() == before


def _seeded_template_bytes(template: Path) -> bytes:
    with sqlite3.connect(template) as conn:  # fold the WAL in, so the file alone is the database
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return template.read_bytes()


def test_writes_are_refused_on_a_database_with_garbage_in_the_middle(
    _seeded_sqlite_template: Path, tmp_path: Path,
) -> None:
    path = tmp_path / "advisor.db"
    path.write_bytes(_seeded_template_bytes(_seeded_sqlite_template))
    _garbage_in_the_middle(path)
    before = path.read_bytes()
    platform = tmp_path / "board.yaml"
    platform.write_text(yaml.safe_dump(lab_box_data()))
    line = one_error_line(advisor("hardware", "add", str(platform), env={**os.environ, "ADVISOR_DB": str(path)}))
    assert f"the database at {path} is damaged" in line
    assert path.read_bytes() == before


def test_serve_on_a_broken_database_exits_with_one_line(_seeded_sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "advisor.db"
    path.write_bytes(os.urandom(64 * 1024))
    env = {**os.environ, "ADVISOR_DB": str(path), "ADVISOR_API_TOKEN": "t"}
    line = one_error_line(advisor("serve", "--port", "0", env=env, timeout=60))
    assert f"the database at {path} is damaged (file is not a database)" in line


# ---------------------------------------------------------------------- findings 5 and 6: calibrate
def canned_run(platform_id: str = "local", *, rounds: list[dict[str, float]] | None = None, contention: float = 0.01):
    """A finished CalibrationRun as calibrate() returns it (nothing measured here: this
    machine is shared, and the point is what run_calibrate does with the result)."""
    from advisor.domain.specs import CalibrationSpec, PlatformSpec
    from advisor.measure.calibrate import CalibrationRun

    platform = PlatformSpec.model_validate(lab_box_data(platform_id, name="This machine"))
    device = CalibrationSpec(
        platform_id=platform_id, measured_at="2026-12-01T12:00:00+00:00", method="advisor calibrate --device cpu (test)",
        tool_version="advisor test", matmul_tflops={"fp32": 0.3}, vector_tflops={"fp32": 0.01}, bandwidth_gbs=10.0,
        utilisation_curve=[(1000.0, 0.2), (1e6, 0.9)],
    )
    records = [device, device.model_copy(update={"framework_id": "pytorch", "per_op_overhead_us": 21.0})]
    details = {
        "matmul": {"fp32": {"size": 2048}}, "elementwise_addcmul_tflops": 0.004,
        "bandwidth": {"copy_gbs": 10.0, "read_gbs": 11.0, "array_mib": 1024.0},
        "overheads": {"module_op_us": 21.0, "aten_op_us": 4.0}, "contention": contention,
    }
    quiet = [{"matmul fp32 TFLOPS": 0.30, "copy bandwidth GB/s": 10.0}, {"matmul fp32 TFLOPS": 0.31, "copy bandwidth GB/s": 10.2}]
    run = CalibrationRun("cpu", platform, records, threads=2, details=details)
    run.round_figures = rounds or quiet  # what each round measured, and the competing load
    run.contention = contention
    return run


class Killed(RuntimeError):
    """Stands for a kill -9 at a commit (click turns KeyboardInterrupt into an exit)."""


def _stored(url: str, platform_id: str = "local") -> tuple[bool, int]:
    with sqlite3.connect(db_file(url)) as conn:
        platform = conn.execute("SELECT count(*) FROM platforms WHERE id = ?", (platform_id,)).fetchone()[0]
        records = conn.execute("SELECT count(*) FROM calibrations WHERE platform_id = ?", (platform_id,)).fetchone()[0]
    return bool(platform), records


def test_calibrate_stores_platform_and_records_in_one_transaction(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A kill between the platform's commit and the records' left `local` without a
    calibration. Simulated by failing the second commit of the command: with one
    transaction there is no second commit, and both are stored together."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import advisor.measure.calibrate as calibrate_module

    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: canned_run())
    commits = []

    def killed_after_first_commit(session: Session) -> None:
        commits.append(session)
        if len(commits) == 2:
            raise Killed("killed between two writes")

    event.listen(Session, "before_commit", killed_after_first_commit)
    try:
        try:
            code, _, err = run_cli(capsys, "calibrate")
        except Killed:
            code, err = -1, "killed"
    finally:
        event.remove(Session, "before_commit", killed_after_first_commit)
    platform, records = _stored(sqlite_db_url)
    assert (platform, records) in ((False, 0), (True, 2)), "platform stored without its calibration"
    assert code == 0, err
    assert len(commits) == 1


def test_calibrate_failing_mid_write_stores_nothing(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import advisor.measure.calibrate as calibrate_module

    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: canned_run())

    def fail(session: Session) -> None:
        raise Killed("killed at the first commit")

    event.listen(Session, "before_commit", fail)
    try:
        try:  # main() may turn an unexpected exception into exit 3 (or let it through)
            code, _, _ = run_cli(capsys, "calibrate")
        except Killed:
            code = None
        assert code != 0
    finally:
        event.remove(Session, "before_commit", fail)
    assert _stored(sqlite_db_url) == (False, 0)


NOISY_ROUNDS = [{"matmul fp32 TFLOPS": 0.298, "copy bandwidth GB/s": 9.9},
                {"matmul fp32 TFLOPS": 0.151, "copy bandwidth GB/s": 9.7}]


def test_a_noisy_calibration_is_refused_unless_forced(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import advisor.measure.calibrate as calibrate_module

    monkeypatch.delenv("ADVISOR_CALIBRATE_QUICK", raising=False)
    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: canned_run(rounds=NOISY_ROUNDS, contention=0.5))
    code, out, err = run_cli(capsys, "calibrate")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "calibration not stored" in lines[0]
    assert "other processes used 50% of the CPUs" in lines[0] and "matmul fp32 TFLOPS varied by 65%" in lines[0]
    assert "--force" in lines[0]
    assert _stored(sqlite_db_url) == (False, 0)

    code, out, err = run_cli(capsys, "calibrate", "--force")
    assert code == 0, err
    assert _stored(sqlite_db_url) == (True, 2)
    assert "stored anyway (--force)" in out + err


def test_a_quiet_calibration_is_stored(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import advisor.measure.calibrate as calibrate_module

    monkeypatch.delenv("ADVISOR_CALIBRATE_QUICK", raising=False)
    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: canned_run(contention=0.02))
    code, out, err = run_cli(capsys, "calibrate")
    assert code == 0, err
    assert _stored(sqlite_db_url) == (True, 2)
    assert json.loads(json.dumps(out)) and "stored 2 calibration records" in out
