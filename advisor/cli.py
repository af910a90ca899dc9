"""The `advisor` command line: a thin layer that parses options and hands over to a stage.

Every command imports its stage lazily, so `advisor hardware ...`, `frameworks` and `db`
start without importing torch. Errors become exit codes here and nowhere else:
InputError -> one line on stderr, exit 2; ConstraintNotMet -> exit 1.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from advisor.errors import ConstraintNotMet, InputError

if TYPE_CHECKING:
    from advisor.workload import Workload

app = typer.Typer(
    help="Which model, precision and inference framework to deploy on a device.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
hardware_app = typer.Typer(help="Platforms in the database.", no_args_is_help=True)
frameworks_app = typer.Typer(help="Inference frameworks in the database.", no_args_is_help=True)
db_app = typer.Typer(help="The database itself.", no_args_is_help=True)
app.add_typer(hardware_app, name="hardware")
app.add_typer(frameworks_app, name="frameworks")
app.add_typer(db_app, name="db")

#: Exit code of a failure that is neither bad input nor an unmet constraint (a bug).
INTERNAL_ERROR_EXIT = 3


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Print the full traceback of a failure.")] = False,
) -> None:
    """Options before the command name; --debug is read by main() (which handles failures)."""


def _debug_requested(argv: list[str]) -> bool:
    """--debug among the options before the command name."""
    for arg in argv:
        if not arg.startswith("-"):
            return False
        if arg == "--debug":
            return True
    return False


class Phase(str, Enum):
    prefill = "prefill"
    decode = "decode"


class ProfileFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class TableJson(str, Enum):
    table = "table"
    json = "json"


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class Optimize(str, Enum):
    latency = "latency"
    throughput = "throughput"


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


class ExportFormat(str, Enum):
    yaml = "yaml"
    json = "json"
    table = "table"


# Shared option types, so every command spells them the same way.
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Zoo name, package.module:callable, or a .pt2 file.")]
TargetOpt = Annotated[str, typer.Option("--target", "-t", help="Platform id, e.g. jetson-nano, h200.")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch", "-b", min=1, help="Batch size (default: the model's).")]
PhaseOpt = Annotated[Optional[Phase], typer.Option("--phase", help="LLM phase.")]
SeqLenOpt = Annotated[Optional[int], typer.Option("--seq-len", min=1, help="Prompt length for --phase prefill.")]
ContextOpt = Annotated[Optional[int], typer.Option("--context", min=1, help="KV-cache length for --phase decode.")]
KvCacheOpt = Annotated[Optional[str], typer.Option(
    "--kv-cache", help="KV-cache dtype: fp16, bf16, fp8, int8, int4 (default: the framework's, 16-bit).")]
FrameworksOpt = Annotated[Optional[str], typer.Option("--frameworks", help="Comma-separated ids.")]
PrecisionsOpt = Annotated[Optional[str], typer.Option("--precisions", help="Comma-separated schemes.")]


def _workload(
    model: str, input_shape: str | None, batch: int | None, phase: Phase | None, seq_len: int | None,
    context: int | None, kv_cache: str | None = None, devices: int | None = None,
) -> Workload:
    """The options that say what runs, as the one value the stages below are handed."""
    from advisor.workload import Workload

    if kv_cache is not None:
        from advisor.precision import KV_CACHE_DTYPES

        if kv_cache not in KV_CACHE_DTYPES:
            from advisor.errors import unknown_name

            raise unknown_name("--kv-cache dtype", kv_cache, KV_CACHE_DTYPES)
    split = {"devices": devices} if devices is not None else {}  # unset: no cap on the split
    return Workload(model=model, input_shape=input_shape, batch=batch, phase=phase.value if phase else None,
                    seq_len=seq_len, context=context, kv_cache=kv_cache, **split)


@app.command()
def profile(
    model: Annotated[str, typer.Argument(help="Zoo name, package.module:callable, or a .pt2 file.")],
    input_shape: Annotated[Optional[str], typer.Option("--input-shape", help="e.g. 1x3x640x640")] = None,
    batch: BatchOpt = None,
    precision: Annotated[str, typer.Option("--precision", "-p", help="Byte width of the traffic figures.")] = "fp32",
    phase: PhaseOpt = None,
    seq_len: SeqLenOpt = None,
    context: ContextOpt = None,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="One row per module.")] = False,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="Roll the module tree up to this depth.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 if any op has no formula.")] = False,
    fmt: Annotated[ProfileFormat, typer.Option("--format", "-f")] = ProfileFormat.table,
) -> None:
    """Count FLOPs, MACs, parameters and memory traffic, per op and per module."""
    from advisor.profiling.command import run_profile

    run_profile(
        _workload(model, input_shape, batch, phase, seq_len, context), precision=precision,
        per_layer=per_layer, depth=depth, strict=strict, fmt=fmt.value,
    )


@app.command()
def predict(
    model: ModelOpt,
    target: TargetOpt,
    precision: Annotated[str, typer.Option("--precision", "-p")],
    framework: Annotated[str, typer.Option("--framework", "-F")],
    batch: BatchOpt = None,
    input_shape: Annotated[Optional[str], typer.Option("--input-shape")] = None,
    phase: PhaseOpt = None,
    seq_len: SeqLenOpt = None,
    context: ContextOpt = None,
    kv_cache: KvCacheOpt = None,
    per_layer: Annotated[bool, typer.Option("--per-layer")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Roofline chart, .png or .svg.")] = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Predict latency, throughput and memory of one model x precision x framework on a target."""
    from advisor.predict.command import run_predict
    from advisor.rules.notes import with_rule_notes

    run_predict(
        _workload(model, input_shape, batch, phase, seq_len, context, kv_cache), target=target, precision=precision,
        framework=framework, annotate=with_rule_notes, per_layer=per_layer, plot=plot, fmt=fmt.value,
    )


