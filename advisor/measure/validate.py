"""`advisor validate`: bench and predict over a matrix and report how far apart they are.

Two figures summarise a run:
- median absolute relative error |predicted / measured - 1| over all rows;
- pairwise order agreement: over every pair of rows whose measured latencies differ, the
  fraction where the prediction orders them the same way (is the faster configuration
  predicted faster?). Also reported within each (model, batch), i.e. for the choice of
  framework and precision, which is what `advisor recommend` decides.

Measuring and predicting are separate steps so that saved measurements
(benchmarks/data/validation-*.json) can be re-predicted when the predictor changes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform as pyplatform
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from advisor.errors import InputError
from advisor.measure.bench import BenchBudget, BenchResult

if TYPE_CHECKING:
    from advisor.db.store import Store

DEFAULT_MODELS: dict[str, list[str]] = {
    "cpu": ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "yolov5n", "yolov5s"],
    "cuda": ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "yolov5n", "yolov5s"],
}
DEFAULT_BATCHES: dict[str, list[int]] = {"cpu": [1, 8], "cuda": [1, 8, 64]}
DEFAULT_CONFIGS: dict[str, list[tuple[str, str]]] = {
    "cpu": [("pytorch", "fp32"), ("onnxruntime-cpu", "fp32"), ("onnxruntime-cpu", "int8")],
    "cuda": [(fw, p) for fw in ("pytorch", "pytorch-cudagraphs") for p in ("fp32", "tf32", "fp16", "bf16")],
}


class ValidationRow(BaseModel):
    model: str
    batch: int
    framework: str
    precision: str
    target: str
    device: str
    predicted_ms: float
    measured_ms: float  # median
    p10_ms: float
    p90_ms: float
    runs: int
    stable: bool
    error: float  # predicted / measured - 1 (signed)
    bound: str
    measured_at: str
    calibration: str | None = None  # measured_at of the calibration the prediction used


class ValidationSummary(BaseModel):
    rows: list[ValidationRow]
    median_abs_error: float
    mean_abs_error: float
    within_25pct: float  # fraction of rows with |error| <= 25%
    pairwise_agreement: float
    pairs: int
    within_config_agreement: float | None  # pairs inside one (model, batch)
    within_config_pairs: int
    skipped: list[str] = Field(default_factory=list)
    conditions: dict[str, Any] = Field(default_factory=dict)


def configs_for(frameworks: Sequence[str] | None, precisions: Sequence[str] | None, device: str) -> list[tuple[str, str]]:
    """The (framework, precision) pairs to run: the default matrix when neither is given,
    else the cross product of the given (or default) lists."""
    if not frameworks and not precisions:
        return list(DEFAULT_CONFIGS[device])
    default = DEFAULT_CONFIGS[device]
    fws = list(frameworks) if frameworks else list(dict.fromkeys(f for f, _ in default))
    precs = list(precisions) if precisions else list(dict.fromkeys(p for _, p in default))
    return list(itertools.product(fws, precs))


def runnable_configs(configs: list[tuple[str, str]], device: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split into what runs here and a reason for each that does not. When a single
    configuration was asked for explicitly, its InputError is raised instead."""
    from advisor.measure.bench import check_config

    ok, skipped = [], []
    for fw, p in configs:
        try:
            check_config(fw, p, device)
            ok.append((fw, p))
        except InputError as exc:
            if len(configs) == 1:
                raise
            skipped.append(f"{fw} {p}: {exc}")
    if not ok:
        raise InputError("no framework x precision of the matrix runs on this machine: " + "; ".join(skipped))
    return ok, skipped


