"""`advisor hardware|frameworks|db` as a user runs them: exit codes, one-line errors,
exact export round trips, and an unchanged database after every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor.cli import main
from advisor.db.locations import HEAD_REVISION
from db_samples import FRAMEWORK_IDS, PLATFORM_IDS, lab_box_data, make_platform


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit code, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["advisor", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def export_all(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run_cli(capsys, "hardware", "export")
    assert code == 0, err
    return out


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


# ---------------------------------------------------------------------- reading
def test_list_json_has_every_id(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hardware", "list", "--format", "json")
    assert code == 0
    assert [p["id"] for p in json.loads(out)] == sorted(PLATFORM_IDS)
    code, out, _ = run_cli(capsys, "frameworks", "list", "--format", "json")
    assert [f["id"] for f in json.loads(out)] == sorted(FRAMEWORK_IDS)


def test_show_h200_json(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hardware", "show", "h200", "--format", "json")
    assert code == 0
    h200 = json.loads(out)
    assert h200["matrix_peaks"]["bf16"]["value"] == 989.5
    assert h200["matrix_peaks"]["bf16"]["engine"] == "tensor"
    assert h200["memory"]["bandwidth_gbs"]["value"] == 4800
    assert h200["memory"]["capacity_gb"]["value"] == 141
    assert "nvidia.com" in h200["matrix_peaks"]["bf16"]["source"]


def test_show_table_names_sources(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hardware", "show", "jetson-nano")
    assert code == 0
    assert "128 CUDA cores x 2 FLOP x 0.9216 GHz" in out
    assert "https://developer.nvidia.com/embedded/jetson-nano" in out
    code, out, _ = run_cli(capsys, "frameworks", "show", "tensorrt")
    assert code == 0 and "jetson-tx2" in out and "per-kernel overhead" in out
    assert "enqueued one by one from the host" in out and "useCudaGraph" in out


def test_list_filters_and_sorts(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hardware", "list", "--class", "cpu", "--sort", "bandwidth", "--format", "json")
    assert code == 0
    cpus = json.loads(out)
    # Datasheet bandwidths: EPYC 460.8 > Xeon 307.2 > i9 89.6 > Pi 5 17.1 > Pi 4 12.8
    assert [p["id"] for p in cpus] == ["epyc-9654", "xeon-8480", "core-i9-13900k", "raspberry-pi-5", "raspberry-pi-4"]
    code, out, _ = run_cli(capsys, "hardware", "list", "--vendor", "amd", "--sort", "name", "--format", "yaml")
    assert [p["id"] for p in yaml.safe_load(out)] == ["epyc-9654", "mi300x"]
    code, out, _ = run_cli(capsys, "hardware", "list", "--class", "edge-gpu-soc", "--sort", "int8", "--format", "json")
    ids = [p["id"] for p in json.loads(out)]
    assert ids[0] == "jetson-agx-orin" and ids[-2:] == ["jetson-nano", "jetson-tx2"]  # no int8: last, by id
    code, out, _ = run_cli(capsys, "hardware", "list")
    assert code == 0 and "h200" in out and "990" in out  # 989.5 TFLOPS fp16 at three figures


def test_unknown_names_exit_2(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args, needle in (
        (("hardware", "show", "h20"), "did you mean h200"),
        (("frameworks", "show", "onnxruntime"), "unknown framework 'onnxruntime'"),
        (("hardware", "list", "--sort", "speed"), "unknown sort key 'speed'"),
        (("hardware", "list", "--class", "gpu"), "unknown device class 'gpu'"),
        (("hardware", "remove", "nope"), "unknown platform 'nope'"),
    ):
        code, out, err = run_cli(capsys, *args)
        assert code == 2, args
        assert needle in err and len(err.strip().splitlines()) == 1, err


def test_db_path_and_upgrade(isolated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "db", "path")
    assert code == 0
    if isolated_db.startswith("sqlite"):
        assert out.strip() == isolated_db.removeprefix("sqlite:///")
    else:
        assert out.strip().startswith("postgresql+psycopg://")
    code, out, _ = run_cli(capsys, "db", "upgrade")
    assert code == 0 and HEAD_REVISION in out and "26 platforms" in out


def test_bad_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for url, needle in (("mysqlxx://host/db", "invalid database URL 'mysqlxx://host/db'"),
                        ("postgresql+psycopg://nobody:secret@127.0.0.1:1/x", "cannot open the database at postgresql+psycopg://nobody:***@127.0.0.1:1/x")):
        monkeypatch.setenv("ADVISOR_DB", url)
        code, out, err = run_cli(capsys, "hardware", "list")
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
        assert "secret" not in err


# ---------------------------------------------------------------------- writing
def test_export_remove_add_export_is_byte_identical(isolated_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for platform_id in ("h200", "coral-edge-tpu", "xeon-8480"):
        code, first, _ = run_cli(capsys, "hardware", "export", platform_id)
        assert code == 0
        file = tmp_path / f"{platform_id}.yaml"
        file.write_text(first)
        assert run_cli(capsys, "hardware", "remove", platform_id)[0] == 0
        assert run_cli(capsys, "hardware", "add", str(file))[0] == 0
        code, second, _ = run_cli(capsys, "hardware", "export", platform_id)
        assert second == first
    # The whole table too, through --replace.
    everything = export_all(capsys)
    file = tmp_path / "all.yaml"
    file.write_text(everything)
    code, out, err = run_cli(capsys, "hardware", "add", "--replace", str(file))
    assert code == 0, err
    assert export_all(capsys) == everything
    # JSON export is accepted by add as well (JSON is YAML).
    code, out, _ = run_cli(capsys, "hardware", "export", "t4", "--format", "json")
    json_file = write(tmp_path / "t4.json", out)
    run_cli(capsys, "hardware", "remove", "t4")
    assert run_cli(capsys, "hardware", "add", str(json_file))[0] == 0
    assert run_cli(capsys, "hardware", "export", "t4", "--format", "json")[1] == out


def test_add_several_files_in_one_transaction(isolated_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.yaml", lab_box_data("box-a"))
    b = write(tmp_path / "b.yaml", [lab_box_data("box-b"), lab_box_data("box-c")])
    code, out, err = run_cli(capsys, "hardware", "add", str(a), str(b))
    assert code == 0, err
    code, out, _ = run_cli(capsys, "hardware", "list", "--vendor", "Acme", "--format", "json")
    assert [p["id"] for p in json.loads(out)] == ["box-a", "box-b", "box-c"]
    # --replace overwrites; without it the same file fails.
    changed = write(tmp_path / "a2.yaml", lab_box_data("box-a", name="Renamed"))
    assert run_cli(capsys, "hardware", "add", str(changed))[0] == 2
    assert run_cli(capsys, "hardware", "add", "--replace", str(changed))[0] == 0
    code, out, _ = run_cli(capsys, "hardware", "show", "box-a", "--format", "json")
    assert json.loads(out)["name"] == "Renamed"


BIG = "# padding\n" * 110_000  # ~1.1 MB


def _bad_inputs(tmp_path: Path) -> list[tuple[str, list[Path], list[str]]]:
    """(kind, files, strings the one error line must contain: file, field, value)."""
    good = lab_box_data("fresh-box")
    cases: list[tuple[str, object, list[str]]] = [
        ("yaml syntax error", "id: x\nname: [unclosed\n", ["invalid YAML", "line"]),
        ("empty file", "", ["empty"]),
        ("missing required field", {k: v for k, v in good.items() if k != "name"}, ["field name", "required"]),
        ("wrong type", lab_box_data("fresh-box", parallelism={"units": "many", "unit_kind": "core", "clock_ghz": 3, "source": "s"}),
         ["parallelism.units", "'many'"]),
        ("negative bandwidth", lab_box_data("fresh-box", memory={"capacity_gb": {"value": 8, "source": "s"}, "bandwidth_gbs": {"value": -5, "source": "s"}}),
         ["memory.bandwidth_gbs.value", "-5"]),
        ("zero bandwidth", lab_box_data("fresh-box", memory={"capacity_gb": {"value": 8, "source": "s"}, "bandwidth_gbs": {"value": 0, "source": "s"}}),
         ["memory.bandwidth_gbs.value", "got 0"]),
        ("unknown precision name", lab_box_data("fresh-box", vector_peaks={"fp12": {"value": 1, "engine": "vector", "source": "s"}}),
         ["vector_peaks.fp12", "unknown precision name 'fp12'"]),
        ("unknown keys", {**good, "bandwith_gbs": 100}, ["field bandwith_gbs", "unknown field", "100"]),
        ("duplicate id without --replace", lab_box_data("h200"), ["field id", "'h200' already exists", "--replace"]),
        ("sparse-only figure", lab_box_data("fresh-box", sparse_headline={"int8": {"value": 40, "source": "s"}}),
         ["sparse_headline.int8", "sparse-only", "40"]),
        ("figure marked sparse", lab_box_data("fresh-box", vector_peaks={"fp32": {"value": 3, "engine": "vector", "source": "s", "dense": False}}),
         ["vector_peaks.fp32.dense", "sparse figure refused", "False"]),
        ("file over 1 MB", yaml.safe_dump(good) + BIG, ["bytes", "limit"]),
        ("duplicate key", "id: a\nid: b\n", ["duplicate key 'id'", "line 2"]),
        ("id not kebab-case", lab_box_data("Fresh_Box"), ["field id", "'Fresh_Box'", "kebab-case"]),
        ("not a mapping", "- 1\n- 2\n", ["[0]", "expected a mapping"]),
        ("engine in the wrong table", lab_box_data("fresh-box", matrix_peaks={"fp16": {"value": 9, "engine": "vector", "source": "s"}}),
         ["matrix_peaks.fp16.engine", "'vector'"]),
    ]
    out = []
    for index, (kind, content, needles) in enumerate(cases):
        path = tmp_path / f"bad{index}.yaml"
        write(path, content)
        out.append((kind, [path], [str(path), *needles]))
    # A good file and a bad one in the same call: nothing is added.
    good_file = write(tmp_path / "good.yaml", good)
    out.append(("good + bad file in one call", [good_file, tmp_path / "bad7.yaml"], [str(tmp_path / "bad7.yaml"), "bandwith_gbs"]))
    out.append(("same id in two files", [good_file, write(tmp_path / "again.yaml", good)], ["again.yaml", "field id", "'fresh-box'", "good.yaml"]))
    out.append(("missing file", [tmp_path / "nope.yaml"], ["nope.yaml", "cannot read"]))
    return out


def test_bad_input_exits_2_with_one_line_and_changes_nothing(isolated_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = export_all(capsys)
    frameworks_before = run_cli(capsys, "frameworks", "list", "--format", "json")[1]
    cases = _bad_inputs(tmp_path)
    assert len({kind for kind, _, _ in cases}) >= 10
    for kind, files, needles in cases:
        code, out, err = run_cli(capsys, "hardware", "add", *map(str, files))
        assert code == 2, f"{kind}: exit {code}, stderr {err!r}"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"{kind}: {err!r}"
        for needle in needles:
            assert needle in lines[0], f"{kind}: {needle!r} not in {lines[0]!r}"
        assert "Traceback" not in err and out == ""
        assert export_all(capsys) == before, kind
    assert run_cli(capsys, "frameworks", "list", "--format", "json")[1] == frameworks_before


# ---------------------------------------------------------------------- the real process
def _advisor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_entry_point_process_and_no_torch(sqlite_db_url: str) -> None:
    env = dict(os.environ)
    probe = (
        "import sys\n"
        "from advisor.cli import main\n"
        "for argv in (['hardware','list'], ['hardware','show','h200','--format','json'], ['frameworks','list'],"
        " ['frameworks','show','pytorch'], ['hardware','export','t4'], ['db','path'], ['db','upgrade']):\n"
        "    sys.argv = ['advisor', *argv]\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, (argv, e.code)\n"
        "print('TORCH-LOADED' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("NO-TORCH")
    bad = _advisor("hardware", "show", "h2000", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "h200" in bad.stderr


def test_fast_read_path_matches_database(sqlite_db_url: str) -> None:
    """The standard-library store reads the same specs and origins as Database."""
    from advisor.db import Database
    from advisor.db.sqlite_store import SqliteStore

    with Database.open(sqlite_db_url) as db:
        db.add_platforms([make_platform("user-box")])
        slow = (db.list_platforms(), db.list_frameworks(), db.platform_origins())
    fast = SqliteStore.try_open(sqlite_db_url)
    assert fast is not None
    assert (fast.list_platforms(), fast.list_frameworks(), fast.platform_origins()) == slow
    assert fast.platform_origins()["user-box"] == "user"
    fast.close()


def test_fast_read_path_declines_stale_files(tmp_path: Path) -> None:
    from advisor.db.sqlite_store import SqliteStore

    assert SqliteStore.try_open(f"sqlite:///{tmp_path / 'missing.db'}") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert SqliteStore.try_open(f"sqlite:///{empty}") is None


def test_read_commands_skip_sqlalchemy_on_a_current_sqlite_file(sqlite_db_url: str) -> None:
    """The start-up budget depends on it: see benchmarks/startup.py and docs/startup.md."""
    probe = (
        "import sys\n"
        "from advisor.cli import main\n"
        "for argv in (['hardware','list'], ['hardware','show','h200'], ['frameworks','list']):\n"
        "    sys.argv = ['advisor', *argv]\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, (argv, e.code)\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'torch', 'yaml') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "HEAVY="


def test_user_text_prints_verbatim(isolated_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Names and notes are user text: rich markup or emoji codes in them must not be interpreted."""
    # piped output is 100 columns wide, where the name fits whole; pytest-xdist workers set
    # COLUMNS=80, which would cut it with an ellipsis
    monkeypatch.delenv("COLUMNS", raising=False)
    odd = lab_box_data("odd-box", name="Box [bold]x[/bold] :smile: [/]", notes="see support[0]")
    assert run_cli(capsys, "hardware", "add", str(write(tmp_path / "odd.yaml", odd)))[0] == 0
    code, out, _ = run_cli(capsys, "hardware", "show", "odd-box")
    assert code == 0 and "Box [bold]x[/bold] :smile: [/]" in out and "see support[0]" in out
    code, out, _ = run_cli(capsys, "hardware", "list", "--vendor", "acme")
    assert code == 0 and "Box [bold]x[/bold] :smile: [/]" in out


def test_show_names_the_fused_decode_traits_with_their_sources(db, capsys: pytest.CaptureFixture[str]) -> None:
    base = db.get_framework("pytorch")
    fusion = base.fusion.model_copy(update={"fused_qkv": "fused_attn.py qkv_proj", "fused_norm": "fused_norm.py"})
    db.add_frameworks([base.model_copy(update={"id": "tinychat-like", "fusion": fusion})])
    code, out, _ = run_cli(capsys, "frameworks", "show", "tinychat-like")
    assert code == 0
    assert "q, k and v projections run as one GEMM (fused_attn.py qkv_proj)" in out
    assert "each normalisation module is one kernel (fused_norm.py)" in out
    assert "rotary embedding" not in out  # not declared, not printed
    code, out, _ = run_cli(capsys, "frameworks", "show", "pytorch")
    assert code == 0 and "one GEMM" not in out
