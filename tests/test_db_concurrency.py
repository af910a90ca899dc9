"""Eight processes adding and reading platforms at once on one SQLite file (WAL mode,
busy timeout, BEGIN IMMEDIATE writers): no errors and no lost rows. The file does not
exist beforehand, so the processes also race to migrate and seed it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROCESSES = 8
ADDS_PER_PROCESS = 6

WORKER = r"""
import json, sys, time
from advisor.db import Database
from db_samples import make_platform

url, worker, adds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = Database.open(url)
seen = []
for j in range(adds):
    db.add_platforms([make_platform(f"w{worker}-p{j}", bandwidth=float(worker * 100 + j + 1))])
    ids = {p.id for p in db.list_platforms()}
    assert f"w{worker}-p{j}" in ids
    assert db.get_platform("h200").memory.bandwidth_gbs.value == 4800
    seen.append(len(ids))
db.put_cached_profile(f"key-{worker}", json.dumps({"worker": worker}))
db.close()
print(json.dumps(seen))
"""


def test_eight_processes_add_and_read_one_sqlite_file(tmp_path: Path) -> None:
    file = tmp_path / "shared.db"
    url = f"sqlite:///{file}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}  # for db_samples
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, str(i), str(ADDS_PER_PROCESS)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(PROCESSES)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        counts = json.loads(out)
        assert counts == sorted(counts)  # a process never sees rows disappear

    from advisor.db import Database
    from advisor.db.locations import HEAD_REVISION

    db = Database.open(url)
    ids = {p.id for p in db.list_platforms()}
    for i in range(PROCESSES):
        for j in range(ADDS_PER_PROCESS):
            assert f"w{i}-p{j}" in ids
            assert db.get_platform(f"w{i}-p{j}").memory.bandwidth_gbs.value == i * 100 + j + 1
        assert db.get_cached_profile(f"key-{i}") == json.dumps({"worker": i})
    assert len(ids) == 26 + PROCESSES * ADDS_PER_PROCESS
    assert db.revision() == HEAD_REVISION
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.close()
