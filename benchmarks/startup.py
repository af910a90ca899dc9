"""Start-up time of the commands that do not touch a model (`advisor hardware ...`).

Runs each command several times as a fresh process against a throw-away SQLite database
(created and seeded once beforehand, so the runs measure the everyday path, not the first
migration), reports the median, and checks that none of them imports torch. Writes
docs/startup.md.

    python benchmarks/startup.py              # 9 runs per command
    python benchmarks/startup.py --runs 15 --check   # exit 1 if `hardware list` median >= 0.5 s
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import Run, Spread, fresh_db_env, markdown_table, run_timed, utc_now, write_page  # noqa: E402

BUDGET_S = 0.5
COMMANDS: list[list[str]] = [
    ["hardware", "list"],
    ["hardware", "list", "--format", "json"],
    ["hardware", "show", "h200"],
    ["frameworks", "list"],
    ["db", "path"],
]


def advisor_argv() -> list[str]:
    exe = shutil.which("advisor")
    return [exe] if exe else [sys.executable, "-m", "advisor.cli"]


def imports_torch(args: list[str], env: dict[str, str]) -> bool:
    """Run the command under -X importtime and look for torch among the imports."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "advisor.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return any(line.split("|")[-1].strip().split(".")[0] == "torch" for line in result.stderr.splitlines() if "|" in line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if `hardware list` median >= {BUDGET_S} s")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "startup.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = fresh_db_env(Path(tmp), "bench.db")
        argv = advisor_argv()
        first_use = run_timed([*argv, "hardware", "list"], env).wall_s  # migrates + seeds
        baseline = [run_timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        rows: list[tuple[str, list[Run], bool]] = [("python -c pass", baseline, False)]
        for command in COMMANDS:
            run_timed([*argv, *command], env)  # warm the page cache
            runs = [run_timed([*argv, *command], env) for _ in range(args.runs)]
            rows.append(("advisor " + " ".join(command), runs, imports_torch(command, env)))

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3

    def med_cpu(runs: list[Run]) -> float:
        return Spread.of(r.cpu_s for r in runs).median

    list_wall, list_cpu = Spread.of(r.wall_s for r in rows[1][1]).median, med_cpu(rows[1][1])
    lines = [
        "# Start-up time of model-free commands",
        "",
        f"Measured by `python benchmarks/startup.py --runs {args.runs}` on {utc_now()} UTC: "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(1 / 5 / 15 min). Each run is a fresh process against a seeded SQLite database in a temp dir. "
        "Wall time is what a user waits; CPU time (user + sys of the child) is the work the command does, which "
        "is what the wall time comes down to when the machine is not shared (a load average above the CPU count "
        "means processes queue for a core).",
        "",
        f"Budget: `advisor hardware list` under {BUDGET_S} s. Result: median wall **{list_wall:.3f} s**, "
        f"median CPU **{list_cpu:.3f} s** "
        f"({'within' if list_wall < BUDGET_S else ('wall over budget under this load; CPU within' if list_cpu < BUDGET_S else 'OVER')} budget).",
        "",
        f"`advisor db path` does no database work, so it measures the CLI frame alone (interpreter, typer, click, "
        f"pydantic): median CPU {med_cpu(rows[-1][1]):.3f} s. Reading the database and rendering the table add "
        f"{list_cpu - med_cpu(rows[-1][1]):+.3f} s CPU on top of it.",
        "",
    ]
    table = []
    for name, runs, torch in rows:
        wall = Spread.of(r.wall_s for r in runs)
        table.append([f"`{name}`", f"{wall.median:.3f}", f"{wall.best:.3f}", f"{wall.worst:.3f}", f"{med_cpu(runs):.3f}",
                      "YES" if torch else "no"])
    lines += markdown_table(["command", "median wall s", "min wall s", "max wall s", "median CPU s", "imports torch"],
                            table, right=[False, True, True, True, True, False])
    lines += [
        "",
        f"First use of a new database (migrate to head + load the seed YAML): {first_use:.3f} s wall, once.",
        "",
        "How it stays fast: the CLI imports each command's code lazily; read commands on an up-to-date SQLite file",
        "use the standard library's sqlite3 (advisor/db/sqlite_store.py) after one query for the Alembic revision and",
        "one for the seed fingerprint, so SQLAlchemy, SQLModel and Alembic are imported only when a write, a",
        "migration or a non-SQLite URL needs them. What remains is the interpreter, typer/click (which imports",
        "pydantic to coerce parameters) and rich's table rendering.",
        "",
    ]
    write_page(args.out, lines, echo=True)
    if any(torch for _, _, torch in rows):
        print("torch was imported by a model-free command", file=sys.stderr)
        return 1
    return 1 if args.check and list_wall >= BUDGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
