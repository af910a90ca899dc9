"""How fast and how small `advisor sensitivity` is: the speed and memory goals of issue 12.

1. ResNet-50 local analysis: three schemes (int8, fp8, w4a16) on 32 calibration inputs at
   224x224 with torch on 2 threads (goal: under 60 s). Timed separately: the local per-layer
   analysis (fp32 reference pass with range calibration + one hooked pass) and the whole
   `analyse_model` (adds one whole-model pass per scheme and the mixed-precision bisection).
   Weights: torchvision's random initialisation saved as safetensors (no hub); inputs: random
   normal images (the timing does not depend on the values).
2. Data-free weight analysis of an 8 B-parameter Llama-3-8B-shaped safetensors checkpoint with
   random values (goal: peak RSS under 3 GB). The checkpoint is written shard by shard, a block of
   rows at a time, in a child process; the analysis runs in another child process whose peak RSS
   (ru_maxrss) is reported. Disk: 16 GB at bf16, 8 GB with --storage-dtype float8_e4m3fn (the
   analysis reads either; the SQNR figures then describe the fp8 values). The checkpoint is deleted
   afterwards unless --keep. ``--layers 4`` keeps the real tensor shapes (the 128256 x 4096
   embedding and head set the peak) with a quarter of the disk and time: a smaller check, not the goal.

The safetensors library writes a file from a dict held in memory; to make a 16 GB checkpoint on a
machine with less free memory, the writer here streams the documented format (8-byte little-endian
header length, JSON header of dtype/shape/data_offsets, raw little-endian data) block by block.

Run on a quiet machine (timings on a shared machine are wrong):
    python benchmarks/sensitivity_speed.py [--workdir /tmp] [--storage-dtype bfloat16] [--out docs/sensitivity-speed.md]
    python benchmarks/sensitivity_speed.py --quick      # smoke test: resnet18, 8 inputs, a 2-layer checkpoint
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2
SCHEMES = "int8,fp8,w4a16"
DATA_FREE_SCHEMES = "w8a16,w4a16,q4_k_m"
SHARD_BYTES = 5 * 1024**3  # Hugging Face's default max_shard_size of 5 GB
ROW_BLOCK_ELEMENTS = 1 << 24

#: Llama-3-8B (config.json of meta-llama/Meta-Llama-3-8B): 8.03 B parameters.
LLAMA3_8B = dict(hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=128256)
SAFETENSORS_DTYPES = {"bfloat16": ("BF16", 2), "float16": ("F16", 2), "float8_e4m3fn": ("F8_E4M3", 1)}


# --------------------------------------------------------------------------- part 1: resnet50


def resnet_local(model: str, inputs: int) -> dict[str, float]:
    import torch
    import torchvision
    from safetensors.torch import save_file

    from advisor.models import load_model
    from advisor.sensitivity.analysis import Analyzer
    from advisor.sensitivity.calib import random_calib
    from advisor.sensitivity.run import SensitivityOptions, analyse_model
    from advisor.sensitivity.schemes import parse_schemes
    from advisor.sensitivity.weights import load_weights_into
    from advisor.workload import Workload

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / f"{model}.safetensors"
        save_file(torchvision.models.get_model(model).state_dict(), weights)
        spec = load_model(Workload(model=model))
        net = load_weights_into(spec.module, weights)
        calib = random_calib(spec, net, inputs)
        start = time.perf_counter()
        analyzer = Analyzer(net, calib, batch_size=8)
        layers = analyzer.local_sensitivity(parse_schemes(SCHEMES))
        local_s = time.perf_counter() - start
        options = SensitivityOptions(schemes=SCHEMES, calib_random=inputs, batch_size=8)
        start = time.perf_counter()
        report = analyse_model(load_model(Workload(model=model)), weights, options)
        full_s = time.perf_counter() - start
    return {"local_s": local_s, "full_s": full_s, "layers": len(layers) // 3,
            "kept": len(report.suggestion.keep_16bit) if report.suggestion else 0}


# --------------------------------------------------------------------------- part 2: 8B data-free


def llama_tensors(cfg: dict[str, int]) -> list[tuple[str, tuple[int, ...]]]:
    hidden, inter, kv = cfg["hidden"], cfg["intermediate"], cfg["kv_heads"] * cfg["hidden"] // cfg["heads"]
    names = [("model.embed_tokens.weight", (cfg["vocab"], hidden))]
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}"
        names += [(f"{p}.self_attn.q_proj.weight", (hidden, hidden)), (f"{p}.self_attn.k_proj.weight", (kv, hidden)),
                  (f"{p}.self_attn.v_proj.weight", (kv, hidden)), (f"{p}.self_attn.o_proj.weight", (hidden, hidden)),
                  (f"{p}.mlp.gate_proj.weight", (inter, hidden)), (f"{p}.mlp.up_proj.weight", (inter, hidden)),
                  (f"{p}.mlp.down_proj.weight", (hidden, inter)),
                  (f"{p}.input_layernorm.weight", (hidden,)), (f"{p}.post_attention_layernorm.weight", (hidden,))]
    names += [("model.norm.weight", (hidden,)), ("lm_head.weight", (cfg["vocab"], hidden))]
    return names


def _shards(tensors, width: int) -> list[list[tuple[str, tuple[int, ...]]]]:
    shards, current, size = [], [], 0
    for name, shape in tensors:
        nbytes = math.prod(shape) * width
        if current and size + nbytes > SHARD_BYTES:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += nbytes
    return shards + ([current] if current else [])


def write_checkpoint(folder: Path, cfg: dict[str, int], dtype_name: str, seed: int = 0) -> int:
    """Random N(0, 0.02) weights (norms: ones) as sharded safetensors + index; returns params."""
    import torch

    torch.set_num_threads(THREADS)
    code, width = SAFETENSORS_DTYPES[dtype_name]
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(seed)
    tensors = llama_tensors(cfg)
    shards = _shards(tensors, width)
    weight_map, params = {}, 0
    for number, shard in enumerate(shards, 1):
        file_name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {}, 0
        for name, shape in shard:
            nbytes = math.prod(shape) * width
            header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
            weight_map[name] = file_name
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * ((-len(text)) % 8)  # the format aligns the data start to 8 bytes
        with open(folder / file_name, "wb") as out:
            out.write(struct.pack("<Q", len(text)))
            out.write(text)
            for name, shape in shard:
                params += math.prod(shape)
                if len(shape) == 1:
                    out.write(torch.ones(shape, dtype=dtype).view(torch.uint8).numpy().tobytes())
                    continue
                step = max(1, ROW_BLOCK_ELEMENTS // shape[1])
                for start in range(0, shape[0], step):
                    rows = min(step, shape[0] - start)
                    block = (torch.randn(rows, shape[1], generator=generator) * 0.02).to(dtype)
                    out.write(block.view(torch.uint8).numpy().tobytes())
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return params


def data_free_child(folder: str, schemes: str) -> None:
    """In a child process: the analysis alone, then its figures as one JSON line."""
    import torch

    from advisor.sensitivity.run import SensitivityOptions, analyse_data_free

    torch.set_num_threads(THREADS)
    start = time.perf_counter()
    report = analyse_data_free(Path(folder), SensitivityOptions(schemes=schemes, method="data-free"))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_rss_mib(), "tensors": len(report.layers),
                      "weight_sqnr_db": {s.scheme: s.weight_sqnr_db for s in report.schemes}}))


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM belongs to the address space made at exec, whereas ru_maxrss
    keeps the peak of the forking parent's image too."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args: list[str]) -> str:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def data_free(workdir: Path, cfg: dict[str, int], dtype_name: str, schemes: str, keep: bool) -> dict:
    width = SAFETENSORS_DTYPES[dtype_name][1]
    params = sum(math.prod(s) for _, s in llama_tensors(cfg))
    need = params * width
    free = shutil.disk_usage(workdir).free
    if free < need * 1.1:
        raise SystemExit(f"--workdir {workdir}: {need / 1e9:.1f} GB needed for the checkpoint, {free / 1e9:.1f} GB "
                         "free; use --storage-dtype float8_e4m3fn (half the size) or another --workdir")
    folder = Path(tempfile.mkdtemp(prefix="sensitivity-8b-", dir=workdir))
    try:
        start = time.perf_counter()
        written = int(run_child(["--write-checkpoint", str(folder), "--storage-dtype", dtype_name,
                                 "--config", json.dumps(cfg)]))
        write_s = time.perf_counter() - start
        result = json.loads(run_child(["--data-free-child", str(folder), "--schemes", schemes]))
        result.update(params=written, write_s=write_s, bytes=need)
        return result
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- report


def write_report(out: Path, resnet: dict, free: dict, opts) -> None:
    rss_gb = free["peak_rss_mib"] / 1024
    lines = [
        "# Sensitivity analysis: speed and memory",
        "",
        f"Measured {dt.date.today()} on {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch on {THREADS} threads. Rerun: `python benchmarks/sensitivity_speed.py`.",
        "",
        f"## {opts.model} local analysis ({SCHEMES}, {opts.inputs} inputs)",
        "",
        "| part | seconds | goal |",
        "|---|---|---|",
        f"| local per-layer analysis (reference + hooked pass) | {resnet['local_s']:.3g} | < 60 s |",
        f"| whole analyse_model (adds whole-model passes and the suggestion) | {resnet['full_s']:.3g} | - |",
        "",
        f"{resnet['layers']} Conv/Linear layers; the suggestion kept {resnet['kept']} in fp16 (random weights).",
        "",
        f"## Data-free weight analysis of an {free['params'] / 1e9:.3g} B-parameter checkpoint",
        "",
        f"Llama-3-8B shapes, random N(0, 0.02) values stored as {opts.storage_dtype} "
        f"({free['bytes'] / 1e9:.3g} GB), schemes {opts.data_free_schemes}.",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| peak RSS of the analysis | {rss_gb:.3g} GB | < 3 GB |",
        f"| analysis time | {free['seconds']:.3g} s | - |",
        f"| tensors analysed | {free['tensors']} | - |",
        f"| writing the checkpoint | {free['write_s']:.3g} s | - |",
        "",
        "Weight SQNR over all tensors: " + ", ".join(f"{k} {v:.3g} dB" for k, v in free["weight_sqnr_db"].items()),
        "",
    ]
    out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--storage-dtype", choices=sorted(SAFETENSORS_DTYPES), default="bfloat16")
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--data-free-schemes", default=DATA_FREE_SCHEMES)
    parser.add_argument("--layers", type=int, default=LLAMA3_8B["layers"],
                        help="decoder layers of the checkpoint (32 = 8.03 B parameters; fewer keeps the largest "
                             "tensors, which set the peak memory, and cuts disk and time)")
    parser.add_argument("--quick", action="store_true", help="smoke test only: small model and checkpoint")
    parser.add_argument("--keep", action="store_true", help="keep the generated checkpoint")
    parser.add_argument("--out", type=Path, default=None, help="write a markdown report (e.g. docs/sensitivity-speed.md)")
    parser.add_argument("--write-checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--data-free-child", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--schemes", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.write_checkpoint:
        print(write_checkpoint(Path(opts.write_checkpoint), json.loads(opts.config), opts.storage_dtype))
        return
    if opts.data_free_child:
        data_free_child(opts.data_free_child, opts.schemes)
        return
    cfg = dict(LLAMA3_8B, layers=opts.layers)
    if opts.quick:
        opts.model, opts.inputs = "resnet18", 8
        cfg.update(layers=2, vocab=4096, intermediate=2048, hidden=512, heads=8, kv_heads=2)
    free = data_free(opts.workdir, cfg, opts.storage_dtype, opts.data_free_schemes, opts.keep)  # before torch loads here
    resnet = resnet_local(opts.model, opts.inputs)
    print(f"{opts.model} local analysis ({SCHEMES}, {opts.inputs} inputs): {resnet['local_s']:.3g} s "
          f"(goal < 60 s); whole analyse_model {resnet['full_s']:.3g} s")
    print(f"data-free {free['params'] / 1e9:.3g} B params ({opts.storage_dtype}): peak RSS "
          f"{free['peak_rss_mib'] / 1024:.3g} GB (goal < 3 GB), {free['seconds']:.3g} s; weight SQNR "
          + ", ".join(f"{k} {v:.3g} dB" for k, v in free["weight_sqnr_db"].items()))
    if opts.out:
        write_report(opts.out, resnet, free, opts)


if __name__ == "__main__":
    main()
