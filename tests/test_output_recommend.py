"""recommend's output as a person reads it (issue 14, "Output a person can act on"): a verdict
first, the top 10, exclusions in a few lines by reason, every line within the terminal's width,
three significant figures with units. Each test replays one finding of the issue."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from rich.console import Console

from advisor.display import megabytes, sig3, throughput_unit
from advisor.recommend.engine import recommend
from advisor.recommend.render import DEFAULT_SHOWN, print_table, to_markdown
from advisor.recommend.types import RecommendRequest

from factories_predict import cache_zoo_profile


def _table(rec, width: int, **options) -> list[str]:
    buf = io.StringIO()
    print_table(rec, console=Console(file=buf, width=width, color_system=None), **options)
    return buf.getvalue().splitlines()


def _cli(*args: str, columns: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": str(columns)}, timeout=300)


@pytest.fixture
def resnet18_t4(db):
    cache_zoo_profile(db, "resnet18")
    return recommend(db, RecommendRequest(models=["resnet18"], target="t4"))


@pytest.mark.parametrize("width", [80, 100])
def test_every_line_fits_and_names_are_never_cut_mid_word(resnet18_t4, width) -> None:
    """Finding: cells wrapped mid-word ("onnxrunti / me-tensor / rt") in a 100-column terminal."""
    for explain in (False, True):
        lines = _table(resnet18_t4, width, explain=explain)
        assert max(len(line) for line in lines) <= width, "\n".join(lines)
        assert any("onnxruntime-tensorrt" in line for line in lines)  # whole, on one line
        assert not any(line.strip() in ("me-tensor", "rt", "onnxrunti") for line in lines)


def test_recommend_is_a_screenful_with_the_verdict_first(resnet18_t4) -> None:
    """Finding: 199 lines for 13 ranked rows, the rest an Excluded table repeating reasons per
    framework; --explain printed 471 lines."""
    assert len(resnet18_t4.candidates) > DEFAULT_SHOWN  # so the default really trims
    lines = _table(resnet18_t4, 100)
    assert lines[0].startswith("Use ") and " on t4: " in lines[0]
    best = resnet18_t4.candidates[0]
    assert f"{sig3(best.latency_ms)} ms ({sig3(best.latency_ms_low)}-{sig3(best.latency_ms_high)})" in lines[0]
    assert f"{sig3(best.throughput_per_s)} img/s" in lines[0]
    ranked_rows = [line for line in lines if line.split()[:1] and line.split()[0].isdigit()]
    assert len(ranked_rows) == DEFAULT_SHOWN
    assert any(f"--top {len(resnet18_t4.candidates)} shows all" in line for line in lines)
    assert len(lines) <= 40, "\n".join(lines)
    # the tf32 reason (same for every framework on a Turing card) is said once, not per framework
    assert sum("no tf32 tensor cores" in line for line in lines) == 1
    explained = _table(resnet18_t4, 100, explain=True)
    assert len(explained) < 471 // 2  # every exclusion still listed, one item per model x framework x reason
    assert not any(len(line.split()) == 1 and line.strip().isalpha() for line in explained[:40])  # no word columns


def test_top_one_is_short(db) -> None:
    """Finding: `--top 1` still printed 169 lines."""
    cache_zoo_profile(db, "resnet18")
    rec = recommend(db, RecommendRequest(models=["resnet18"], target="t4", top=1))
    lines = _table(rec, 100, shown=1)
    assert len(lines) <= 15, "\n".join(lines)


def test_not_applicable_footer_never_lists_a_ranked_framework(db) -> None:
    """Finding: the footer listed tensorrt while tensorrt held ranks 1-2 (l4: tensorrt supports
    every precision, only its GGUF combinations are 'not applicable')."""
    cache_zoo_profile(db, "resnet18")
    rec = recommend(db, RecommendRequest(models=["resnet18"], target="l4"))
    ranked = {c.framework for c in rec.candidates}
    assert "tensorrt" in ranked
    footer = next(line for line in _table(rec, 200) if line.startswith("Not applicable here"))
    listed = {name.strip() for name in footer.split(":", 1)[1].split(",")}
    assert not listed & ranked and "coreml" in listed
    md = to_markdown(rec)
    md_footer = next(line for line in md.splitlines() if "not applicable here" in line)
    assert "tensorrt" not in md_footer.split(":", 1)[1].replace("tensorrt-llm", "")


def test_three_significant_figures_and_units() -> None:
    """Finding: `latency 78.256 ms`, `memory MB 138,632.8`: more digits than the model knows."""
    assert sig3(78.256) == "78.3" and sig3(0.5593) == "0.559" and sig3(5110.8) == "5,110"
    assert megabytes(138_632.8) == "139 GB" and megabytes(27.578) == "27.6 MB"


def test_throughput_unit_says_what_is_counted() -> None:
    """Finding: throughput said "/s" without saying images, sequences or tokens."""
    assert throughput_unit(None, [1, 3, 640, 640]) == "img/s"
    assert throughput_unit(None, [1, 128]) == "seq/s"
    assert throughput_unit("decode", [1, 1]) == "tok/s" and throughput_unit("prefill", [1, 512]) == "tok/s"


def test_table_cells_carry_three_figures_and_the_model_kind(db) -> None:
    cache_zoo_profile(db, "bert-base")
    rec = recommend(db, RecommendRequest(models=["bert-base"], target="t4", top=3))
    lines = _table(rec, 100, shown=3)
    assert "seq/s" in lines[0] and "seq/s" in next(line for line in lines if line.lstrip().startswith("#"))
    for c in rec.candidates:
        row = next(line for line in lines if line.split()[:1] == [str(c.rank)])
        assert sig3(c.latency_ms) in row and megabytes(c.memory_mb) in row
        assert f"{c.latency_ms:.3f}" not in row or sig3(c.latency_ms) == f"{c.latency_ms:.3f}"


@pytest.mark.parametrize("columns", [80, 100])
def test_cli_fits_the_terminal_width(db, isolated_db, columns) -> None:
    cache_zoo_profile(db, "yolov5s")
    out = _cli("recommend", "--model", "yolov5s", "--target", "jetson-nano", columns=columns)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    verdict = " ".join(line.strip() for line in lines[:3])
    assert verdict.startswith("Use NVIDIA TensorRT fp16 on jetson-nano:")
    assert "img/s" in verdict and "int8 unavailable: no int8 dot-product or tensor-core units" in verdict


def test_json_keeps_every_candidate_unless_top(db, isolated_db) -> None:
    """The table shows 10; JSON, which scripts read, keeps all of them as before (and --top trims)."""
    cache_zoo_profile(db, "resnet18")
    every = json.loads(_cli("recommend", "--model", "resnet18", "--target", "t4", "-f", "json", columns=100).stdout)
    assert len(every["candidates"]) > DEFAULT_SHOWN
    assert all("recipe" not in c for c in every["candidates"])
    three = json.loads(_cli("recommend", "--model", "resnet18", "--target", "t4", "-f", "json", "--top", "3",
                            columns=100).stdout)
    assert [c["rank"] for c in three["candidates"]] == [1, 2, 3]


@pytest.mark.parametrize("columns", [80, 100])
def test_failing_gate_verdict_is_readable(sqlite_db_url, columns) -> None:
    """Finding: a failing gate ended with one 700-character stderr line. Now stdout opens with a
    verdict of one line per missed requirement (figures with units), every line fits, and
    stderr is one short line naming the missed requirements."""
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "configs/gate/yolov5x-raspberry-pi-4-fails.yaml"
    out = _cli("gate", str(config), columns=columns)
    assert out.returncode == 1
    (err,) = out.stderr.strip().splitlines()
    assert err.startswith("advisor: FAIL yolov5x-raspberry-pi-4") and len(err) <= 200
    assert "max_latency_ms, min_throughput, max_params" in err
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    misses = [line for line in lines[:8] if line.lstrip().startswith("x ")]
    assert [m.split()[1] for m in misses] == ["max_latency_ms", "min_throughput", "max_params"]
    assert " ms against <= 50 ms: " in misses[0] and " img/s against >= 20 img/s: " in misses[1]
    assert "img/s" in next(line for line in lines if line.startswith("#"))


@pytest.mark.parametrize("columns", [None, 80, 100])
def test_hardware_list_fits(isolated_db, columns) -> None:
    """Finding: `hardware list` was 173 columns wide. Piped output is 100 wide unless COLUMNS
    says otherwise; peaks at three significant figures (H200 fp16 989.5 -> 990)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = str(columns)
    out = subprocess.run([sys.executable, "-m", "advisor.cli", "hardware", "list"], capture_output=True, text=True,
                         env=env, timeout=120)
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and max(len(line) for line in lines) <= (columns or 100)
    h200 = next(line for line in lines if line.startswith("h200 "))
    assert "990" in h200 and "989.5" not in h200


