"""`advisor gate CONFIG.yaml`: the CI entry point. Prints the verdict, writes the reports,
and raises ConstraintNotMet (exit 1) when no allowed candidate meets the budget."""

from __future__ import annotations

from pathlib import Path

from advisor.errors import ConstraintNotMet
from advisor.gate import baseline as baselines
from advisor.gate.config import load_config
from advisor.gate.junit import write_junit
from advisor.gate.render import headline, render


def run_gate(
    *,
    config: Path,
    junit: Path | None = None,
    baseline: Path | None = None,
    write_baseline: Path | None = None,
    fmt: str = "table",
) -> None:
    """Validate the config and baseline before any work, so bad input exits 2 without
    writing a report; then evaluate, print, write the reports, and set the exit code."""
    from advisor.db.store import open_store
    from advisor.gate.evaluate import evaluate_gate

    cfg = load_config(config)
    reference = baselines.read_baseline(baseline, cfg.target) if baseline is not None else None
    db = open_store(readonly=True)
    result = evaluate_gate(cfg, db, allow_code=True, source=str(config), baseline=reference)

    print(render(result, fmt))
    if junit is not None:
        write_junit(junit, result)
    if write_baseline is not None:
        baselines.write_baseline(write_baseline, result)
    if not result.passed:
        raise ConstraintNotMet(headline(result))
