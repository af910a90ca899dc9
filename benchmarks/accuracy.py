"""Predict every published measurement the zoo can express and report the error.

    python benchmarks/accuracy.py            # writes docs/accuracy.md
    python benchmarks/accuracy.py --fit      # also searches the fitted constants on the FIT rows

Rows come from benchmarks/data/published.yaml (taken from
/work/shared/reference/published-measurements.md, sources kept per row). Platforms and
frameworks are read from hardware_db/ (the database's seed), plus the two variants that
file declares. Profiles are counted on meta tensors once and cached under the user cache dir.

Errors are reported on latency (ms per call; throughput rows converted: batch / items per s):
error = predicted / measured - 1. The headline figures are the median absolute error of the
held-out rows and the pairwise order agreement within each device (for every two rows on the
same platform, is the faster one predicted faster?). Low-confidence rows are listed but kept
out of the headline metrics.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.domain.specs import FrameworkSpec, Peak, PlatformSpec  # noqa: E402
from advisor.db.yaml_io import load_framework_file, load_platform_file  # noqa: E402
from advisor.predict.constants import PredictorConstants, predictor_constants  # noqa: E402
from advisor.predict.engine import predict  # noqa: E402
from advisor.profiling.types import Category, OpRecord, Profile  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "published.yaml"
REPORT = ROOT / "docs" / "accuracy.md"


@dataclass
class Result:
    row: dict[str, Any]
    predicted_latency_ms: float
    measured_latency_ms: float
    predicted_value: float
    bound: str

    @property
    def error(self) -> float:
        return self.predicted_latency_ms / self.measured_latency_ms - 1.0

    @property
    def headline(self) -> bool:
        return self.row.get("confidence", "normal") != "low"


def load_specs(variants: dict[str, Any], fw_variants: dict[str, Any] | None = None
               ) -> tuple[dict[str, PlatformSpec], dict[str, FrameworkSpec]]:
    platforms = {p.id: p for f in sorted((ROOT / "hardware_db" / "platforms").glob("*.yaml")) for p in load_platform_file(f)}
    frameworks = {p.id: p for f in sorted((ROOT / "hardware_db" / "frameworks").glob("*.yaml")) for p in load_framework_file(f)}
    for vid, v in variants.items():
        base = platforms[v["base"]]
        src = v["source"]
        data = base.model_dump()
        data.update(id=vid, name=f"{base.name} ({vid})", sparse_headline={})
        if "clock_ghz" in v:
            data["parallelism"]["clock_ghz"] = v["clock_ghz"]
        for key, engine in (("matrix_peaks", "tensor"), ("vector_peaks", "vector")):
            for prec, value in v.get(key, {}).items():
                data[key][prec] = Peak(value=value, engine=engine, source=src).model_dump()
        if "bandwidth_gbs" in v:
            data["memory"]["bandwidth_gbs"] = {"value": v["bandwidth_gbs"], "source": src}
        if "capacity_gb" in v:
            data["memory"]["capacity_gb"] = {"value": v["capacity_gb"], "source": src}
        platforms[vid] = PlatformSpec.model_validate(data)
    for vid, v in (fw_variants or {}).items():
        data = frameworks[v["base"]].model_dump()
        data["id"], data["name"] = vid, f"{data['name']} ({vid})"
        data["overhead"]["per_kernel_us"] = frameworks[v["per_kernel_from"]].overhead.per_kernel_us.model_dump()
        data["overhead"]["per_call_us"] = {"value": v["per_call_us"], "source": v["source"]}
        frameworks[vid] = FrameworkSpec.model_validate(data)
    return platforms, frameworks


def gemm_profile(m: int, n: int, k: int) -> Profile:
    """A one-kernel profile for rows that measured a single GEMM."""
    op = OpRecord(
        op="aten.mm", category=Category.matmul, module_path="gemm", module_type="Linear",
        flops=2 * m * n * k, macs=m * n * k, weight_elems=n * k, input_elems=m * k, output_elems=m * n,
        output_shape=[m, n], parallel_work=m * n, gemm_mnk=(m, n, k),
    )
    return Profile(model=f"gemm {m}x{n}x{k}", input_shape=[m, k], params=n * k, ops=[op])


def profile_for(row: dict[str, Any], cache_dir: Path) -> Profile:
    model = row["model"]
    if isinstance(model, dict):
        return gemm_profile(*model["gemm"])
    from advisor.workload import Workload

    workload = Workload(model=model, batch=row.get("batch"), phase=row.get("phase"), seq_len=row.get("seq_len"),
                        context=row.get("context"))
    path = cache_dir / (workload.profile_cache_key().replace("/", "_") + ".json")
    if path.exists():
        return Profile.model_validate_json(path.read_text())
    from advisor.profiling.api import count_workload

    prof = count_workload(workload)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.model_dump_json())
    return prof


def evaluate(rows, profiles, platforms, frameworks, constants: PredictorConstants,
             framework_overrides: dict[str, dict[str, float]] | None = None) -> list[Result]:
    results = []
    for row in rows:
        prof = profiles[row["id"]]
        fw = frameworks[row["framework"]]
        if framework_overrides and fw.id in framework_overrides:
            fw = override_framework(fw, framework_overrides[fw.id])
        pred = predict(prof, platforms[row["platform"]], fw, row["precision"], constants=constants)
        metric, measured = row["metric"], float(row["measured"])
        batch = prof.batch
        if metric == "kernel_ms":
            value = pred.layers[0].time_ms
            results.append(Result(row, value, measured, value, pred.layers[0].bound))
            continue
        if metric == "latency_ms":
            meas_lat, value = measured, pred.latency_ms
        elif metric in ("tokens_per_s", "items_per_s"):
            meas_lat, value = batch / measured * 1e3, pred.throughput_per_s
        else:
            raise ValueError(f"row {row['id']}: unknown metric {metric}")
        results.append(Result(row, pred.latency_ms, meas_lat, value, pred.bound))
    return results


def override_framework(fw: FrameworkSpec, values: dict[str, float]) -> FrameworkSpec:
    data = fw.model_dump()
    for key, value in values.items():
        section, name = key.split(".")
        data[section][name]["value"] = value
    return FrameworkSpec.model_validate(data)


def median_abs(results: list[Result]) -> float:
    errs = [abs(r.error) for r in results if r.headline]
    return statistics.median(errs) if errs else float("nan")


def pairwise_order(results: list[Result]) -> tuple[int, int, list[tuple[str, str]]]:
    """(agreeing pairs, pairs, wrong pairs) over rows on the same platform (headline rows)."""
    good = total = 0
    wrong = []
    by_platform: dict[str, list[Result]] = {}
    for r in results:
        if r.headline:
            by_platform.setdefault(r.row["platform"], []).append(r)
    for group in by_platform.values():
        for a, b in itertools.combinations(group, 2):
            if a.measured_latency_ms == b.measured_latency_ms:
                continue
            total += 1
            if (a.predicted_latency_ms < b.predicted_latency_ms) == (a.measured_latency_ms < b.measured_latency_ms):
                good += 1
            else:
                wrong.append((a.row["id"], b.row["id"]))
    return good, total, wrong


def log_loss(results: list[Result]) -> float:
    """Mean |log(pred/meas)| over headline rows: symmetric in over/under-prediction."""
    errs = [abs(math.log(r.predicted_latency_ms / r.measured_latency_ms)) for r in results if r.headline]
    return sum(errs) / len(errs)


#: The constants `--fit` searches, and the grid for each (reasoned ranges, docs/predictor.md).
FIT_GRID: dict[str, list[float]] = {
    "host.slowdown.edge_gpu_soc": [1.0, 2.0, 3.0, 4.0, 6.0],
    "gpu.k_half": [64, 128, 256, 512, 1024],
    "gpu.min_kernel_cycles": [500, 1000, 2000, 4000, 8000],
}


def with_values(base: PredictorConstants, values: dict[str, float]) -> PredictorConstants:
    data = base.model_dump()
    for dotted, value in values.items():
        *path, last = dotted.split(".")
        node = data
        for part in path:
            node = node[part]
        node[last] = value
    return PredictorConstants.model_validate(data)


def fit(rows, profiles, platforms, frameworks, base: PredictorConstants) -> tuple[PredictorConstants, dict[str, float]]:
    """Grid search of FIT_GRID on the FIT rows only, minimising mean |log error|."""
    fit_rows = [r for r in rows if r["split"] == "fit"]
    best: tuple[float, dict[str, float]] | None = None
    names = list(FIT_GRID)
    for combo in itertools.product(*(FIT_GRID[n] for n in names)):
        values = dict(zip(names, combo))
        loss = log_loss(evaluate(fit_rows, profiles, platforms, frameworks, with_values(base, values)))
        if best is None or loss < best[0] - 1e-12:
            best = (loss, values)
    assert best is not None
    return with_values(base, best[1]), best[1]


def current_fitted() -> dict[str, float]:
    data = predictor_constants().model_dump()
    out = {}
    for dotted in FIT_GRID:
        node = data
        for part in dotted.split("."):
            node = node[part]
        out[dotted] = node
    return out


def fmt_ms(v: float) -> str:
    return f"{v:.3g}"


def write_report(results: list[Result], skipped: list[dict], fitted: dict[str, float] | None, path: Path) -> str:
    fit_r = [r for r in results if r.row["split"] == "fit"]
    hold_r = [r for r in results if r.row["split"] == "holdout"]
    good, total, wrong = pairwise_order(results)
    hg, ht, _ = pairwise_order(hold_r)
    lines = [
        "# Predictor accuracy on published measurements",
        "",
        "Generated by `python benchmarks/accuracy.py` from `benchmarks/data/published.yaml` (rows of",
        "`shared/reference/published-measurements.md` that the zoo can express; each row keeps its source).",
        "Platforms and frameworks are the seed data in `hardware_db/`, constants are `configs/predictor.yaml`.",
        "No calibration record is used: every figure is datasheet x framework efficiency.",
        "",
        "Error = predicted latency / measured latency - 1 (throughput rows converted to latency per call).",
        "Low-confidence rows (marked *) are listed but left out of the summary metrics.",
        "",
        "## Summary",
        "",
        "| split | rows | median abs error | pairwise order (same device) |",
        "|---|---|---|---|",
    ]
    for name, group in (("fit", fit_r), ("held-out", hold_r), ("all", results)):
        g, t, _ = pairwise_order(group)
        n = sum(r.headline for r in group)
        order = f"{g}/{t} = {g / t:.0%}" if t else "n/a"
        lines.append(f"| {name} | {n} | {median_abs(group):.1%} | {order} |")
    lines += ["", f"Pairwise order over all rows: {good}/{total}; held-out only: {hg}/{ht}.", ""]
    current = ", ".join(f"`{k}` = {v:g}" for k, v in current_fitted().items())
    lines += [f"Fitted constants as used (configs/predictor.yaml): {current}.",
              "They were searched on the fit split only (`python benchmarks/accuracy.py --fit`, grid in FIT_GRID)."]
    if fitted:
        lines += ["This run's fit found: " + ", ".join(f"`{k}` = {v:g}" for k, v in fitted.items()) + "."]
    lines += [""]
    lines += [
        "## Rows",
        "",
        "| id | split | model | platform | framework | precision | batch/phase | measured | predicted | error | bound |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        row = r.row
        model = row["model"] if isinstance(row["model"], str) else "GEMM " + "x".join(map(str, row["model"]["gemm"]))
        shape = str(row.get("batch", 1))
        if row.get("phase"):
            shape += f" {row['phase']} " + (f"seq {row['seq_len']}" if row.get("seq_len") else f"ctx {row['context']}")
        unit = {"latency_ms": "ms", "kernel_ms": "ms", "tokens_per_s": "tok/s", "items_per_s": "img/s"}[row["metric"]]
        star = "" if r.headline else " *"
        lines.append(
            f"| {row['id']}{star} | {row['split']} | {model} | {row['platform']} | {row['framework']} | {row['precision']} | {shape} "
            f"| {fmt_ms(float(row['measured']))} {unit} | {fmt_ms(r.predicted_value)} {unit} | {r.error:+.0%} | {r.bound} |"
        )
    lines += ["", "Wrongly ordered pairs (all splits): " + (", ".join(f"{a} vs {b}" for a, b in wrong) or "none"), ""]
    lines += ["## Rows not predicted", ""]
    lines += [f"- row {s['row']}: {s['reason']}" for s in skipped]
    notes = [r for r in results if r.row.get("note")]
    lines += ["", "## Row notes", ""] + [f"- {r.row['id']}: {r.row['note']}" for r in notes]
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="search the fitted constants on the fit split and print them")
    ap.add_argument("--report", type=Path, default=REPORT)
    ap.add_argument("--json", action="store_true", help="print per-row results as JSON")
    args = ap.parse_args(argv)

    data = yaml.safe_load(DATA.read_text())
    rows = data["rows"]
    platforms, frameworks = load_specs(data.get("platform_variants", {}), data.get("framework_variants", {}))
    from platformdirs import user_cache_dir

    cache = Path(user_cache_dir("advisor")) / "accuracy-profiles"
    profiles = {row["id"]: profile_for(row, cache) for row in rows}
    constants = predictor_constants()
    fitted = None
    if args.fit:
        _, fitted = fit(rows, profiles, platforms, frameworks, constants)
        print("fitted on the fit split:", json.dumps(fitted), "(copy into configs/predictor.yaml to use them)")
    results = evaluate(rows, profiles, platforms, frameworks, constants)
    text = write_report(results, data.get("skipped", []), fitted, args.report)
    if args.json:
        print(json.dumps([{"id": r.row["id"], "measured_ms": r.measured_latency_ms, "predicted_ms": r.predicted_latency_ms,
                           "error": r.error} for r in results], indent=1))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
