"""Where a model's time goes on this CPU, per op type: eager PyTorch (torch.profiler) or
onnxruntime (its own profiler), with the same random-weight models `advisor bench` runs.
Backs the "where the remaining error comes from" notes in docs/validation.md.

    python benchmarks/validation_profile.py resnet18 --batch 8 --framework pytorch
    python benchmarks/validation_profile.py yolov5n --framework onnxruntime-cpu --precision int8

Run it on a quiet machine (or under `chrt -f 10` on a shared one): timings stretch under
contention. Profilers add some overhead; compare shares, not absolute times, with bench.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def profile_pytorch(mb, runs: int) -> tuple[float, dict[str, tuple[float, int]]]:
    import torch
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        for _ in range(3):
            mb.m.module(*mb.m.args)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                mb.m.module(*mb.m.args)
    rows = {e.key: (e.self_cpu_time_total / runs / 1e3, e.count // runs) for e in prof.key_averages()}
    total = sum(t for t, _ in rows.values())
    return total, rows


def profile_onnxruntime(mb, model: str, precision: str, runs: int) -> tuple[float, dict[str, tuple[float, int]]]:
    import onnxruntime as ort

    from advisor.measure.bench import _ort_feeds, onnx_artifacts

    art = onnx_artifacts(mb.m, model, precision)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = mb.threads
    opts.inter_op_num_threads = 1
    opts.enable_profiling = True
    # Trace into the temp dir, so an interrupted run leaves nothing in the working tree.
    opts.profile_file_prefix = str(Path(tempfile.gettempdir()) / "advisor_ort_profile")
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(art.int8 if precision == "int8" else art.fp32), opts,
                                providers=["CPUExecutionProvider"])
    feeds = _ort_feeds(mb.m, [i.name for i in sess.get_inputs()])
    warmup = 3
    for _ in range(warmup + runs):
        sess.run(None, feeds)
    trace = sess.end_profiling()
    events = json.loads(Path(trace).read_text())
    Path(trace).unlink(missing_ok=True)
    model_runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    measured = model_runs[warmup:]
    start = measured[0]["ts"]  # node events of the warm-up runs come before this
    times: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            op = e["args"].get("op_name", "?")
            times[op] += e["dur"] / 1e3
            counts[op] += 1
    total = sum(e["dur"] for e in measured) / 1e3 / runs
    return total, {op: (t / runs, counts[op] // runs) for op, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--framework", choices=["pytorch", "onnxruntime-cpu"], default="pytorch")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    from advisor.measure.bench import ModelBench, check_config

    check_config(args.framework, args.precision, "cpu")
    mb = ModelBench(args.model, args.batch)
    try:
        if args.framework == "pytorch":
            total, rows = profile_pytorch(mb, args.runs)
        else:
            total, rows = profile_onnxruntime(mb, args.model, args.precision, args.runs)
    finally:
        mb.close()
    print(f"{args.model} batch {args.batch} {args.framework} {args.precision}: {total:.2f} ms per run "
          f"({mb.threads} threads, profiler on)")
    for op, (ms, n) in sorted(rows.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {op:36s} {ms:9.3f} ms  {ms / total:6.1%}  {n} calls")


if __name__ == "__main__":
    main()
