"""Errors of the roofline model (no correction, no calibration) on the FIT rows only.

    python benchmarks/fit_rows.py

The rows the predictor's structure is judged on (docs/predictor.md): rows 1, 9, 13, 17 and 20
of /work/shared/reference/published-measurements.md as they appear in
benchmarks/data/published.yaml (`row`). A structural change to the predictor is accepted or
refused on these rows alone; benchmarks/accuracy.py scores every row by leave-one-source-out.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fit import predict_rows  # noqa: E402

#: the rows the fitted constants and structural changes were judged on
FIT_ROWS = frozenset({1, 9, 13, 17, 20})


def main() -> int:
    preds, _ = predict_rows()
    errors = []
    for p in preds:
        if p.row.get("row") not in FIT_ROWS:
            continue
        err = p.predicted_ms / p.measured_ms - 1
        errors.append(abs(err))
        print(f"{p.row['id']:24s} {p.row['framework']:22s} {p.row['precision']:6s} "
              f"measured {p.measured_ms:9.3g} ms  predicted {p.predicted_ms:9.3g} ms  error {err:+.0%}")
    print(f"fit rows: {len(errors)}, median |error| {statistics.median(errors):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