@app.command()
def recommend(
    model: Annotated[list[str], typer.Option("--model", "-m", help="Repeat for several models.")],
    target: Annotated[list[str], typer.Option(
        "--target", "-t", help="Platform id; repeat or comma-separate to compare several.")],
    batch: Annotated[Optional[str], typer.Option(
        "--batch", "-b", help="Batch size, or several to compare: 1,8,32 (default: the model's).")] = None,
    input_shape: Annotated[Optional[str], typer.Option("--input-shape")] = None,
    phase: PhaseOpt = None,
    seq_len: SeqLenOpt = None,
    context: ContextOpt = None,
    kv_cache: KvCacheOpt = None,
    devices: Annotated[Optional[int], typer.Option(
        "--devices", min=1, help="Most devices a model that does not fit one may be split over (tensor "
        "parallel; default: what the platform's interconnect links; 1: never split).")] = None,
    max_latency_ms: Annotated[Optional[float], typer.Option("--max-latency-ms", min=0)] = None,
    min_throughput: Annotated[Optional[float], typer.Option("--min-throughput", min=0)] = None,
    max_memory_mb: Annotated[Optional[float], typer.Option("--max-memory-mb", min=0)] = None,
    frameworks: FrameworksOpt = None,
    precisions: PrecisionsOpt = None,
    top: Annotated[Optional[int], typer.Option("--top", min=1)] = None,
    explain: Annotated[bool, typer.Option("--explain")] = False,
    weights: Annotated[Optional[Path], typer.Option("--weights", "-w", help="Show the accuracy that a stored `advisor sensitivity` report on these weights gives each candidate.")] = None,
    recipe: Annotated[bool, typer.Option(
        "--recipe", help="Print the commands that build and run each ranked candidate (JSON: a recipe field).")] = False,
    optimize: Annotated[Optimize, typer.Option(
        "--optimize", help="latency: fastest first; throughput: the best batch per candidate under "
        "--max-latency-ms (batches 1..256 unless --batch lists them).")] = Optimize.latency,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
) -> None:
    """Rank every model x precision x framework for a target under constraints."""
    from advisor.options import comma_list
    from advisor.recommend.command import run_recommend
    from advisor.recommend.sweep import parse_batches, run_sweep

    targets = comma_list(target)
    if not targets:
        raise InputError("--target: give a platform id")
    batches = parse_batches(batch)
    if len(targets) == 1 and len(batches) == 1 and optimize is Optimize.latency:
        run_recommend(
            _workload(model[0], input_shape, batches[0], phase, seq_len, context, kv_cache, devices), models=model,
            target=targets[0], max_latency_ms=max_latency_ms, min_throughput=min_throughput,
            max_memory_mb=max_memory_mb, frameworks=frameworks, precisions=precisions, top=top, explain=explain,
            fmt=fmt.value, weights=weights, recipe=recipe,
        )
        return
    if recipe:
        raise InputError("--recipe applies to one target and one batch (not to a sweep)")
    if weights is not None:
        raise InputError("--weights applies to one target and one batch (not to a sweep)")
    run_sweep(
        _workload(model[0], input_shape, None, phase, seq_len, context, kv_cache, devices), models=model,
        targets=targets,
        batches=batches, optimize=optimize.value, max_latency_ms=max_latency_ms, min_throughput=min_throughput,
        max_memory_mb=max_memory_mb, frameworks=frameworks, precisions=precisions, top=top, explain=explain,
        fmt=fmt.value,
    )


