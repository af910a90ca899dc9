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
    pred = annotate(predict_case(db, workload, target=target, precision=precision, framework=framework))
    if plot is not None:
        from advisor.predict.plot import plot_roofline

        plot_roofline(pred, db.get_platform(target), db.get_framework(framework), Path(plot),
                      calibration_for(db, target, framework))
    if fmt == "json":
        print(to_json(pred, per_layer))
    else:
        print_table(pred, per_layer)
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


def print_table(pred: Prediction, per_layer: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=f"{pred.model} on {pred.target}: {pred.framework} {pred.precision}", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    unit = "tokens/s" if pred.phase else "items/s"
    rows = [
        ("batch", str(pred.batch) + (f" ({pred.phase})" if pred.phase else "")),
        ("latency", f"{pred.latency_ms:.3g} ms (p10-p90 {pred.latency_ms_low:.3g}-{pred.latency_ms_high:.3g} ms)"),
        ("uncertainty", pred.uncertainty),
        ("throughput", f"{pred.throughput_per_s:,.1f} {unit}"),
        ("bound", pred.bound),
        ("memory", f"{pred.memory_mb:,.1f} MB"),
        ("FLOPs / MACs", f"{pred.flops / 1e9:,.2f} G / {pred.macs / 1e9:,.2f} G"),
        ("params", f"{pred.params / 1e6:,.2f} M"),
        ("kernels", str(len(pred.layers))),
    ]
    rows += [(f"source: {k}", v) for k, v in pred.provenance.items()]
    for field, value in rows:
        summary.add_row(field, value)
    console.print(summary)
    for w in pred.warnings:
        console.print(f"[yellow]note:[/yellow] {w}", highlight=False)
    if not per_layer:
        return
    total = sum(k.time_ms for k in pred.layers) or 1.0
    table = Table(title="per kernel")
    for col in ("#", "kernel", "kind", "bound", "time ms", "share", "util", "TFLOPS"):
        table.add_column(col, justify="right" if col not in ("kernel", "kind", "bound") else "left")
    for i, k in enumerate(pred.layers):
        table.add_row(
            str(i), k.name, k.kind, k.bound, f"{k.time_ms:.4f}", f"{k.time_ms / total:.1%}",
            f"{k.utilisation:.2f}", f"{k.achieved_tflops:.3g}",
        )
    console.print(table)
