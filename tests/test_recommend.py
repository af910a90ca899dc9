"""`advisor recommend` end to end on the seeded database: ranking, exclusions, constraints."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor.errors import InputError
from advisor.recommend.engine import recommend
from advisor.recommend.render import to_json, to_markdown
from advisor.recommend.types import RecommendRequest

from factories_predict import cache_zoo_profile, run_cli



def test_yolov5s_on_jetson_nano_ranks_fp16_tensorrt_first_and_excludes_int8(db) -> None:
    cache_zoo_profile(db, "yolov5s")
    rec = recommend(db, RecommendRequest(models=["yolov5s"], target="jetson-nano"))
    top = rec.candidates[0]
    assert (top.framework, top.precision) == ("tensorrt", "fp16")
    assert [c.rank for c in rec.candidates] == list(range(1, len(rec.candidates) + 1))
    assert all(a.latency_ms <= b.latency_ms for a, b in zip(rec.candidates, rec.candidates[1:]))
    assert not any(c.precision == "int8" for c in rec.candidates)
    (trt_int8,) = [e for e in rec.excluded if e.framework == "tensorrt" and e.precision == "int8"]
    assert any("no int8 support" in r and "jetson-nano" in r for r in trt_int8.reasons)
    # fp16 beats fp32 on the same framework: the Nano has twice the fp16 rate (half2)
    fp32 = next(c for c in rec.candidates if c.framework == "tensorrt" and c.precision == "fp32")
    assert fp32.latency_ms > 1.5 * top.latency_ms


def test_max_latency_keeps_only_faster_candidates_fastest_first(db) -> None:
    for m in ("yolov5n", "yolov5s", "yolov8n"):
        cache_zoo_profile(db, m)
    req = RecommendRequest(models=["yolov5n", "yolov5s", "yolov8n"], target="jetson-orin-nano", max_latency_ms=10)
    rec = recommend(db, req)
    assert rec.candidates
    assert all(c.latency_ms < 10 for c in rec.candidates)
    assert [c.latency_ms for c in rec.candidates] == sorted(c.latency_ms for c in rec.candidates)
    assert {c.model for c in rec.candidates} == {"yolov5n", "yolov5s", "yolov8n"}
    slow = [e for e in rec.excluded if any("--max-latency-ms 10" in r for r in e.reasons)]
    assert slow  # e.g. fp32 eager PyTorch does not make it
    # the same request without the budget has strictly more candidates
    assert len(recommend(db, req.model_copy(update={"max_latency_ms": None})).candidates) > len(rec.candidates)


def test_top_and_narrowing(db) -> None:
    cache_zoo_profile(db, "yolov5n")
    rec = recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-orin-nano",
                                         frameworks=["tensorrt", "pytorch"], precisions=["fp16", "fp32"], top=3))
    assert len(rec.candidates) == 3
    assert {c.framework for c in rec.candidates} <= {"tensorrt", "pytorch"}
    assert {c.precision for c in rec.candidates} <= {"fp16", "fp32"}


def test_llama_70b_fp16_does_not_fit_a_4090(db) -> None:
    cache_zoo_profile(db, "llama-70b", "decode", 512)
    rec = recommend(db, RecommendRequest(models=["llama-70b"], target="rtx-4090", phase="decode", context=512,
                                         frameworks=["vllm"], precisions=["fp16"]))
    assert rec.candidates == []
    (e,) = rec.excluded
    reason = " ".join(e.reasons)
    assert "GB" in reason and "24 GB" in reason
    # weights alone are 69 G params x 2 bytes = 138 GB
    assert any(f"{v} GB" in reason for v in ("138.1", "138.2", "138.3"))


def test_memory_and_throughput_constraints(db) -> None:
    cache_zoo_profile(db, "yolov5s")
    rec = recommend(db, RecommendRequest(models=["yolov5s"], target="jetson-orin-nano", max_memory_mb=20,
                                         min_throughput=100))
    assert all(c.memory_mb <= 20 and c.throughput_per_s >= 100 for c in rec.candidates)
    assert any("--max-memory-mb 20" in r for e in rec.excluded for r in e.reasons)


def test_outputs_json_and_markdown(db) -> None:
    cache_zoo_profile(db, "yolov5n")
    rec = recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-nano"))
    data = json.loads(to_json(rec))
    assert set(data) == {"target", "candidates", "excluded"}
    assert {"rank", "model", "precision", "framework", "latency_ms", "throughput_per_s", "bound", "memory_mb",
            "warnings"} <= set(data["candidates"][0])
    assert {"model", "precision", "framework", "reasons"} == set(data["excluded"][0])
    md = to_markdown(rec, explain=True)
    assert md.startswith("# Recommendation for jetson-nano") and "| 1 | yolov5n |" in md
    assert "## Rules fired per candidate" in md


def test_unknown_names_are_input_errors(db) -> None:
    with pytest.raises(InputError, match="jetson-nano"):
        recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-nanoo"))
    with pytest.raises(InputError, match="tensorrt"):
        recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-nano", frameworks=["tensorrtt"]))
    with pytest.raises(InputError, match="fp16"):
        recommend(db, RecommendRequest(models=["yolov5n"], target="jetson-nano", precisions=["fp61"]))


@pytest.mark.parametrize(
    ("args", "named", "nearest"),
    [
        (["--model", "yolov5ss", "--target", "jetson-nano"], "yolov5ss", "yolov5s"),
        (["--model", "yolov5s", "--target", "jetson-nan"], "jetson-nan", "jetson-nano"),
        (["--model", "yolov5s", "--target", "jetson-nano", "--frameworks", "tensort"], "tensort", "tensorrt"),
        (["--model", "yolov5s", "--target", "jetson-nano", "--precisions", "fp1"], "fp1", "fp16"),
    ],
)
def test_cli_unknown_name_is_one_line_exit_2(isolated_db, args, named, nearest) -> None:
    out = run_cli("recommend", *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and nearest in lines[0]


def test_cli_cached_profile_runs_without_torch(db, isolated_db) -> None:
    """The second call must not import torch: the profile comes from the database cache."""
    cache_zoo_profile(db, "yolov5s")
    code = (
        "import sys, io, contextlib\n"
        "from advisor.cli import main\n"
        "sys.argv = ['advisor', 'recommend', '--model', 'yolov5s', '--target', 'jetson-nano', '-f', 'json']\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, e.code\n"
        "print('torch' in sys.modules)\n"
        "import json; print(json.loads(buf.getvalue())['candidates'][0]['framework'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "tensorrt"]


def test_cli_table_lists_int8_exclusion(db, isolated_db) -> None:
    cache_zoo_profile(db, "yolov5s")
    out = run_cli("recommend", "--model", "yolov5s", "--target", "jetson-nano")
    assert out.returncode == 0, out.stderr
    first_row = next(line for line in out.stdout.splitlines() if line.split()[:1] == ["1"])
    assert "tensorrt" in first_row and "fp16" in first_row
    assert "no int8 support" in out.stdout


def test_cli_markdown_explain_and_unmet_constraint(db, isolated_db) -> None:
    cache_zoo_profile(db, "yolov5n")
    out = run_cli("recommend", "--model", "yolov5n", "--target", "jetson-orin-nano", "--frameworks", "tensorrt",
               "--precisions", "fp16,int8", "--explain", "--format", "markdown")
    assert out.returncode == 0, out.stderr
    assert "| 1 | yolov5n | tensorrt |" in out.stdout
    assert "int8_calibration (warning)" in out.stdout  # --explain lists the rules that fired
    assert "-bound" in out.stdout
    # a budget nothing meets: exit 1, the excluded list still says why
    out = run_cli("recommend", "--model", "yolov5n", "--target", "jetson-orin-nano", "--max-latency-ms", "0.001",
               "--format", "json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["candidates"] == [] and any("--max-latency-ms 0.001" in r for e in data["excluded"] for r in e["reasons"])
