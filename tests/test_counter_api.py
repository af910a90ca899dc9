"""Profiling a Workload: counting through the zoo, the store's profile cache, batch independence."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.db.profile_cache import profile_for
from advisor.profiling.api import count_workload
from advisor.profiling.counter import count
from advisor.profiling.types import Profile
from advisor.workload import Workload


def test_profile_for_caches_zoo_models_in_the_database(tmp_path: Path) -> None:
    from advisor.db import Database

    db = Database.open(f"sqlite:///{tmp_path / 'advisor.db'}")
    first = profile_for(db, Workload(model="resnet18", batch=2))
    stored = db.get_cached_profile(Workload(model="resnet18", batch=2).profile_cache_key())
    assert stored is not None and Profile.model_validate_json(stored) == first
    # a different shape is a different entry; the cached one is returned as stored
    assert db.get_cached_profile(Workload(model="resnet18", batch=4).profile_cache_key()) is None
    assert profile_for(db, Workload(model="resnet18", batch=2)) == first
    assert first.input_shape == [2, 3, 224, 224] and first.batch == 2


def test_the_cache_key_spells_every_count_changing_field() -> None:
    """The key the store files profiles under: version and counting-code revision, model, shape
    in lower case, batch, phase, sequence length and context."""
    from advisor import __version__
    from advisor.count_revision import counting_revision

    code = f"{__version__}+{counting_revision()}"
    key = Workload(model="llama-7b", input_shape=[1, 64], batch=1, phase="prefill", seq_len=64).profile_cache_key()
    assert key == f"profile/{code}/llama-7b/1x64/1/prefill/64/"
    assert Workload(model="m", input_shape=" 1X3x8x8 ").profile_cache_key() == f"profile/{code}/m/1x3x8x8////"
    # KV-cache dtype and device count do not change the counts, so they share the entry
    assert Workload(model="m", kv_cache="fp8", devices=2).profile_cache_key() == Workload(model="m").profile_cache_key()


def test_counting_without_a_database() -> None:
    profile = count_workload(Workload(model="resnet18", input_shape="1x3x448x448"))
    assert profile.input_shape == [1, 3, 448, 448]
    # every stride divides 448 as it divides 224: conv MACs scale with the area (4x), fc does not
    full = count_workload(Workload(model="resnet18"))
    fc = 512 * 1000
    assert profile.macs - fc == 4 * (full.macs - fc)


def test_batch_scales_counts_not_parameters() -> None:
    """yolov5s at batch 64 has 64x the MACs of batch 1 and the same parameters (the counting
    cost against batch is measured by benchmarks/profile_speed.py, not asserted here)."""
    from advisor.models import load_model

    p1 = count(load_model(Workload(model="yolov5s")))
    p64 = count(load_model(Workload(model="yolov5s", batch=64)))
    assert p64.macs == 64 * p1.macs and p64.params == p1.params


def test_llm_decode_reads_the_kv_cache() -> None:
    short = count_workload(Workload(model="llama-1.1b", phase="decode", context=256))
    long = count_workload(Workload(model="llama-1.1b", phase="decode", context=512))
    assert long.kv_cache_elems == 2 * short.kv_cache_elems > 0
    # 256 more cached tokens are read once (at 2 bytes in fp16) and nothing else changes much
    extra = long.bytes_read("fp16") - short.bytes_read("fp16")
    assert extra == pytest.approx(2 * (long.kv_cache_elems - short.kv_cache_elems), rel=0.05)
    assert long.params == short.params


def test_caching_a_yolo_profile_does_not_import_torchvision(tmp_path: Path) -> None:
    """Recognising a YOLO/BERT/Llama zoo name must not import torchvision, whose import pulls
    in torch._dynamo (seconds): it would double the cold `advisor recommend` time."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from advisor.db import Database\n"
        "from advisor.db.profile_cache import profile_for\n"
        "from advisor.workload import Workload\n"
        f"db = Database.open('sqlite:///{tmp_path / 'a.db'}')\n"
        "p = profile_for(db, Workload(model='yolov5s'))\n"
        "assert p.params == 7_235_389, p.params\n"
        "print(sorted(m for m in ('torchvision', 'torch._dynamo') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_counting_revision_follows_the_counting_code(tmp_path) -> None:
    """A formula edit changes the digest (so the key, so a stale cached profile is not served);
    files outside the counting packages, and the order files are found in, do not."""
    import shutil

    from advisor.count_revision import COUNTING_PACKAGES, PACKAGE, counting_revision, source_digest

    for package in COUNTING_PACKAGES:
        shutil.copytree(PACKAGE / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    assert source_digest(tmp_path, COUNTING_PACKAGES) == counting_revision()
    (tmp_path / "cli.py").write_text("# not counting code\n")
    assert source_digest(tmp_path, COUNTING_PACKAGES) == counting_revision()
    formulas = tmp_path / "profiling" / "formulas.py"
    formulas.write_text(formulas.read_text() + "\n# an edited formula\n")
    assert source_digest(tmp_path, COUNTING_PACKAGES) != counting_revision()
