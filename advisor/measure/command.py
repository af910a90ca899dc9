"""CLI glue for `advisor calibrate`, `advisor bench` and `advisor validate`.

Parses nothing (typer did), checks what the user asked for before measuring anything,
stores results in the database, and renders tables (rich) or JSON on stdout. Progress
goes to stderr so that `--format json` output stays machine-readable.

ADVISOR_CALIBRATE_QUICK=1 makes calibrate and validate use short budgets (for tests and
smoke runs; the records then say "QUICK mode").
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from advisor.errors import InputError

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def quick_mode() -> bool:
    from advisor.settings import calibrate_quick

    return calibrate_quick()


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ---------------------------------------------------------------- calibrate
def run_calibrate(*, device: str = "cpu", as_id: str | None = None, force: bool = False, quiet: bool = False) -> None:
    platform_id = as_id or "local"
    if not ID_RE.match(platform_id):
        raise InputError(f"--as '{platform_id}': platform ids are lower-case kebab-case, e.g. my-laptop")
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device '{device}' is not one of cpu, cuda")
    from advisor.db.store import open_store
    from advisor.measure.calibrate import calibrate, check_device

    check_device(device)
    db = open_store()
    existing = None
    if as_id is not None:
        known = {p.id for p in db.list_platforms()}
        if as_id in known:
            existing = db.get_platform(as_id)
            if existing.device_class == "cpu" and device == "cuda" or existing.device_class != "cpu" and device == "cpu":
                raise InputError(
                    f"--as {as_id}: that platform is a {existing.device_class}, but --device is {device}"
                )
    quick = quick_mode()
    from advisor.display import progress_wanted

    run = calibrate(device, platform_id, quick=quick, existing_platform=existing, show_progress=progress_wanted(quiet))
    verdict = judge_calibration_noise(run, force=force, quick=quick)
    # One transaction: a kill between the platform and its records must not leave one without the other.
    db.record_calibration(None if existing is not None else run.platform, run.records)
    print_calibration(run, created=existing is None)
    if not verdict.quiet:
        _console().print(f"warning: noisy calibration stored anyway ({'QUICK mode' if quick else '--force'}): "
                         f"{'; '.join(verdict.reasons)}")


def judge_calibration_noise(run: Any, *, force: bool, quick: bool) -> Any:
    """The run's verdict on its own noise (advisor.measure.noise). A noisy full calibration
    is refused (ConstraintNotMet, exit 1, nothing stored) unless ``force``; quick mode's
    figures are test figures, marked so, and stored with a warning."""
    from advisor.errors import ConstraintNotMet
    from advisor.measure.noise import judge_noise

    verdict = judge_noise(run.round_figures, run.contention)
    if not verdict.quiet and not force and not quick:
        raise ConstraintNotMet(
            f"calibration not stored: {'; '.join(verdict.reasons)}. Its figures would make every later "
            "prediction for this platform wrong; rerun on a quiet machine (nothing else running), "
            "or pass --force to store them anyway"
        )
    return verdict


def print_calibration(run: Any, created: bool) -> None:
    from rich.table import Table

    rec = run.records[0]
    fw = {r.framework_id: r for r in run.records}
    table = Table(title=f"calibration of '{rec.platform_id}' ({run.device}, {run.threads} threads) at {rec.measured_at}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("how")
    for p, v in rec.matmul_tflops.items():
        table.add_row(f"matmul {p}", f"{v:.3f} T/s", run.details["matmul"][p].get("size") and f"{run.details['matmul'][p]['size']}^3 GEMM")
    for p, v in rec.conv_tflops.items():
        table.add_row(f"convolution {p}", f"{v:.3f} T/s", "best of the sweep's convolutions (their own library)")
    table.add_row("vector fp32", f"{rec.vector_tflops['fp32'] * 1e3:.2f} GFLOP/s", f"depthwise convs; elementwise addcmul {run.details['elementwise_addcmul_tflops'] * 1e3:.1f}")
    bw = run.details["bandwidth"]
    table.add_row("bandwidth copy", f"{bw['copy_gbs']:.1f} GB/s", f"{bw['array_mib']:.0f} MiB arrays, read+write")
    table.add_row("bandwidth read", f"{bw['read_gbs']:.1f} GB/s", "sum()")
    ov = run.details["overheads"]
    table.add_row("eager per-op", f"{ov['module_op_us']:.1f} us", f"tiny modules; bare torch.add {ov['aten_op_us']:.1f} us")
    if rec.graph_kernel_us is not None:
        table.add_row("CUDA-graph per kernel", f"{rec.graph_kernel_us:.2f} us", "replay of tiny adds")
    ort = fw.get("onnxruntime-cpu")
    if ort is not None:
        how = {"fp32": "best of 1024^3 MatMul and the sweep", "int8": "QDQ GEMM-shaped sweep, int8 node alone"}
        for p, v in ort.matmul_tflops.items():
            table.add_row(f"onnxruntime {p} matmul", f"{v:.3f} T/s", how.get(p, ""))
        table.add_row("onnxruntime vector fp32", f"{ort.vector_tflops['fp32'] * 1e3:.2f} GFLOP/s", "depthwise convs")
        if "int8" in ort.vector_tflops:
            table.add_row("onnxruntime vector int8", f"{ort.vector_tflops['int8'] * 1e3:.2f} GOP/s",
                          "QDQ depthwise convs, int8 node alone")
        table.add_row("onnxruntime per-node", f"{ort.per_op_overhead_us:.2f} us", "Add/Relu chain")
    curve = ", ".join(f"{w:.0f}:{f:.2f}" for w, f in rec.utilisation_curve)
    table.add_row("utilisation curve", f"{len(rec.utilisation_curve)} points", curve)
    console = _console()
    console.print(table)
    what = "created/updated platform" if created else "kept the curated figures of platform"
    console.print(f"{what} '{rec.platform_id}'; stored {len(run.records)} calibration records "
                  f"({', '.join(r.framework_id or 'device' for r in run.records)}).")


# ---------------------------------------------------------------- bench
def run_bench(*, model: str, precision: str = "fp32", framework: str = "pytorch", batch: int | None = None,
              device: str = "cpu", fmt: str = "table", quiet: bool = False) -> None:
    from advisor.display import StepProgress, progress_wanted
    from advisor.measure.bench import BenchBudget, check_config, open_bench

    budget = BenchBudget.quick() if quick_mode() else BenchBudget()
    check_config(framework, precision, device)
    # Redrawn between steps only (StepProgress has no refresh thread to disturb the timing).
    with StepProgress("bench", 2, progress_wanted(quiet)) as progress:
        progress.step(f"build {model} on {device}")
        mb = open_bench(model, batch, device, budget=budget)
        try:
            progress.step(f"time {framework} {precision}")
            result = mb.run(framework, precision)
        finally:
            mb.close()
    if fmt == "json":
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{result.model} batch {result.batch} ({'x'.join(map(str, result.input_shape))}), "
                        f"{result.framework} {result.precision} on {result.device}, {result.threads} threads")
    for col in ("median ms", "p10 ms", "p90 ms", "IQR ms", "runs", "items/s"):
        table.add_column(col, justify="right")
    table.add_row(f"{result.latency_ms:.3f}", f"{result.p10_ms:.3f}", f"{result.p90_ms:.3f}",
                  f"{result.q3_ms - result.q1_ms:.3f}", str(result.runs), f"{result.throughput_per_s:.1f}")
    console = _console()
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")


# ---------------------------------------------------------------- validate
def run_validate(*, models: list[str] | None = None, batches: list[int] | None = None,
                 precisions: list[str] | None = None, frameworks: list[str] | None = None,
                 target: str = "local", device: str = "cpu", plot: Path | None = None, fmt: str = "table",
                 quiet: bool = False) -> None:
    from advisor.db.store import open_store
    from advisor.measure import validate as v
    from advisor.measure.bench import BenchBudget, bench_threads

    if device not in v.DEFAULT_MODELS:
        raise InputError(f"--device '{device}' is not one of cpu, cuda")
    if plot is not None and Path(plot).suffix.lower() not in (".png", ".svg"):
        raise InputError(f"--plot '{plot}': expected a .png or .svg file name")
    models = list(models or v.DEFAULT_MODELS[device])
    batches = list(batches or v.DEFAULT_BATCHES[device])
    db = open_store()
    # Everything that can be wrong is checked before the first (long) measurement.
    db.get_platform(target)
    configs, skipped = v.runnable_configs(v.configs_for(frameworks, precisions, device), device)
    for fw, _ in configs:
        db.get_framework(fw)
    from advisor.models import load_model
    from advisor.workload import Workload

    # A Workload takes only a positive batch; the errors come in the loader's order (an unknown
    # model before a bad batch; a later batch only once every model has loaded).
    first_batch = batches[0] if batches[0] >= 1 else None
    for model in models:
        load_model(Workload(model=model, batch=first_batch))
        if first_batch is None:
            raise InputError(f"invalid batch {batches[0]!r}: expected a positive integer")
    for batch in batches[1:]:
        if batch < 1:
            raise InputError(f"invalid batch {batch!r}: expected a positive integer")
    v.check_predictions(db, models, batches, configs, target)

    budget = BenchBudget.quick() if quick_mode() else BenchBudget()
    conditions_before = v.machine_conditions(device, bench_threads())
    # One bar over every build and measurement, redrawn between them (no refresh thread
    # competing with the benchmark).
    from advisor.display import StepProgress, progress_wanted

    steps = len(models) * len(batches) * (len(configs) + 1)
    with StepProgress("validate", steps, progress_wanted(quiet)) as progress:
        measurements = v.measure_matrix(models, batches, configs, device, budget=budget, on_start=progress.step)
    conditions = {**conditions_before, "load_average_after": v.machine_conditions(device, bench_threads()).get("load_average_1_5_15")}
    rows = v.predict_rows(db, measurements, target)
    summary = v.summarize(rows, skipped, conditions)
    db.add_validation_results(v.storage_rows(summary))
    if plot is not None:
        v.plot_validation(summary.rows, Path(plot))
    if fmt == "json":
        print(json.dumps(summary.model_dump(mode="json"), indent=2))
    else:
        print_validation(summary)
    if plot is not None:
        print(f"plot written to {plot}", file=sys.stderr)


def print_validation(summary: Any) -> None:
    from rich.table import Table

    table = Table(title=f"predicted vs measured on '{summary.rows[0].target}'")
    for col, just in (("model", "left"), ("batch", "right"), ("framework", "left"), ("precision", "left"),
                      ("predicted ms", "right"), ("measured ms", "right"), ("p10-p90 ms", "right"), ("error", "right")):
        table.add_column(col, justify=just)
    for r in summary.rows:
        table.add_row(r.model, str(r.batch), r.framework, r.precision, f"{r.predicted_ms:.2f}",
                      f"{r.measured_ms:.2f}", f"{r.p10_ms:.1f}-{r.p90_ms:.1f}", f"{r.error:+.0%}")
    console = _console()
    console.print(table)
    console.print(f"median absolute error {summary.median_abs_error:.1%} (mean {summary.mean_abs_error:.1%}, "
                  f"{summary.within_25pct:.0%} of rows within 25%)")
    console.print(f"pairwise order agreement {summary.pairwise_agreement:.1%} of {summary.pairs} pairs"
                  + (f"; within a model and batch {summary.within_config_agreement:.1%} of {summary.within_config_pairs}"
                     if summary.within_config_agreement is not None else ""))
    for s in summary.skipped:
        console.print(f"skipped: {s}")