@app.command()
def plan(
    model: ModelOpt,
    target: Annotated[list[str], typer.Option(
        "--target", "-t", help="Platform id; repeat or comma-separate several, or 'all'.")],
    input_len: Annotated[int, typer.Option("--input-len", min=1, help="Prompt tokens per request.")] = 1024,
    output_len: Annotated[int, typer.Option("--output-len", min=1, help="Output tokens per request.")] = 256,
    devices: Annotated[Optional[str], typer.Option(
        "--devices", help="Device count (4), list (1,2,4) or range (1-8); default 1, 2, 4, 8.")] = None,
    ttft_ms: Annotated[Optional[float], typer.Option("--ttft-ms", help="Time-to-first-token objective, ms.")] = None,
    tpot_ms: Annotated[Optional[float], typer.Option("--tpot-ms", help="Time-per-output-token objective, ms.")] = None,
    min_output_tokens_per_s: Annotated[Optional[float], typer.Option(
        "--min-output-tokens-per-s", help="Output tokens/s the whole plan must reach.")] = None,
    concurrency: Annotated[Optional[int], typer.Option(
        "--concurrency", help="Running requests to evaluate at (default: the best under the objectives).")] = None,
    frameworks: FrameworksOpt = None,
    precisions: PrecisionsOpt = None,
    kv_cache: Annotated[Optional[str], typer.Option("--kv-cache", help="KV-cache dtypes to try, e.g. fp16,fp8.")] = None,
    price: Annotated[Optional[list[str]], typer.Option(
        "--price", help="ID=USD_PER_HOUR per device, instead of the database's; repeatable.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows in the table.")] = 10,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
) -> None:
    """Serving plans for an LLM: devices, parallelism, concurrency, cost per million tokens."""
    from advisor.plan.command import build_request, run_plan

    request = build_request(
        model=model, targets=target, devices=devices, input_len=input_len, output_len=output_len,
        ttft_ms=ttft_ms, tpot_ms=tpot_ms, min_output_tokens_per_s=min_output_tokens_per_s,
        frameworks=frameworks, precisions=precisions, kv_cache=kv_cache, prices=price, concurrency=concurrency,
    )
    run_plan(request, fmt=fmt.value, top=top)


