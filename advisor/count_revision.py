"""Which counting code a cached profile came from.

Why: a Profile (FLOPs, bytes, shapes per op) is cached in the database and in the benchmarks'
profile cache under a key built from the workload. The package version alone did not change
when a formula in advisor/profiling or a model definition in advisor/models did, so a profile
counted by older code was served as if current. The key now carries a digest of the source
files that decide what a profile holds; editing any of them leaves old entries unreachable
(the store evicts them as the least recently used). Reading ~30 small files once per process
costs a few milliseconds and imports nothing heavy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: the packages whose code decides what a profile holds: the counter and its formulas, and
#: the model sources and zoo definitions it counts
COUNTING_PACKAGES: tuple[str, ...] = ("profiling", "models")


def source_digest(root: Path, packages: Iterable[str]) -> str:
    """A short digest of every .py file under ``root/<package>`` (path and content)."""
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def counting_revision() -> str:
    """The digest of this installation's counting code (computed once per process)."""
    return source_digest(PACKAGE, COUNTING_PACKAGES)
