"""Read a user's measured latencies for `advisor fit`, in the formats tools print them.

Accepted (one file may hold many measurements):
- CSV with a header: model, framework, precision, latency_ms (or latency, in ms); optional
  batch, phase (prefill|decode), seq_len, context.
- JSON: a list of such objects, one object, `advisor bench --format json` output (one result
  or a list), or a validation data file ({"measurements": [...]}, benchmarks/validation.py).
- `trtexec` logs: latency = the median "GPU Compute Time" of the performance summary (engine
  time, no transfers); model, precision and batch from the "&&&& RUNNING ... # trtexec ..."
  command line (--onnx=, --fp16/--int8/--fp8/--best, --shapes=name:BxCxHxW or --batch=).
- OpenVINO `benchmark_app` logs: latency = "Latency: Median"; batch from "Model batch size".
- `llama-bench` markdown tables (default output) or `-o json`: "tg N" rows are decode at a
  mean context of N/2 (latency per token = 1000 / t/s), "pp N" rows prefill of N tokens.

Tool logs that do not name the model or precision take them from the file name,
``<model>_<precision>[_b<batch>].<ext>`` (e.g. ``resnet50_int8_b8.log``). Anything missing or
malformed is an InputError naming the file, line and field (exit 2).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from advisor.errors import InputError


@dataclass(frozen=True)
class Measurement:
    """One measured latency (ms per call) and where it came from."""

    model: str
    framework: str
    precision: str
    latency_ms: float
    batch: int = 1
    phase: Literal["prefill", "decode"] | None = None
    seq_len: int | None = None
    context: int | None = None
    origin: str = ""  # file:line or file#index

    @property
    def label(self) -> str:
        shape = f"b{self.batch}" + (f" {self.phase}" if self.phase else "")
        return f"{self.model} {self.framework} {self.precision} {shape}"


# --------------------------------------------------------------------------- helpers
def _positive_float(value: Any, where: str, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {field} '{value}' is not a number") from None
    if not (number > 0 and number < float("inf")):
        raise InputError(f"{where}: {field} must be a positive number (got {value})")
    return number


def _positive_int(value: Any, where: str, field: str) -> int:
    number = _positive_float(value, where, field)
    if number != int(number):
        raise InputError(f"{where}: {field} must be a whole number (got {value})")
    return int(number)


def _from_record(rec: dict[str, Any], where: str) -> Measurement:
    """A CSV row or JSON object (also `advisor bench --format json`)."""
    if not isinstance(rec, dict):
        raise InputError(f"{where}: expected an object with model, framework, precision, latency_ms")
    lowered = {str(k).strip().lower(): v for k, v in rec.items()}
    missing = [f for f in ("model", "framework", "precision") if not str(lowered.get(f) or "").strip()]
    if missing:
        raise InputError(f"{where}: missing field {missing[0]}")
    latency = lowered.get("latency_ms", lowered.get("latency"))
    if latency in (None, ""):
        raise InputError(f"{where}: missing field latency_ms")
    optional = {k: lowered.get(k) for k in ("batch", "seq_len", "context")}
    text = str(lowered.get("phase") or "").strip()
    if text not in ("", "prefill", "decode"):
        raise InputError(f"{where}: phase '{text}' is not prefill or decode")
    phase: Literal["prefill", "decode"] | None = "prefill" if text == "prefill" else "decode" if text == "decode" else None
    return Measurement(
        model=str(lowered["model"]).strip(),
        framework=str(lowered["framework"]).strip(),
        precision=str(lowered["precision"]).strip(),
        latency_ms=_positive_float(latency, where, "latency_ms"),
        batch=_positive_int(optional["batch"], where, "batch") if optional["batch"] not in (None, "") else 1,
        phase=phase,
        seq_len=_positive_int(optional["seq_len"], where, "seq_len") if optional["seq_len"] not in (None, "") else None,
        context=_positive_int(optional["context"], where, "context") if optional["context"] not in (None, "") else None,
        origin=where,
    )


def _name_parts(path: Path) -> tuple[str | None, str | None, int | None]:
    """(model, precision, batch) from ``<model>_<precision>[_b<batch>]``; Nones when it does not fit."""
    from advisor.precision import SCHEMES

    stem = path.name.split(".")[0]
    batch = None
    m = re.search(r"_b(\d+)$", stem)
    if m:
        batch, stem = int(m.group(1)), stem[: m.start()]
    for scheme in sorted(SCHEMES, key=len, reverse=True):
        if stem.endswith("_" + scheme):
            return stem[: -len(scheme) - 1], scheme, batch
    return None, None, batch


def _need(value: Any, path: Path, field: str, hint: str) -> Any:
    if value in (None, ""):
        raise InputError(f"{path}: cannot tell the {field} ({hint}); name the file <model>_<precision>[_b<batch>].log")
    return value


# --------------------------------------------------------------------------- formats
def parse_csv(text: str, path: Path) -> list[Measurement]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InputError(f"{path}: empty CSV (expected a header: model, framework, precision, latency_ms)")
    return [_from_record(row, f"{path}:{i + 2}") for i, row in enumerate(reader)]


def parse_json(text: str, path: Path) -> list[Measurement]:
    """Through the bounded JSON reader (advisor.safe_input): NaN/Infinity, duplicate keys,
    huge integers and deep nesting are one line naming the file, as malformed JSON is."""
    from advisor.safe_input import load_json

    return measurements_from_json(load_json(text, str(path)), path)


def measurements_from_json(data: Any, path: Path) -> list[Measurement]:  # noqa: ANN401 - parsed JSON
    """The measurements of already-parsed JSON (the shapes parse_json accepts)."""
    if isinstance(data, dict) and "measurements" in data:
        data = data["measurements"]
    if isinstance(data, list) and data and isinstance(data[0], dict) and "avg_ts" in data[0]:
        return _llama_bench_json(data, path)
    items = data if isinstance(data, list) else [data]
    return [_from_record(rec, f"{path}#{i}") for i, rec in enumerate(items)]


_TRT_RUNNING = re.compile(r"&&&& RUNNING .*?#\s*(\S*trtexec\S*)(?P<args>.*)$", re.M)
_TRT_GPU = re.compile(r"GPU Compute Time: .*?median = (?P<ms>[0-9.eE+-]+) ms")


def parse_trtexec(text: str, path: Path) -> list[Measurement]:
    found = _TRT_GPU.findall(text)
    if not found:
        raise InputError(f"{path}: no 'GPU Compute Time: ... median = N ms' line (a trtexec performance summary)")
    latency = _positive_float(found[-1], str(path), "GPU Compute Time median")
    model, precision, batch = _name_parts(path)
    run = _TRT_RUNNING.search(text)
    if run:
        args = run.group("args").split()
        for arg in args:
            if arg.startswith(("--onnx=", "--loadEngine=")):
                model = model or Path(arg.split("=", 1)[1]).name.split(".")[0]
            elif arg.startswith("--shapes="):
                dims = re.search(r":(\d+)x", arg)
                batch = batch or (int(dims.group(1)) if dims else None)
            elif arg.startswith("--batch="):
                batch = batch or int(arg.split("=", 1)[1])
        flags = set(args)
        if precision is None:
            precision = next((p for flag, p in (("--fp8", "fp8"), ("--int8", "int8"), ("--best", "int8"),
                                                ("--fp16", "fp16"), ("--bf16", "bf16")) if flag in flags), "fp32")
    model = _need(model, path, "model", "no --onnx= on the trtexec command line")
    precision = _need(precision, path, "precision", "no &&&& RUNNING command line")
    return [Measurement(model, "tensorrt", precision, latency, batch or 1, origin=str(path))]


_OV_MEDIAN = re.compile(r"Latency:\s*\n(?:.*\n)*?.*Median:\s*(?P<ms>[0-9.]+)\s*ms")
_OV_BATCH = re.compile(r"Model batch size:\s*(\d+)")


def parse_benchmark_app(text: str, path: Path) -> list[Measurement]:
    m = _OV_MEDIAN.search(text)
    if not m:
        raise InputError(f"{path}: no 'Latency: ... Median: N ms' block (an OpenVINO benchmark_app report)")
    model, precision, batch = _name_parts(path)
    b = _OV_BATCH.search(text)
    batch = batch or (int(b.group(1)) if b else 1)
    model = _need(model, path, "model", "benchmark_app does not print it")
    precision = _need(precision, path, "precision", "benchmark_app does not print it")
    return [Measurement(model, "openvino", precision, _positive_float(m.group("ms"), str(path), "Median"), batch,
                        origin=str(path))]


_LLAMA_MODEL = re.compile(r"^(?P<arch>llama)\s+(?P<size>[0-9.]+[BM])\s+(?:mostly\s+)?(?P<type>\S+)", re.I)
_LLAMA_TEST = re.compile(r"^(?P<kind>pp|tg)\s*(?P<n>\d+)$")
#: llama-bench's tensor-type names -> advisor schemes
_GGUF_TYPES = {"f16": "fp16", "bf16": "bf16", "f32": "fp32", "q8_0": "q8_0", "q6_k": "q6_k", "q5_k_m": "q5_k_m",
               "q4_k_m": "q4_k_m", "q4_0": "q4_0"}


def _llama_model(model_type: str, where: str) -> tuple[str, str]:
    m = _LLAMA_MODEL.match(model_type.strip())
    if not m:
        raise InputError(f"{where}: model '{model_type}' is not a llama model llama-bench names ('llama 7B Q4_0')")
    size = m.group("size").lower()
    scheme = _GGUF_TYPES.get(m.group("type").lower())
    if scheme is None:
        raise InputError(f"{where}: GGUF type '{m.group('type')}' is not one advisor knows ({', '.join(_GGUF_TYPES)})")
    return f"llama-{size}", scheme


def _llama_row(model_type: str, n_prompt: int, n_gen: int, ts: float, where: str) -> Measurement:
    model, scheme = _llama_model(model_type, where)
    if n_gen > 0 and n_prompt == 0:
        # tg N: N tokens generated one at a time from an empty context: mean context N / 2
        return Measurement(model, "llama-cpp", scheme, 1e3 / ts, 1, "decode", context=max(1, n_gen // 2), origin=where)
    if n_prompt > 0 and n_gen == 0:
        return Measurement(model, "llama-cpp", scheme, n_prompt / ts * 1e3, 1, "prefill", seq_len=n_prompt, origin=where)
    raise InputError(f"{where}: mixed prompt+generation tests (pg) are not supported; use pp and tg tests")


def parse_llama_bench_md(text: str, path: Path) -> list[Measurement]:
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("|")]
    header = [c.strip().lower() for c in lines[0].strip().strip("|").split("|")] if lines else []
    if "model" not in header or "test" not in header or "t/s" not in header:
        raise InputError(f"{path}: not a llama-bench table (needs the columns model, test and t/s)")
    out = []
    for number, line in enumerate(lines[1:], start=2):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue
        where = f"{path}: table row {number}"
        row = dict(zip(header, cells))
        test = _LLAMA_TEST.match(row["test"].replace(" ", ""))
        if not test:
            raise InputError(f"{where}: test '{row['test']}' is not pp N or tg N")
        ts = _positive_float(row["t/s"].split("±")[0].strip(), where, "t/s")
        n = int(test.group("n"))
        out.append(_llama_row(row["model"], n if test.group("kind") == "pp" else 0, n if test.group("kind") == "tg" else 0, ts, where))
    return out


def _llama_bench_json(items: list[dict[str, Any]], path: Path) -> list[Measurement]:
    out = []
    for i, rec in enumerate(items):
        where = f"{path}#{i}"
        for key in ("model_type", "n_prompt", "n_gen", "avg_ts"):
            if key not in rec:
                raise InputError(f"{where}: missing field {key} (llama-bench -o json)")
        out.append(_llama_row(str(rec["model_type"]), int(rec["n_prompt"]), int(rec["n_gen"]),
                              _positive_float(rec["avg_ts"], where, "avg_ts"), where))
    return out


def read_measurements(path: Path) -> list[Measurement]:
    """Every measurement in one file, whatever the format (see the module docstring)."""
    from advisor.safe_input import read_text

    # the bounded reader (issue 14): regular files only, at most 50 MB, UTF-8
    text = read_text(path, 50_000_000, what="measurements file")
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{path}: empty file")
    if "GPU Compute Time" in text or "&&&& RUNNING" in text:
        found = parse_trtexec(text, path)
    elif "[ INFO ]" in text or stripped.startswith("[Step "):
        found = parse_benchmark_app(text, path)
    elif stripped[0] in "[{":
        found = parse_json(text, path)
    elif stripped.startswith("|"):
        found = parse_llama_bench_md(text, path)
    else:
        found = parse_csv(text, path)
    if not found:
        raise InputError(f"{path}: no measurements in the file")
    return found