@hardware_app.command("list")
def hardware_list(
    device_class: Annotated[Optional[str], typer.Option("--class")] = None,
    vendor: Annotated[Optional[str], typer.Option("--vendor")] = None,
    sort: Annotated[str, typer.Option("--sort", help="id, name, vendor, class, bandwidth, memory, fp16...")] = "id",
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """List platforms."""
    from advisor.db.commands import hardware_list as run

    run(device_class=device_class, vendor=vendor, sort=sort, fmt=fmt.value)


@hardware_app.command("show")
def hardware_show(
    platform_id: Annotated[str, typer.Argument(metavar="ID")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.table,
) -> None:
    """Show one platform with the source of every figure."""
    from advisor.db.commands import hardware_show as run

    run(platform_id=platform_id, fmt=fmt.value)


@hardware_app.command("add")
def hardware_add(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...")],
    replace: Annotated[bool, typer.Option("--replace")] = False,
) -> None:
    """Validate YAML files and add their platforms in one transaction."""
    from advisor.db.commands import hardware_add as run

    run(files=files, replace=replace)


@hardware_app.command("remove")
def hardware_remove(platform_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Remove a platform."""
    from advisor.db.commands import hardware_remove as run

    run(platform_id=platform_id)


@hardware_app.command("export")
def hardware_export(
    platform_id: Annotated[Optional[str], typer.Argument(metavar="[ID]")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.yaml,
) -> None:
    """Write platforms as YAML that `hardware add` accepts."""
    from advisor.db.commands import hardware_export as run

    run(platform_id=platform_id, fmt=fmt.value)


@frameworks_app.command("list")
def frameworks_list(fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table) -> None:
    """List inference frameworks."""
    from advisor.db.commands import frameworks_list as run

    run(fmt=fmt.value)


@frameworks_app.command("show")
def frameworks_show(
    framework_id: Annotated[str, typer.Argument(metavar="ID")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.table,
) -> None:
    """Show one framework's precisions, fusion traits and overheads with sources."""
    from advisor.db.commands import frameworks_show as run

    run(framework_id=framework_id, fmt=fmt.value)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run migrations to head and refresh the seed data (user rows are kept)."""
    from advisor.db.commands import db_upgrade as run

    run()


@db_app.command("path")
def db_path() -> None:
    """Print where the database is."""
    from advisor.db.commands import db_path as run

    run()


@app.command()
def gate(
    config: Annotated[Path, typer.Argument(metavar="CONFIG.yaml")],
    junit: Annotated[Optional[Path], typer.Option("--junit")] = None,
    baseline: Annotated[Optional[Path], typer.Option("--baseline")] = None,
    write_baseline: Annotated[Optional[Path], typer.Option("--write-baseline")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
) -> None:
    """Fail (exit 1) when no allowed candidate meets the deployment budget."""
    from advisor.gate.command import run_gate

    run_gate(config=config, junit=junit, baseline=baseline, write_baseline=write_baseline, fmt=fmt.value)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    models_dir: Annotated[Optional[Path], typer.Option(
        "--models-dir", help="The only directory requests may name model files in (ONNX, GGUF, safetensors, "
                             "Hugging Face config directories). Code is never loaded from a request.")] = None,
) -> None:
    """Run the HTTP service."""
    from advisor.service.server import serve as run

    run(host=host, port=port, workers=workers, models_dir=models_dir)


@app.command()
def calibrate(
    device: Annotated[str, typer.Option("--device", help="cpu or cuda")] = "cpu",
    as_id: Annotated[Optional[str], typer.Option("--as", help="Platform id to store under.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Store the figures even when the run was noisy.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (there is none when stderr is not a terminal).")] = False,
) -> None:
    """Measure this machine's achievable peaks, bandwidth and overheads."""
    from advisor.measure.command import run_calibrate

    run_calibrate(device=device, as_id=as_id, force=force, quiet=quiet)


@app.command()
def bench(
    model: ModelOpt,
    precision: Annotated[str, typer.Option("--precision", "-p")] = "fp32",
    framework: Annotated[str, typer.Option("--framework", "-F")] = "pytorch",
    batch: BatchOpt = None,
    device: Annotated[str, typer.Option("--device")] = "cpu",
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (there is none when stderr is not a terminal).")] = False,
) -> None:
    """Measure real latency of a model on this machine with random weights."""
    from advisor.measure.command import run_bench

    run_bench(model=model, precision=precision, framework=framework, batch=batch, device=device, fmt=fmt.value,
              quiet=quiet)


@app.command()
def validate(
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m")] = None,
    batch: Annotated[Optional[list[int]], typer.Option("--batch", "-b")] = None,
    precision: Annotated[Optional[list[str]], typer.Option("--precision", "-p")] = None,
    framework: Annotated[Optional[list[str]], typer.Option("--framework", "-F")] = None,
    target: Annotated[str, typer.Option("--target", "-t")] = "local",
    device: Annotated[str, typer.Option("--device")] = "cpu",
    plot: Annotated[Optional[Path], typer.Option("--plot")] = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (there is none when stderr is not a terminal).")] = False,
) -> None:
    """Bench and predict over a matrix, and report the prediction error."""
    from advisor.measure.command import run_validate

    run_validate(
        models=model, batches=batch, precisions=precision, frameworks=framework,
        target=target, device=device, plot=plot, fmt=fmt.value, quiet=quiet,
    )


@app.command()
def sensitivity(
    weights: Annotated[Path, typer.Option("--weights", "-w", help="A .safetensors file, a directory of shards (a Hugging Face directory), or a .pt/.bin state dict.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model spec the weights belong to (not needed with --method data-free).")] = None,
    calib: Annotated[Optional[Path], typer.Option("--calib", help="Folder of images, a text file, or a .npy/.pt tensor of samples.")] = None,
    calib_random: Annotated[Optional[int], typer.Option("--calib-random", min=1, help="N random inputs instead (rough ranking only).")] = None,
    calib_limit: Annotated[int, typer.Option("--calib-limit", min=1, help="Use at most this many calibration samples.")] = 64,
    tokenizer: Annotated[Optional[Path], typer.Option("--tokenizer", help="tokenizer.json (or its folder) for text calibration.")] = None,
    schemes: Annotated[str, typer.Option("--schemes", help="int8,int8-tensor,fp8,w8a16,w4a16,q8_0,q4_k_m")] = "int8,fp8,w8a16,w4a16",
    group_size: Annotated[int, typer.Option("--group-size", min=2, help="w4a16 group size.")] = 128,
    method: Annotated[str, typer.Option("--method", help="local: layer output SQNR, one pass; e2e: model output per layer; data-free: weights only, streamed.")] = "local",
    target_sqnr_db: Annotated[Optional[float], typer.Option("--target-sqnr-db", help="Suggestion target (default 30 dB).")] = None,
    target_top1: Annotated[Optional[float], typer.Option("--target-top1", help="Suggestion target as top-1 agreement, e.g. 0.99.")] = None,
    suggest_scheme: Annotated[Optional[str], typer.Option("--suggest-scheme", help="Scheme to fix (default: the worst).")] = None,
    target: Annotated[Optional[str], typer.Option("--target", "-t", help="Price the suggestion on this platform.")] = None,
    framework: Annotated[Optional[str], typer.Option("--framework", "-F", help="Framework for --target.")] = None,
    input_shape: Annotated[Optional[str], typer.Option("--input-shape")] = None,
    seq_len: SeqLenOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Calibration samples per forward pass.")] = 8,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="Table of the most sensitive layers (JSON: all layers).")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Layers shown with --per-layer.")] = 10,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the report under the weights' hash.")] = True,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
) -> None:
    """Accuracy cost of each quantization scheme on your weights, the most sensitive layers, and the fewest to keep in fp16."""
    from advisor.sensitivity.command import run_sensitivity
    from advisor.sensitivity.run import SensitivityOptions

    options = SensitivityOptions(
        schemes=schemes, method=method, calib=calib, calib_random=calib_random, calib_limit=calib_limit,
        tokenizer=tokenizer, group_size=group_size, batch_size=batch_size, target_sqnr_db=target_sqnr_db,
        target_top1=target_top1, suggest_scheme=suggest_scheme,
    )
    workload = _workload(model, input_shape, None, None, seq_len, None) if model else None
    run_sensitivity(workload, weights, options, target=target, framework=framework, per_layer=per_layer, top=top,
                    fmt=fmt.value, save=save)


@app.command()
def fit(
    measurements: Annotated[list[Path], typer.Argument(metavar="MEASUREMENTS...", help=(
        "CSV/JSON (model, framework, precision, batch/phase, latency_ms), or trtexec, benchmark_app, "
        "llama-bench or `advisor bench --format json` output."))],
    target: TargetOpt,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Fit this platform's framework x precision corrections to measured latencies."""
    from advisor.measure.fit_command import run_fit_command

    run_fit_command(measurements, target, fmt.value)


def _terminal_safe(exc: Exception) -> str:
    """The message with escape sequences shown, not obeyed: it may quote a name or a file's
    content (issue 14). Line breaks a message means to have are kept."""
    from advisor.safe_input import printable

    return "\n".join(printable(line) for line in str(exc).split("\n"))


def main() -> None:
    """Entry point: map the two error kinds onto exit codes with one line on stderr; any other
    failure is one line too (exit 3), with the traceback only under ``advisor --debug``."""
    debug = _debug_requested(sys.argv[1:])
    try:
        app()
    except InputError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"advisor: error: {_terminal_safe(exc)}", file=sys.stderr)
        sys.exit(InputError.exit_code)
    except ConstraintNotMet as exc:
        print(f"advisor: {_terminal_safe(exc)}", file=sys.stderr)
        sys.exit(ConstraintNotMet.exit_code)
    except Exception as exc:
        # A database file damaged under a read that did not expect it (SQLite says so):
        # one line with the path and what to do, like any other bad input.
        from advisor.db.integrity import corrupt_message, corruption_problem

        problem = corruption_problem(exc)
        if problem is None:
            if debug:
                raise
            text = str(exc).strip().splitlines()
            detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
            print(f"advisor: internal error: {_terminal_safe(RuntimeError(detail))} "
                  "(rerun with advisor --debug ... for the traceback)", file=sys.stderr)
            sys.exit(INTERNAL_ERROR_EXIT)
        from advisor.db.locations import display_location, resolve_url

        print(f"advisor: error: {corrupt_message(display_location(resolve_url()), problem)}", file=sys.stderr)
        sys.exit(InputError.exit_code)


if __name__ == "__main__":
    main()