def measure_matrix(
    models: Sequence[str], batches: Sequence[int], configs: list[tuple[str, str]], device: str = "cpu",
    *, budget: BenchBudget | None = None, on_result: Callable[[BenchResult], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Bench every model x batch x config; a model is materialised (and exported) once per batch."""
    from advisor.measure.bench import ModelBench

    results: list[BenchResult] = []
    for model in models:
        for batch in batches:
            if on_start:
                on_start(f"{model} b{batch}: build")
            mb = ModelBench(model, batch, device, budget=budget)
            try:
                for fw, p in configs:
                    if on_start:
                        on_start(f"{model} b{batch} {fw} {p}")
                    result = mb.run(fw, p)
                    results.append(result)
                    if on_result:
                        on_result(result)
            finally:
                mb.close()
    return results


def check_predictions(db: Store, models: Sequence[str], batches: Sequence[int], configs: list[tuple[str, str]],
                      target: str) -> None:
    """Predict every configuration once before measuring, so that a name the predictor or
    the database refuses fails in seconds, not after minutes of benchmarks (profiles are
    cached in the database, so predict_rows does not pay for them again)."""
    from advisor.predict.api import predict_case
    from advisor.workload import Workload

    for model in models:
        for batch in batches:
            for fw, p in configs:
                predict_case(db, Workload(model=model, batch=batch), target=target, precision=p, framework=fw)


def predict_rows(db: Store, measurements: Sequence[BenchResult], target: str) -> list[ValidationRow]:
    """Predict each measured configuration on ``target`` and pair the two."""
    from advisor.predict.api import calibration_for, predict_case
    from advisor.workload import Workload

    rows = []
    for r in measurements:
        pred = predict_case(db, Workload(model=r.model, batch=r.batch), target=target, precision=r.precision,
                            framework=r.framework).prediction
        cal = calibration_for(db, target, r.framework)
        rows.append(ValidationRow(
            model=r.model, batch=r.batch, framework=r.framework, precision=r.precision, target=target,
            device=r.device, predicted_ms=pred.latency_ms, measured_ms=r.latency_ms, p10_ms=r.p10_ms,
            p90_ms=r.p90_ms, runs=r.runs, stable=r.stable, error=pred.latency_ms / r.latency_ms - 1.0,
            bound=pred.bound, measured_at=r.measured_at, calibration=cal.measured_at if cal else None,
        ))
    return rows


def pairwise_agreement(rows: Sequence[ValidationRow]) -> tuple[float, int]:
    """Fraction of pairs (with different measured latency) ordered the same by prediction."""
    agree = total = 0
    for a, b in itertools.combinations(rows, 2):
        if a.measured_ms == b.measured_ms:
            continue
        total += 1
        if (a.predicted_ms < b.predicted_ms) == (a.measured_ms < b.measured_ms) and a.predicted_ms != b.predicted_ms:
            agree += 1
    return (agree / total if total else 1.0), total


def summarize(rows: list[ValidationRow], skipped: list[str] | None = None,
              conditions: dict[str, Any] | None = None) -> ValidationSummary:
    if not rows:
        raise InputError("validate: nothing was measured")
    abs_err = [abs(r.error) for r in rows]
    agreement, pairs = pairwise_agreement(rows)
    groups: dict[tuple[str, int], list[ValidationRow]] = {}
    for r in rows:
        groups.setdefault((r.model, r.batch), []).append(r)
    agree_in = total_in = 0
    for group in groups.values():
        frac, n = pairwise_agreement(group)
        agree_in += round(frac * n)
        total_in += n
    return ValidationSummary(
        rows=rows,
        median_abs_error=statistics.median(abs_err),
        mean_abs_error=statistics.fmean(abs_err),
        within_25pct=sum(e <= 0.25 for e in abs_err) / len(abs_err),
        pairwise_agreement=agreement,
        pairs=pairs,
        within_config_agreement=(agree_in / total_in) if total_in else None,
        within_config_pairs=total_in,
        skipped=skipped or [],
        conditions=conditions or {},
    )


def machine_conditions(device: str, threads: int) -> dict[str, Any]:
    """What the numbers depend on: CPU, threads, versions, and how busy the machine was."""
    from advisor.measure.bench import versions
    from advisor.measure.sysinfo import detect_cpu

    cpu = detect_cpu()
    out: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "device": device,
        "cpu": cpu.model_name,
        "logical_cpus": cpu.logical_cpus,
        "threads": threads,
        "python": pyplatform.python_version(),
        **versions(),
    }
    try:
        out["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every OS
        pass
    if device == "cuda":
        import torch

        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def storage_rows(summary: ValidationSummary) -> list[dict[str, Any]]:
    """Rows as dicts for db.add_validation_results."""
    return [r.model_dump() for r in summary.rows]


def plot_validation(rows: Sequence[ValidationRow], path: Path, title: str = "advisor: predicted vs measured latency") -> Path:
    """Log-log scatter of predicted against measured latency, one marker per config,
    with the y = x line and the +/-25% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"--plot '{path}': expected a .png or .svg file name")
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    configs = sorted({(r.framework, r.precision) for r in rows})
    markers = "osD^v<>pPX*h"
    for i, (fw, p) in enumerate(configs):
        sel = [r for r in rows if (r.framework, r.precision) == (fw, p)]
        ax.scatter([r.measured_ms for r in sel], [r.predicted_ms for r in sel], marker=markers[i % len(markers)],
                   label=f"{fw} {p}", alpha=0.8)
        for r in sel:
            ax.annotate(f"{r.model} b{r.batch}", (r.measured_ms, r.predicted_ms), fontsize=6, alpha=0.6,
                        xytext=(3, 2), textcoords="offset points")
    values = [v for r in rows for v in (r.measured_ms, r.predicted_ms)]
    lo, hi = min(values) / 1.5, max(values) * 1.5
    ax.plot([lo, hi], [lo, hi], "k-", lw=1, label="predicted = measured")
    ax.fill_between([lo, hi], [lo * 0.75, hi * 0.75], [lo * 1.25, hi * 1.25], color="grey", alpha=0.15, label="+/-25%")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured latency, median (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
