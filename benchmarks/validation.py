"""Predicted vs measured latency on this machine: the data behind docs/validation.md.

Two steps, so the (slow, machine-bound) measurements and the (fast, code-bound)
predictions can be redone separately:

    # 1. calibrate this machine and bench the matrix; writes benchmarks/data/validation-<dev>.json
    python benchmarks/validation.py measure --calibrate [--device cpu|cuda]
    # (optional) calibrate again, keeping the measurements:  ... calibrate [--realtime]
    # 2. predict every measured configuration with the calibration stored in that file,
    #    in a throw-away database, and write docs/validation[-gpu].md and the plot
    python benchmarks/validation.py report [--device cpu|cuda]

Matrix (defaults of `advisor validate`): CPU: resnet18, resnet50, mobilenet_v2,
efficientnet_b0, vit_b_16, yolov5n, yolov5s at batch 1 and 8 x {pytorch fp32,
onnxruntime-cpu fp32, onnxruntime-cpu int8}. CUDA: the same models at batch 1, 8, 64 x
{pytorch, pytorch-cudagraphs} x {fp32, tf32, fp16, bf16}.

On a shared machine other processes stretch timings (with OpenMP, a thread that loses its
core stalls the others at every barrier: resnet18 in eager PyTorch went from ~40 ms to
~3 s on this 2-core VM while colleagues ran test suites). `measure` therefore
- records, per configuration, the share of the CPUs other processes used while it ran;
- with --realtime (Linux, root), measures each model under SCHED_FIFO priority 10, so
  other processes cannot preempt the benchmark threads; the kernel's RT throttling
  (sched_rt_runtime_us, 95% by default) still leaves them 5% of every second, and the
  script drops back to normal scheduling and pauses (--pause-s) between models so the
  machine stays usable for others;
- waits for a quiet machine before starting (--wait-quiet) and re-measures
  configurations measured under contention (up to --retries times), keeping the least
  contended measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "benchmarks" / "data"
DOCS = ROOT / "docs"
CONTENDED = 0.15  # re-measure when other processes used more than this share of the CPUs


def data_path(device: str) -> Path:
    return DATA / f"validation-{'cpu' if device == 'cpu' else 'gpu'}.json"


@contextlib.contextmanager
def realtime(enabled: bool):
    """Run every thread of this process under SCHED_FIFO (priority 10) inside the block;
    threads created inside inherit it. Back to SCHED_OTHER afterwards."""
    if not enabled:
        yield
        return
    tids = [int(t) for t in os.listdir("/proc/self/task")]
    try:
        for tid in tids:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(10))
    except (PermissionError, OSError) as exc:
        sys.exit(f"--realtime: cannot set SCHED_FIFO ({exc}); run as root or drop --realtime")
    try:
        yield
    finally:
        for tid in [int(t) for t in os.listdir("/proc/self/task")]:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


def wait_for_quiet(max_wait_s: float, threshold: float = 0.5) -> float:
    """Wait (up to max_wait_s) until the 1-minute load average drops below threshold."""
    t0 = time.time()
    while time.time() - t0 < max_wait_s:
        load = os.getloadavg()[0]
        if load < threshold:
            return load
        print(f"waiting for a quiet machine: load average {load:.2f}", file=sys.stderr)
        time.sleep(15)
    return os.getloadavg()[0]


def measure(args: argparse.Namespace) -> None:
    from advisor.measure import validate as v
    from advisor.measure.bench import BenchBudget, bench_threads

    device = args.device
    models = args.model or v.DEFAULT_MODELS[device]
    batches = args.batch or v.DEFAULT_BATCHES[device]
    configs, skipped = v.runnable_configs(v.configs_for(args.framework, args.precision, device), device)
    wait_for_quiet(args.wait_quiet)

    calibration = None
    if args.calibrate:
        from advisor.measure.calibrate import calibrate

        with realtime(args.realtime):
            run = calibrate(device, "local", quick=args.quick)
        calibration = run.to_dict()
        conditions_cal = "SCHED_FIFO priority 10" if args.realtime else "normal (SCHED_OTHER)"
        print(f"calibrated: other processes used {run.details['contention']:.0%} of the CPUs", file=sys.stderr)
    else:
        previous = data_path(device)
        if not previous.exists():
            sys.exit(f"{previous} has no calibration: run with --calibrate")
        calibration = json.loads(previous.read_text())["calibration"]

    budget = BenchBudget.quick() if args.quick else BenchBudget()
    if args.budget_s is not None:
        budget = BenchBudget(budget_s=args.budget_s, min_runs=budget.min_runs, max_runs=budget.max_runs,
                             rel_ci=budget.rel_ci, warmup_s=min(budget.warmup_s, args.budget_s),
                             max_warmup_s=budget.max_warmup_s)
    conditions = v.machine_conditions(device, bench_threads())
    if args.calibrate:
        conditions["calibration_scheduling"] = conditions_cal
    results = {}
    t0 = time.time()
    for attempt in range(args.retries + 1):
        todo = [(m, b) for m in models for b in batches
                if attempt == 0 or any(results[(m, b, fw, p)].contention > CONTENDED for fw, p in configs)]
        if not todo:
            break
        if attempt:
            print(f"re-measuring {len(todo)} contended model x batch groups (attempt {attempt})", file=sys.stderr)
            wait_for_quiet(args.wait_quiet)
        for model, batch in todo:
            if args.realtime:
                time.sleep(args.pause_s)  # let the others' work proceed between models
            with realtime(args.realtime):
                measure_group(model, batch, device, configs, budget, results)
    conditions["measure_wall_s"] = round(time.time() - t0)
    conditions["scheduling"] = ("SCHED_FIFO priority 10 during each model (benchmarks/validation.py --realtime)"
                                if args.realtime else "normal (SCHED_OTHER)")
    conditions["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    payload = {
        "what": "advisor validation measurements (benchmarks/validation.py measure)",
        "conditions": conditions,
        "budget": budget.__dict__,
        "skipped": skipped,
        "calibration": calibration,
        "measurements": [r.model_dump(mode="json") for r in results.values()],
    }
    DATA.mkdir(parents=True, exist_ok=True)
    data_path(device).write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {data_path(device)}", file=sys.stderr)


def recalibrate(args: argparse.Namespace) -> None:
    """Calibrate again and replace the calibration in the data file, keeping its measurements."""
    from advisor.measure.calibrate import calibrate

    path = data_path(args.device)
    payload = json.loads(path.read_text())
    wait_for_quiet(args.wait_quiet)
    with realtime(args.realtime):
        run = calibrate(args.device, "local", rounds=args.rounds)
    payload["calibration"] = run.to_dict()
    payload["conditions"]["calibration_scheduling"] = "SCHED_FIFO priority 10" if args.realtime else "normal (SCHED_OTHER)"
    payload["conditions"]["calibration_rounds"] = run.details.get("rounds")
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"replaced the calibration in {path}: other processes used {run.details['contention']:.0%} of the CPUs",
          file=sys.stderr)


def add_cache_facts(args: argparse.Namespace) -> None:
    """Add the private-cache size (sysfs; a fact, not a measurement) to the calibration's
    platform in the data file, for calibrations saved before `advisor calibrate` recorded it.
    Run on the machine that took the calibration."""
    from advisor.measure.calibrate import private_cache_figure

    path = data_path("cpu")
    payload = json.loads(path.read_text())
    cal = payload["calibration"]
    figure = private_cache_figure(int(cal["threads"]))
    if figure is None:
        sys.exit("sysfs does not give a private L2 cache size on this machine")
    cal["platform"]["memory"]["private_cache_mb"] = figure
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"added private_cache_mb {figure['value']} ({figure['note']}) to {path}", file=sys.stderr)


def measure_group(model: str, batch: int, device: str, configs, budget, results: dict) -> None:
    """Bench one model at one batch under every config; keep the least contended result."""
    from advisor.measure.bench import ModelBench

    mb = ModelBench(model, batch, device, budget=budget)
    try:
        for fw, p in configs:
            r = mb.run(fw, p)
            key = (model, batch, fw, p)
            if key not in results or r.contention < results[key].contention:
                results[key] = r
            print(f"{model:>16} b{batch:<3} {fw:>18} {p:<5} {r.latency_ms:9.2f} ms "
                  f"(p10 {r.p10_ms:.2f}, p90 {r.p90_ms:.2f}, {r.runs} runs, others {r.contention:.0%})",
                  file=sys.stderr)
    finally:
        mb.close()


def predict_from_data(payload: dict, db_url: str):
    """Load the saved calibration into a fresh database and predict every measured row."""
    from advisor.db import Database
    from advisor.domain.specs import CalibrationSpec, PlatformSpec
    from advisor.measure import validate as v
    from advisor.measure.bench import BenchResult

    db = Database.open(db_url)
    cal = payload["calibration"]
    db.upsert_platform(PlatformSpec.model_validate(cal["platform"]))
    for rec in cal["records"]:
        db.add_calibration(CalibrationSpec.model_validate(rec))
    measurements = [BenchResult.model_validate(m) for m in payload["measurements"]]
    rows = v.predict_rows(db, measurements, "local")
    summary = v.summarize(rows, payload.get("skipped"), payload["conditions"])
    return summary, measurements, db


def report(args: argparse.Namespace) -> None:
    from advisor.measure import validate as v

    device = args.device
    payload = json.loads(data_path(device).read_text())
    suffix = "" if device == "cpu" else "-gpu"
    with tempfile.TemporaryDirectory() as tmp:
        summary, measurements, db = predict_from_data(payload, f"sqlite:///{tmp}/validation.db")
        db.close()
    repeat = None
    if payload.get("repeat_measurements"):
        from advisor.measure.bench import BenchResult

        again = [BenchResult.model_validate(m) for m in payload["repeat_measurements"]["measurements"]]
        with tempfile.TemporaryDirectory() as tmp:
            alt = dict(payload, measurements=[m.model_dump(mode="json") for m in again])
            repeat_summary, _, db = predict_from_data(alt, f"sqlite:///{tmp}/repeat.db")
            db.close()
        repeat = (payload["repeat_measurements"], again, repeat_summary)
    plot = DOCS / f"validation{suffix or '-cpu'}.png"
    v.plot_validation(summary.rows, plot, title=f"advisor predict --target local vs advisor bench ({device})")
    md = render_markdown(payload, summary, measurements, plot.name, device, repeat)
    if device == "cpu":  # `advisor fit` on half of the measurements (benchmarks/fit.py)
        from benchmarks.fit import halves_markdown, validation_halves

        data = data_path(device)
        section = "\n".join(halves_markdown(validation_halves(data), validation_halves(data, calibrated=False)))
        md = md.replace("\n## How the measurements were taken", "\n" + section + "\n## How the measurements were taken", 1)
    out = DOCS / f"validation{suffix}.md"
    out.write_text(md)
    print(f"wrote {out} and {plot}; median |error| {summary.median_abs_error:.1%}, "
          f"pairwise order {summary.pairwise_agreement:.1%} of {summary.pairs} pairs", file=sys.stderr)


def render_markdown(payload: dict, summary, measurements, plot_name: str, device: str, repeat=None) -> str:
    cond = payload["conditions"]
    cal = payload["calibration"]
    details = cal["details"]
    records = {r["framework_id"] or "device": r for r in cal["records"]}
    dev = records["device"]
    by_key = {(m.model, m.batch, m.framework, m.precision): m for m in measurements}
    lines = [
        f"# Validation on {'this CPU' if device == 'cpu' else 'a CUDA GPU'}: predicted vs measured latency",
        "",
        "Generated by `python benchmarks/validation.py report"
        + ("" if device == "cpu" else " --device cuda") + "` from the measurements in "
        f"`benchmarks/data/{data_path(device).name}` (taken by `python benchmarks/validation.py measure --calibrate"
        + ("" if device == "cpu" else " --device cuda") + "`). Do not edit by hand.",
        "",
        "Predictions are `advisor predict --target local` (advisor.predict.api.predict_case) with the",
        "calibration records stored in the same data file, loaded into a throw-away database;",
        "measurements are `advisor bench` (random weights, real inputs, median of repeated runs after warm-up).",
        "",
        "## Summary",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| median absolute error | {summary.median_abs_error:.1%} | <= 25% |",
        f"| mean absolute error | {summary.mean_abs_error:.1%} | |",
        f"| rows within +/-25% | {summary.within_25pct:.0%} of {len(summary.rows)} | |",
        f"| pairwise order agreement (all pairs) | {summary.pairwise_agreement:.1%} of {summary.pairs} pairs | >= 85% |",
    ]
    if summary.within_config_agreement is not None:
        lines.append(f"| order agreement within a model and batch (framework/precision choice) | "
                     f"{summary.within_config_agreement:.1%} of {summary.within_config_pairs} pairs | |")
    lines += [
        "",
        f"![predicted vs measured]({plot_name})",
        "",
        "## Conditions",
        "",
        f"- machine: {cond.get('cpu')} ({cond.get('logical_cpus')} logical CPUs), "
        f"{cond.get('threads')} threads for every framework (torch.set_num_threads; ORT intra-op threads, 1 inter-op thread)"
        + (f"; GPU {cond['gpu']}" if cond.get("gpu") else ""),
        f"- software: Python {cond.get('python')}, torch {cond.get('torch')}, onnxruntime {cond.get('onnxruntime')}",
        f"- measured {cond.get('date')}, {cond.get('measure_wall_s')} s of benchmarking; load average before "
        f"{cond.get('load_average_1_5_15')}, after {cond.get('load_average_after')}",
        "- the machine is shared (2 cores, several people's builds and tests): each row shows the share of the CPUs",
        f"  other processes used while it was measured; rows above {CONTENDED:.0%} were re-measured, keeping the",
        "  least contended run. Timings under contention are slower than the hardware allows.",
        f"- scheduling of the benchmarks: {cond.get('scheduling', 'normal (SCHED_OTHER)')}",
        f"- calibration: `advisor calibrate` (advisor.measure.calibrate) at {dev['measured_at']}, scheduling "
        f"{cond.get('calibration_scheduling', 'normal (SCHED_OTHER)')}, median of {details.get('rounds', 1)} rounds "
        f"(other processes used "
        f"{details.get('contention', 0):.0%} of the CPUs during it)",
        *([f"- private L2 caches: {c['value']:g} MB ({c.get('note') or c['source']}; sysfs, "
           "added by `python benchmarks/validation.py cache-facts` for calibrations taken before "
           "`advisor calibrate` recorded it)"]
          if (c := cal["platform"]["memory"].get("private_cache_mb")) else []),
        "",
        "## Calibration used by the predictions",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for p, val in dev["matmul_tflops"].items():
        lines.append(f"| matmul {p} (torch, {details['matmul'][p]['size']}^3 GEMM) | {val:.3f} TFLOPS |")
    for p, val in (dev.get("conv_tflops") or {}).items():
        lines.append(f"| convolution {p} (torch/oneDNN, best of the sweep's convolutions) | {val:.3f} TFLOPS |")
    lines.append(f"| vector fp32 (torch depthwise 3x3 convolutions, against the curve) | {dev['vector_tflops'].get('fp32', 0) * 1e3:.2f} GFLOP/s |")
    if "elementwise_addcmul_tflops" in details:
        lines.append(f"| elementwise addcmul, cache-resident (not used: elementwise ops are memory-bound) | "
                     f"{details['elementwise_addcmul_tflops'] * 1e3:.2f} GFLOP/s |")
    bw = details["bandwidth"]
    lines.append(f"| memory bandwidth, copy / read ({bw['array_mib']:.0f} MiB arrays) | {bw['copy_gbs']:.1f} / {bw['read_gbs']:.1f} GB/s |")
    if "pytorch" in records:
        lines.append(f"| eager PyTorch per-op cost | {records['pytorch']['per_op_overhead_us']:.1f} us |")
    if "onnxruntime-cpu" in records:
        o = records["onnxruntime-cpu"]
        lines.append(f"| onnxruntime matmul fp32 / int8 (achievable on realistic kernels) | {o['matmul_tflops']['fp32']:.3f} TFLOPS / {o['matmul_tflops']['int8']:.3f} TOPS |")
        lines.append(f"| onnxruntime per-node cost | {o['per_op_overhead_us']:.2f} us |")
        lines.append(f"| onnxruntime vector fp32 (depthwise convolutions, against its curve) | {o['vector_tflops']['fp32'] * 1e3:.2f} GFLOP/s |")
        if "int8" in o["vector_tflops"]:
            lines.append(f"| onnxruntime vector int8 (QDQ depthwise convolutions, the int8 node alone) | "
                         f"{o['vector_tflops']['int8'] * 1e3:.2f} GOP/s |")
        ort_curve = ", ".join(f"({w:.0f}, {f:.2f})" for w, f in o["utilisation_curve"])
        lines.append(f"| onnxruntime utilisation curve (output elements, fraction of its fp32 GEMM figure) | {ort_curve} |")
    if dev.get("graph_kernel_us") is not None:
        lines.append(f"| CUDA-graph replay per kernel | {dev['graph_kernel_us']:.2f} us |")
    curve = ", ".join(f"({w:.0f}, {f:.2f})" for w, f in dev["utilisation_curve"])
    lines += [f"| utilisation curve (output elements, fraction of peak) | {curve} |"]
    if dev.get("conv_utilisation_curve"):
        conv_curve = ", ".join(f"({w:.0f}, {f:.2f})" for w, f in dev["conv_utilisation_curve"])
        lines += [f"| convolution utilisation curve (output elements, fraction of the convolution figure) | {conv_curve} |"]
    lines += [""]
    lines += [
        "## Every row",
        "",
        "| model | batch | framework | precision | predicted ms | measured ms (median) | p10-p90 ms | runs | error | bound | others' CPU |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in summary.rows:
        m = by_key[(r.model, r.batch, r.framework, r.precision)]
        lines.append(f"| {r.model} | {r.batch} | {r.framework} | {r.precision} | {r.predicted_ms:.2f} | "
                     f"{r.measured_ms:.2f} | {r.p10_ms:.2f}-{r.p90_ms:.2f} | {r.runs} | {r.error:+.0%} | {r.bound} | "
                     f"{m.contention:.0%} |")
    if summary.skipped:
        lines += ["", "Skipped (cannot run on this machine):", ""] + [f"- {s}" for s in summary.skipped]
    notes = sorted({n for m in measurements for n in m.notes if "other processes" not in n and "stable" not in n})
    if repeat is not None:
        import statistics

        info, again, rsum = repeat
        now = {(m.model, m.batch, m.framework, m.precision): m.latency_ms for m in measurements}
        ratios = [now[k] / m.latency_ms for m in again
                  if (k := (m.model, m.batch, m.framework, m.precision)) in now]
        spread = sorted(abs(r - 1) for r in ratios)
        # ISO 8601 dates of one time zone order as text
        when = "earlier" if str(info["conditions"].get("date")) < str(payload["conditions"].get("date")) else "later"
        lines += [
            "",
            "## Repeatability on this machine",
            "",
            f"The same matrix was measured once more, {when} ({info['conditions'].get('date')}, same scheduling); the",
            "data file keeps it under `repeat_measurements`. Between the two runs a configuration's median moved by",
            f"{statistics.median(spread):.0%} (median over the {len(ratios)} configurations; largest {spread[-1]:.0%}): this",
            "shared VM's speed drifts by tens of percent over minutes, which bounds how closely any prediction can match.",
            f"Against that {when} run, the same predictions have a median absolute error of {rsum.median_abs_error:.1%} and",
            f"order the pairs right in {rsum.pairwise_agreement:.1%} of {rsum.pairs} pairs.",
        ]
    lines += [
        "",
        "## Where the remaining error comes from (profiled with torch.profiler and onnxruntime's profiler)",
        "",
        "- modelled since the first validation run (docs/predictor.md, CPU-specific terms): eager PyTorch's",
        "  `max_pool2d_with_indices` is a scalar window loop (ResNet's stem pool took several ms at batch 1,",
        "  a fifth of the network at batch 8; priced at the cycles per window element that",
        "  `benchmarks/window_ops.py` measures); onnxruntime int8 keeps SiLU as separate QLinearSigmoid and",
        "  QLinearMul nodes and Concat as a requantizing QLinearConcat; kernels whose operands exceed the",
        "  cores' private L2 caches pay compute + memory (convolutions inside a network ran at 0.10-0.16",
        "  TFLOPS against 0.19-0.25 isolated on cache-hot operands).",
        "- onnxruntime int8, from its optimized graph and profiler (`python benchmarks/ort_int8_ops.py graph",
        "  MODEL`, per-node medians): residual adds, the SE scale and attention scaling run as QLinearAdd /",
        "  QLinearMul, softmax as QLinearSoftmax (no fused attention; 11-13% of ViT), LayerNorm and GELU's",
        "  Div/Erf stay float between DequantizeLinear and QuantizeLinear, and QLinearConv gathers im2col",
        "  patches (YOLOv5's 3-channel 6x6 stem was 30-50% of its int8 convolution time). These nodes cost",
        "  0.05-1 ns per element, about what the fp32 node costs, not a quarter of it: they are priced at the",
        "  per-element cost `python benchmarks/ort_int8_ops.py costs` measures, in units of the fp32 vector",
        "  figure (docs/predictor.md), never at a VNNI int8 peak. `advisor calibrate` times the int8 kernels",
        "  alone with onnxruntime's profiler (a one-node calibration graph's quantize/dequantize are not a",
        "  layer's cost: inside a network u8 tensors pass between int8 kernels), states the int8 GEMM figure",
        "  from GEMM-shaped kernels (the im2col pass is priced on its own) and measures int8 depthwise",
        "  convolutions for the int8 vector figure.",
        "- eager PyTorch on this CPU runs convolutions in oneDNN and GEMMs in its BLAS, at different speeds",
        "  (sweep convolutions up to twice torch.mm's rate): the calibration keeps a convolution figure and",
        "  curve of their own (`conv_tflops`, `conv_utilisation_curve`).",
        "- still missing: batch-1 MobileNet/EfficientNet/YOLOv5n stay 20-39% too fast in onnxruntime (fp32",
        "  and int8), not yet explained (their many small kernels are the likely place to look); EfficientNet",
        "  at batch 8 in eager PyTorch is 46% too slow.",
        "- depthwise convolutions (MobileNet, EfficientNet) are vector-unit kernels: their rate comes from the",
        "  calibrated depthwise figure of each framework, which is why the calibration measures them.",
    ]
    lines += ["", "## How the measurements were taken", ""] + [f"- {n}" for n in notes] + [
        "- weights: random, seeded, variance-preserving (Kaiming-normal) so activations stay O(1); inputs N(0,1).",
        "- warm-up until the latest call is within 15% of the best (at least 1 s), then repeat until the",
        "  95% CI of the median is within 2% or 8 s have passed (at least 10 runs).",
        "- error = predicted / measured - 1; pairwise order agreement counts every pair of rows whose",
        "  measured latencies differ and asks whether the prediction orders them the same way.",
        "",
        "## Reproduce",
        "",
        "```",
        "python benchmarks/validation.py measure --calibrate" + ("" if device == "cpu" else " --device cuda") + "   # minutes; rewrites the data file",
        "python benchmarks/validation.py report" + ("" if device == "cpu" else " --device cuda") + "                # seconds; rewrites this page",
        "# or interactively, against your own database:",
        "advisor calibrate" + ("" if device == "cpu" else " --device cuda") + " && advisor validate --plot validation.png",
        "```",
        "",
    ]
    if device == "cpu":
        lines += [
            "On a CUDA GPU, `bash benchmarks/gpu_validate.sh` runs calibrate and validate (pytorch and",
            "pytorch-cudagraphs; fp32, tf32, fp16, bf16; batch 1, 8, 64) and writes docs/validation-gpu.md.",
            "It has not been run yet: no GPU was available when it was written.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    m = sub.add_parser("measure", help="calibrate (optional) and bench the matrix")
    m.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    m.add_argument("--calibrate", action="store_true", help="run advisor calibrate first (else reuse the data file's)")
    m.add_argument("--model", action="append")
    m.add_argument("--batch", action="append", type=int)
    m.add_argument("--framework", action="append")
    m.add_argument("--precision", action="append")
    m.add_argument("--retries", type=int, default=2, help="re-measure contended groups this many times")
    m.add_argument("--wait-quiet", type=float, default=120.0, help="seconds to wait for load average < 0.5")
    m.add_argument("--quick", action="store_true", help="short budgets (smoke test only)")
    m.add_argument("--budget-s", type=float, help="measurement budget per configuration (default 8 s)")
    m.add_argument("--realtime", action="store_true", help="measure under SCHED_FIFO (Linux, root); see above")
    m.add_argument("--pause-s", type=float, default=10.0, help="pause between models with --realtime")
    c = sub.add_parser("calibrate", help="calibrate again, keep the measurements of the data file")
    c.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    c.add_argument("--realtime", action="store_true")
    c.add_argument("--rounds", type=int, help="measure every figure this many times, keep medians (default 2)")
    c.add_argument("--wait-quiet", type=float, default=0.0)
    sub.add_parser("cache-facts", help="add this machine's private L2 size (sysfs) to the saved calibration's platform")
    r = sub.add_parser("report", help="predict the measured rows and write the docs page")
    r.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    {"measure": measure, "calibrate": recalibrate, "cache-facts": add_cache_facts, "report": report}[args.step](args)


if __name__ == "__main__":
    main()
