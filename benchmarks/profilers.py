"""advisor against thop, fvcore, ptflops and torch's FlopCounterMode, each run as a whole command.

Every counter runs in its own fresh `python` process (imports included, as a user would run
it) on the same models; we record wall time, CPU time (user + sys of the child, which holds
on a busy machine), the MACs and parameters each reports, and how far the MACs are from the
published figure. Writes docs/profilers.md.

    python benchmarks/profilers.py [--repeat 3] [--out docs/profilers.md]

Peers build the model on the CPU with random weights and run a real forward (that is how
they work); advisor profiles the zoo model (or the same builder, via `peer_models:NAME`) on
meta tensors. Published MACs: torchvision's model tables ("GFLOPS" there are MACs) and
ultralytics' YOLOv5s 16.5 GFLOPs = 8.25 G MACs; the encoder's 436,207,616 MACs are
worked out by hand in tests/test_counter.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent

# model -> (how advisor names it, published G MACs, where the figure comes from)
MODELS: dict[str, tuple[str, float, str]] = {
    "resnet18": ("resnet18", 1.81, "torchvision"),
    "resnet50": ("resnet50", 4.09, "torchvision"),
    "vit_b_16": ("vit_b_16", 17.56, "torchvision"),
    "transformer_encoder": ("peer_models:transformer_encoder", 0.436207616, "hand count"),
    "yolov5s": ("yolov5s", 8.25, "ultralytics 16.5 GFLOPs / 2"),
}

_PEER_PRELUDE = textwrap.dedent("""
    import json, torch, peer_models
    model, x = peer_models.{model}()
""")

# Each prints one JSON line {"macs": ..., "params": ...}; MACs as each tool reports them.
PEERS: dict[str, str] = {
    "thop": textwrap.dedent("""
        from thop import profile
        with torch.no_grad():
            macs, params = profile(model, inputs=(x,), verbose=False)
        print(json.dumps({"macs": macs, "params": params}))
    """),
    "fvcore": textwrap.dedent("""
        from fvcore.nn import FlopCountAnalysis, parameter_count
        with torch.no_grad():
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            macs = analysis.total()
        print(json.dumps({"macs": macs, "params": parameter_count(model)[""]}))
    """),
    "ptflops": textwrap.dedent("""
        from ptflops import get_model_complexity_info
        with torch.no_grad():
            macs, params = get_model_complexity_info(
                model, tuple(x.shape[1:]), input_constructor=lambda _: x, as_strings=False, print_per_layer_stat=False, verbose=False, backend="pytorch")
        print(json.dumps({"macs": macs, "params": params}))
    """),
    "FlopCounterMode": textwrap.dedent("""
        from torch.utils.flop_counter import FlopCounterMode
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        print(json.dumps({"macs": counter.get_total_flops() // 2, "params": sum(p.numel() for p in model.parameters())}))
    """),
}


@dataclass
class Run:
    tool: str
    model: str
    wall_s: float | None
    cpu_s: float | None
    macs: float | None
    params: int | None
    error: str | None = None


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(BENCH_DIR), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


def _timed(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=900)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, wall, cpu


def _command(tool: str, model: str) -> list[str]:
    if tool == "advisor":
        return [sys.executable, "-m", "advisor.cli", "profile", MODELS[model][0], "--format", "json"]
    return [sys.executable, "-c", _PEER_PRELUDE.format(model=model) + PEERS[tool]]


def run_one(tool: str, model: str, repeat: int) -> Run:
    best: Run | None = None
    for _ in range(repeat):
        result, wall, cpu = _timed(_command(tool, model))
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["failed"])[-1]
            return Run(tool, model, None, None, None, None, error=last[:120])
        doc = json.loads(result.stdout.strip().splitlines()[-1] if tool != "advisor" else result.stdout)
        macs = doc.get("macs")
        run = Run(tool, model, wall, cpu, float(macs) if macs is not None else None, int(doc["params"]) if doc.get("params") is not None else None)
        if best is None:
            best = run
        else:  # the minimum of each is the best estimate of the command's own cost
            best.wall_s = min(best.wall_s or wall, wall)
            best.cpu_s = min(best.cpu_s or cpu, cpu)
    assert best is not None
    return best


def _agreement(macs: float | None, published_g: float) -> str:
    if macs is None:
        return "n/a"
    return f"{100 * (macs / (published_g * 1e9) - 1):+.2f}%"


def render(runs: list[Run], repeat: int) -> str:
    import torch

    lines = [
        "# Profilers compared",
        "",
        "Generated by `python benchmarks/profilers.py --repeat {}` on {} UTC ({}, {} CPUs, Python {}, torch {}).".format(
            repeat, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), platform.platform(), os.cpu_count(),
            platform.python_version(), torch.__version__,
        ),
        "Each cell is one whole command in a fresh process (imports included); wall and CPU",
        f"seconds are each the minimum of {repeat} runs. CPU s = user + sys of the process: on a shared",
        "machine it is the steadier measure (wall time includes waiting for a core; the peers' real",
        "forward passes use both cores, advisor's meta-tensor run one). MACs are what each tool reports",
        "(all of these report multiply-accumulates); agreement is against the published figure.",
        "",
        "| model | published G MACs | tool | wall s | CPU s | G MACs | params | vs published |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        _, published, source = MODELS[run.model]
        if run.error:
            lines.append(f"| {run.model} | {published:g} ({source}) | {run.tool} | - | - | error: {run.error} | - | - |")
            continue
        macs = f"{run.macs / 1e9:.4f}" if run.macs is not None else "none"
        params = f"{run.params:,}" if run.params is not None else "-"
        lines.append(
            f"| {run.model} | {published:g} ({source}) | {run.tool} | {run.wall_s:.2f} | {run.cpu_s:.2f} | {macs} | {params} | {_agreement(run.macs, published)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the minimum wall and CPU times are kept")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "profilers.md")
    args = parser.parse_args()
    runs = []
    for model in args.models.split(","):
        for tool in ("advisor", *PEERS):
            run = run_one(tool, model, args.repeat)
            runs.append(run)
            print(f"{model:20s} {tool:16s} wall={run.wall_s} cpu={run.cpu_s} macs={run.macs} params={run.params} {run.error or ''}", flush=True)
    args.out.write_text(render(runs, args.repeat))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
