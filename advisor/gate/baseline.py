"""Baselines: an earlier gate result whose figures later runs must not regress from.

A baseline file is exactly the JSON that `advisor gate --format json` prints (and that
`--write-baseline` writes), so any earlier CI artefact can serve as one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from advisor.errors import InputError
from advisor.gate.types import CandidateFigures, GateResult
from advisor.safe_input import load_json, read_text

MAX_BASELINE_BYTES = 10_000_000


def read_baseline(path: Path, target: str) -> CandidateFigures:
    """The figures to compare against: the baseline's selected (or best) candidate.

    A baseline for another target is refused: comparing latencies across devices says
    nothing about a regression.
    """
    text = read_text(path, MAX_BASELINE_BYTES, what="baseline (a gate's JSON result)")
    try:
        data = load_json(text, str(path))
    except InputError as exc:
        raise InputError(f"{path}: not a JSON gate result ({str(exc).removeprefix(f'{path}: ')})") from None
    try:
        result = GateResult.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "result"
        raise InputError(f"{path}: not a gate result: {where}: {err['msg']}") from None
    if result.target != target:
        raise InputError(f"{path}: baseline target '{result.target}' differs from the config's target '{target}'")
    figures = result.selected or result.best
    if figures is None:
        raise InputError(f"{path}: baseline has no candidate to compare against (its gate had none)")
    return figures


def write_baseline(path: Path, result: GateResult) -> None:
    """Write the result as a baseline (atomically, so a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
