"""The committed outputs of benchmarks/accuracy.py and benchmarks/fit.py were generated from the
committed benchmarks/data/published.yaml: a row added without rerunning them leaves the
intervals `recommend` prints, the fitted figures and docs/accuracy.md describing other data."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def published() -> tuple[int, int]:
    rows = yaml.safe_load((ROOT / "benchmarks" / "data" / "published.yaml").read_text())["rows"]
    return len(rows), len({r["source_id"] for r in rows})


def test_intervals_config_counts_every_published_row() -> None:
    classes = yaml.safe_load((ROOT / "configs" / "intervals.yaml").read_text())["classes"]
    (everything,) = [c for c in classes if (c["device_class"], c["framework"], c["precision_family"]) == ("*", "*", "*")]
    assert everything["n"] == published()[0]


def test_fitted_config_counts_every_published_row() -> None:
    figures = yaml.safe_load((ROOT / "configs" / "fitted.yaml").read_text())["figures"]
    (root,) = [f for f in figures if not any(level in f for level in ("device_class", "framework", "precision_family"))]
    assert root["n"] == published()[0]


def test_accuracy_report_scores_every_published_row_and_source() -> None:
    text = (ROOT / "docs" / "accuracy.md").read_text()
    match = re.search(r"\| rows / sources \| (\d+) / (\d+) \|", text)
    assert match is not None
    assert (int(match[1]), int(match[2])) == published()
