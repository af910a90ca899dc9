"""`advisor predict`: one model x precision x framework on a target, as a table or JSON."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING

from advisor.predict.types import Prediction

if TYPE_CHECKING:
    from advisor.predict.api import PredictedCase
    from advisor.workload import Workload


def run_predict(
    workload: Workload,
    *,
    target: str,
    precision: str,
    framework: str,
    annotate: Callable[[PredictedCase], Prediction],
    per_layer: bool = False,
    plot: Path | None = None,
    fmt: str = "table",
) -> None:
    """Predict ``workload`` and print it. ``annotate`` turns the predicted case into the
    prediction shown: the CLI passes the rules' notes (advisor.rules.notes.with_rule_notes),
    which sit a stage above the predictor."""
    from advisor.db.store import open_store
    from advisor.predict.api import calibration_for, predict_case

    if plot is not None:
        from advisor.predict.plot import SUFFIXES

        if Path(plot).suffix.lower() not in SUFFIXES:
            from advisor.errors import InputError

            raise InputError(f"--plot {plot}: use a .png or .svg file name")
    db = open_store(readonly=True)
    case = predict_case(db, workload, target=target, precision=precision, framework=framework)
    pred = annotate(case)
    if plot is not None:
        from advisor.predict.plot import plot_roofline

        plot_roofline(pred, db.get_platform(target), db.get_framework(framework), Path(plot),
                      calibration_for(db, target, framework))
    if fmt == "json":
        print(to_json(pred, per_layer))
    else:
        from advisor.display import throughput_unit

        print_table(pred, per_layer, throughput_unit(case.profile.phase, case.profile.input_shape))
    if plot is not None:
        import sys

        print(f"roofline chart written to {plot}", file=sys.stderr)


def to_json(pred: Prediction, per_layer: bool) -> str:
    """model_dump of the Prediction; ``layers`` holds the kernels only with --per-layer."""
    data = pred.model_dump(mode="json")
    if not per_layer:
        data["layers"] = []
    from advisor.finite_json import dumps

    return dumps(data, "prediction", indent=2)  # NaN/Infinity: one line naming the field


def print_table(pred: Prediction, per_layer: bool, unit: str | None = None) -> None:
    """The answer in one line, its details as "field: value" lines (wrapped, never cut), and
    with --per-layer the kernels in a table that fits the terminal; three significant figures."""
    from advisor.display import Column, count, fitted_table, megabytes, ms_range, print_lines, rate, sig3
    from advisor.display import console as fitting_console

    console = fitting_console()
    unit = unit or ("tok/s" if pred.phase else "items/s")
    if pred.phase and unit == "tok/s":
        unit = "tokens/s"
    print_lines(console, [f"{pred.model} on {pred.target} with {pred.framework} {pred.precision}: "
                          f"{ms_range(pred.latency_ms, pred.latency_ms_low, pred.latency_ms_high, say_side=True)}, "
                          f"{rate(pred.throughput_per_s, unit)}, {megabytes(pred.memory_mb)}, {pred.bound}-bound"],
                style="bold")
    rows = [
        ("batch", str(pred.batch) + (f" ({pred.phase})" if pred.phase else "")),
        ("latency", f"{sig3(pred.latency_ms)} ms (p10-p90 {sig3(pred.latency_ms_low)}-{sig3(pred.latency_ms_high)} ms)"),
        ("uncertainty", pred.uncertainty),
        ("throughput", rate(pred.throughput_per_s, unit)),
        ("memory", megabytes(pred.memory_mb)),
        ("FLOPs / MACs", f"{count(pred.flops, 'FLOPs')} / {count(pred.macs, 'MACs')}"),
        ("params", count(pred.params)),
        ("kernels", str(len(pred.layers))),
    ]
    rows += [(f"source: {k}", v) for k, v in pred.provenance.items()]
    print_lines(console, [f"  {field}: {value}" for field, value in rows])
    print_lines(console, [f"note: {w}" for w in pred.warnings], style="yellow")
    if not per_layer:
        return
    total = sum(k.time_ms for k in pred.layers) or 1.0
    columns = [Column("#", "right"), Column("kernel", shrink=True, min_width=16), Column("kind", priority=2),
               Column("bound", priority=3), Column("time ms", "right"), Column("share", "right"),
               Column("util", "right", priority=1), Column("TFLOPS", "right", priority=1)]
    table_rows = [[str(i), k.name, k.kind, k.bound, sig3(k.time_ms), f"{sig3(100 * k.time_ms / total)}%",
                   sig3(k.utilisation), sig3(k.achieved_tflops)] for i, k in enumerate(pred.layers)]
    console.print(fitted_table(columns, table_rows, console.width, title="per kernel"))