@pytest.mark.parametrize("columns", [80, 100])
def test_profile_per_layer_and_predict_per_kernel_fit_with_three_figures(sqlite_db_url, columns) -> None:
    """Findings: `profile --per-layer` was 165 columns wide; predict's per-kernel times had four
    decimals (`0.5593 ms`) from a model whose stated error is tens of percent."""
    import re

    profile = _cli("profile", "resnet18", "--per-layer", columns=columns)
    assert profile.returncode == 0, profile.stderr
    lines = profile.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert any(line.startswith("layer4.1.conv2 ") for line in lines)
    predicted = _cli("predict", "--model", "resnet18", "--target", "t4", "--precision", "fp16", "--framework",
                     "tensorrt", "--per-layer", columns=columns)
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert lines[0].startswith("resnet18 on t4 with tensorrt fp16: ") and "img/s" in lines[0]
    kernel_rows = [line for line in lines if re.match(r"\s*\d+\s+\S", line) and "%" in line]
    assert len(kernel_rows) > 10
    for row in kernel_rows:
        for figure in re.findall(r"\d[\d,]*\.?\d*", row.split()[2] if len(row.split()) > 2 else ""):
            digits = figure.replace(",", "").replace(".", "").lstrip("0")
            assert len(digits) <= 3 or figure.replace(",", "").isdigit(), row


