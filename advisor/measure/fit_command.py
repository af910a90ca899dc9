"""CLI glue for `advisor fit MEASUREMENTS... --target ID` (advisor.measure.fitting does the work)."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.display import p10_p90, sig3
from advisor.domain.workload_kinds import kind_label
from advisor.errors import InputError
from advisor.predict.corrections import parse_correction_key
from advisor.predict.intervals import IntervalClass, interval_table
from advisor.predict.platform_corrections import platform_correction_table


def run_fit_command(paths: list[Path], target: str, fmt: str = "table") -> None:
    from advisor.db.store import open_store
    from advisor.measure.fit_inputs import read_measurements
    from advisor.measure.fitting import run_fit

    if not paths:
        raise InputError("advisor fit: give at least one measurements file")
    measurements = [m for path in paths for m in read_measurements(path)]
    origin = ", ".join(p.name for p in paths)
    store = open_store()
    platform = store.get_platform(target)  # unknown target: InputError naming the nearest ids
    result = run_fit(store, target, measurements, origin)
    ranges = calibrated_ranges(platform.device_class, result.corrections)
    # the published figures these predictions carried: one per workload kind measured
    kinds = sorted({s.workload for s in result.samples})
    published = [fit for kind in kinds if (fit := platform_correction_table().find(target, kind)) is not None]
    if fmt == "json":
        print(json.dumps({
            "target": target, "measurements": len(result.samples),
            "published_correction": {fit.workload: fit.multiplier for fit in published} or None,
            "median_abs_error_before": result.before, "median_abs_error_after": result.after,
            "corrections": result.corrections, "sources": result.sources, "unscored_kinds": result.unscored_kinds,
            "ranges": {key: {"low_ratio": cls.low_ratio, "high_ratio": cls.high_ratio, "class": cls.describe()}
                       for key, cls in ranges.items()},
        }, indent=2))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=100)
    console.print(f"fitted {len(result.corrections)} corrections for {target} from {len(result.samples)} measurements; "
                  f"leave-one-model-out median |error| {result.before:.1%} -> {result.after:.1%}")
    table = Table("correction", "x latency", "range now", "measurements", "models", box=box.SIMPLE_HEAD)
    for key, value in sorted(result.corrections.items()):
        detail = result.sources[key].split(": ", 1)[1].split(";")[0]  # "N measurements of a, b"
        count, _, models = detail.partition(" measurements of ")
        cls = ranges[key]
        table.add_row(key, sig3(value), f"x{p10_p90(cls.low_ratio, cls.high_ratio)}", count, models)
    console.print(table)
    for kind in result.unscored_kinds:
        console.print(f"{kind_label(kind)} measurements of one model only: no correction for {kind_label(kind)} "
                      "predictions (a figure is kept only when leaving one model out can score it)")
    for fit in published:
        console.print(f"{kind_label(fit.workload)} predictions on {target} without `advisor calibrate` figures carry its published "
                      f"correction x{sig3(fit.multiplier)} ({', '.join(fit.sources)}; "
                      "configs/platform_corrections.yaml): the corrections above are fitted on top of it")
    rows = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("model", "framework", "precision"):
        rows.add_column(name, no_wrap=True)
    for name in ("measured", "predicted", "held-out", "before", "after"):
        rows.add_column(name, justify="right", no_wrap=True)
    for m, s in zip(measurements, result.samples):
        held = result.held_out_ms[s.id]
        shape = f"b{m.batch}" + (f" {m.phase}" if m.phase else "")
        rows.add_row(m.model, m.framework, f"{m.precision} {shape}", sig3(s.measured_ms), sig3(s.predicted_ms),
                     sig3(held), f"{s.predicted_ms / s.measured_ms - 1:+.0%}", f"{held / s.measured_ms - 1:+.0%}")
    console.print(rows)
    console.print("times in ms; held-out: predicted with corrections fitted on the other models only; range now: "
                  "the p10-p90 of measured / predicted that predictions on this target now carry (the calibrated "
                  "interval classes, docs/predictor.md section 12)")


def calibrated_ranges(device_class: str, corrections: dict[str, float]) -> dict[str, IntervalClass]:
    """The interval class a prediction of each fitted framework/family now gets: a fit stores a
    calibration record, so the lookup starts at the calibrated classes; ``*/*`` is what reaches
    the frameworks the fit did not measure, whose ranges come from the other-framework classes."""
    table = interval_table()
    out = {}
    for key in corrections:
        framework, family, _ = parse_correction_key(key)  # the classes are not split by workload kind
        out[key] = table.lookup(device_class, framework, family, calibrated=True, framework_measured=framework != "*")
    return out
