"""Imports only point down the flow (docs/architecture.md):

    sources (models) -> profiling -> store (db) -> predict [measure, sensitivity beside it]
    -> rules -> recommend / plan -> gate -> service -> cli

A module may import from its own package, from any lower stage and from the bottom helpers
that every stage may use (advisor.errors, .precision, .workload, .domain, .config,
.settings, .safe_input, .finite_json, .display and the advisor package itself). Every module under advisor/ is parsed with ast,
so imports inside functions and under ``TYPE_CHECKING`` count too: a lazy import that points
up is still a dependency that points up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "advisor"

#: Bottom helpers: anyone may import them; they import only each other.
BOTTOM = 0
#: Stage of each top-level name under advisor/ (a package or a module). Two stages of the
#: same rank (recommend and plan) may not import each other.
STAGE_RANK: dict[str, float] = {
    "__init__": BOTTOM, "errors": BOTTOM, "precision": BOTTOM, "workload": BOTTOM, "domain": BOTTOM,
    "config": BOTTOM, "settings": BOTTOM,
    "safe_input": BOTTOM, "finite_json": BOTTOM,  # bounded file/body reading, finite JSON out
    "display": BOTTOM,  # figures with units and tables that fit, for every report
    "options": BOTTOM,  # comma-separated option values (recommend and plan parse the same ones)
    "quiet_logs": BOTTOM,  # a library logger's level raised for one call (models and measure)
    "count_revision": BOTTOM,  # digest of the counting code, in the profile cache key
    "models": 1,
    "profiling": 2,
    "db": 3,
    "predict": 4,
    # beside predict: calibrate/bench/validate read predictions, predict never reads them;
    # sensitivity runs the user's model on data, as measure does
    "measure": 4.5,
    "sensitivity": 4.5,
    "rules": 5,
    "recommend": 6,
    "plan": 6,
    "gate": 7,
    "service": 8,  # serves recommend, plan and the gate over HTTP
    "cli": 9,
}


def modules(root: Path = PACKAGE_ROOT) -> list[Path]:
    return sorted(root.rglob("*.py"))


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = PACKAGE_ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                # `from . import x` names a submodule; `from .pkg import x` a name in .pkg
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names] if not node.module \
                    else [(node.lineno, target)]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def stage_of(name: str) -> str | None:
    """The top-level stage an advisor module belongs to (None outside advisor)."""
    parts = name.split(".")
    if parts[0] != "advisor":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def violations(root: Path = PACKAGE_ROOT) -> list[str]:
    found = []
    for path in modules(root):
        own = path.relative_to(root).with_suffix("").parts[0]
        own_rank = STAGE_RANK.get(own)
        if own_rank is None:
            found.append(f"{path.relative_to(root.parent)}: '{own}' has no place in the flow (add it to STAGE_RANK)")
            continue
        for line, name in imported_names(path, root):
            target = stage_of(name)
            if target is None or target == own:
                continue
            target_rank = STAGE_RANK.get(target)
            where = f"{path.relative_to(root.parent)}:{line}"
            if target_rank is None:
                found.append(f"{where}: '{target}' has no place in the flow (add it to STAGE_RANK)")
            elif own_rank == BOTTOM and target_rank != BOTTOM:
                found.append(f"{where}: bottom helper '{own}' imports stage '{target}' ({name})")
            elif own_rank != BOTTOM and target_rank >= own_rank:
                found.append(f"{where}: '{own}' imports '{name}' from a stage at or above it")
    return found


def test_every_import_points_down_the_flow() -> None:
    found = violations()
    assert not found, "imports that point up the flow:\n" + "\n".join(found)


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_imports_are_found_at_any_depth_and_resolved(tmp_path: Path) -> None:
    root = tmp_path / "advisor"
    write_tree(root, {"rules/__init__.py": "from . import base\n", "rules/hardware.py": (
        "import advisor.db.store as s\n"
        "from advisor.recommend.types import X\n"
        "def f():\n    from ..predict import engine\n    from .base import Rule\n"
    )})
    assert [n for _, n in imported_names(root / "rules" / "hardware.py", root)] == [
        "advisor.db.store", "advisor.recommend.types", "advisor.predict", "advisor.rules.base",
    ]
    assert [n for _, n in imported_names(root / "rules" / "__init__.py", root)] == ["advisor.rules.base"]


def test_upward_imports_are_reported_and_downward_ones_are_not(tmp_path: Path) -> None:
    root = tmp_path / "advisor"
    write_tree(root, {
        "rules/hardware.py": "def f():\n    from advisor.recommend.types import Finding\n",  # up: lazy
        "recommend/engine.py": "from advisor.rules import registry\nfrom advisor.errors import InputError\n",
        "plan/engine.py": "from advisor.recommend.engine import rank\n",  # same rank, other package
        "service/routes.py": "from advisor.gate.evaluate import evaluate\n",
        "domain/specs.py": "from advisor.precision import SCHEMES\nfrom advisor.db import tables\n",
        "newstage/x.py": "import json\n",
    })
    found = violations(root)
    assert len(found) == 4, found
    assert any(f.startswith("advisor/rules/hardware.py:2: 'rules' imports 'advisor.recommend.types'") for f in found)
    assert any(f.startswith("advisor/plan/engine.py:1: 'plan' imports 'advisor.recommend.engine'") for f in found)
    assert any(f.startswith("advisor/domain/specs.py:2: bottom helper 'domain' imports stage 'db'") for f in found)
    assert "advisor/newstage/x.py: 'newstage' has no place in the flow (add it to STAGE_RANK)" in found