def test_step_progress_draws_on_a_terminal_and_is_off_otherwise() -> None:
    """calibrate, bench and validate show a bar on a terminal; piped or --quiet, nothing."""
    from advisor.display import StepProgress, progress_wanted

    buf = io.StringIO()
    terminal = Console(file=buf, width=80, force_terminal=True, color_system=None)
    with StepProgress("validate", 3, True, out=terminal) as progress:
        for what in ("resnet18 b1: build", "resnet18 b1 pytorch fp32", "resnet18 b1 onnxruntime-cpu fp32"):
            progress.step(what)
    drawn = buf.getvalue()
    assert "validate" in drawn and "3/3" in drawn and "onnxruntime-cpu fp32" in drawn
    silent = io.StringIO()
    with StepProgress("validate", 3, False, out=Console(file=silent, force_terminal=True)) as progress:
        progress.step("x")
    assert silent.getvalue() == ""
    assert progress_wanted(quiet=True) is False
    assert progress_wanted(quiet=False) is sys.stderr.isatty()  # pytest captures stderr: not a terminal


@pytest.mark.parametrize("command", ["calibrate", "bench", "validate"])
def test_measuring_commands_take_quiet(command) -> None:
    out = subprocess.run([sys.executable, "-m", "advisor.cli", command, "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert out.returncode == 0 and "--quiet" in out.stdout


def test_a_missed_budget_is_said_first_with_the_closest_combination(db) -> None:
    """With nothing left, the first reason is the user's budget and names the combination
    nearest to meeting it (the fastest), not an arbitrary one."""
    cache_zoo_profile(db, "yolov5n")
    rec = recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-orin-nano", max_latency_ms=0.001))
    assert rec.candidates == []
    lines = _table(rec, 100)
    assert lines[0] == "No candidate meets the constraints on jetson-orin-nano; why:"
    budget = lines[2]
    assert "miss the budget (max_latency_ms); the closest, " in budget
    missed = [f for e in rec.excluded for f in e.findings if f.rule == "max_latency_ms"]
    fastest = min(f.details["value"] for f in missed)
    assert f"predicted latency {fastest:.3g} ms" in " ".join(lines[2:4])


def test_latency_ranges_share_one_format() -> None:
    """display.p10_p90 is the one p10-p90 format: the headline's ms_range, the table's latency
    cell and its p10-p90 column (the range is known only when its high end is above 0)."""
    from advisor.display import ms_range, p10_p90
    from advisor.domain.candidates import Candidate
    from advisor.recommend.render import latency_cell

    assert p10_p90(59.83, 164.2) == "59.8-164" and p10_p90(1234.0, 5678.0) == "1,230-5,680" and p10_p90(0, 0) == ""
    assert ms_range(78.06, 59.83, 164.2) == "78.1 ms (59.8-164)" and ms_range(78.06) == "78.1 ms"
    # the one-line answer says when the range lies off the figure (a biased class)
    assert ms_range(0.4401, 0.5612, 2.141, say_side=True) == \
        "0.440 ms (likely 0.561-2.14: setups like it ran slower than predicted)"
    assert ms_range(10.0, 5.0, 8.0, say_side=True).endswith("(likely 5.00-8.00: setups like it ran faster than predicted)")
    assert ms_range(78.06, 59.83, 164.2, say_side=True) == "78.1 ms (59.8-164)"
    assert ms_range(0.4401, 0.5612, 2.141) == "0.440 ms (0.561-2.14)"
    fields = dict(rank=1, model="resnet18", precision="fp16", framework="tensorrt", throughput_per_s=350.0,
                  bound="memory", memory_mb=50.0)
    assert latency_cell(Candidate(latency_ms=2.871, latency_ms_low=2.304, latency_ms_high=3.586, **fields)) == \
        "2.87 (2.30-3.59)"
    assert latency_cell(Candidate(latency_ms=2.871, **fields)) == "2.87"


def test_verdict_says_in_words_when_no_framework_runs_int8(db) -> None:
    """The AGX Orin computes int8, but none of these frameworks runs an LLM decode in int8 there
    (their YAML lists no int8 for edge GPUs): the verdict said "int8 unavailable:
    precision_support", a rule's id."""
    from advisor.recommend.render import verdict

    cache_zoo_profile(db, "llama-1.1b", "decode", 1024)
    frameworks = ["pytorch", "pytorch-cudagraphs", "llama-cpp"]
    rec = recommend(db, RecommendRequest(models=["llama-1.1b"], target="jetson-agx-orin", phase="decode", context=1024,
                                         frameworks=frameworks))
    assert rec.candidates and all(c.precision != "int8" for c in rec.candidates)
    line = verdict(rec)
    assert line.endswith("int8 unavailable: not supported by any of the 3 frameworks that run here (--explain lists each)")
    one = recommend(db, RecommendRequest(models=["llama-1.1b"], target="jetson-agx-orin", phase="decode", context=1024,
                                         frameworks=["pytorch"]))
    assert verdict(one).endswith("int8 unavailable: not supported by the one framework that runs here (--explain lists each)")
