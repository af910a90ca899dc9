"""The gate's config validation, verdict arithmetic and reports, on hand-written figures.

The figures here are chosen so every expected margin can be worked out by hand; the
end-to-end runs against the real predictor are in test_gate_examples.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.gate.baseline import read_baseline, write_baseline
from advisor.gate.config import load_config, parse_config
from advisor.gate.evaluate import fmt_number, judge
from advisor.gate.junit import junit_xml
from advisor.gate.render import render_markdown, render_table
from advisor.gate.types import CandidateFigures, GateResult
from advisor.domain.candidates import Exclusion
from advisor.domain.findings import Finding

BASE = {"models": ["m"], "target": "edge", "requirements": {"max_latency_ms": 10, "min_throughput": 100, "max_memory_mb": 500}}


def cand(rank: int, latency: float, throughput: float, memory: float, *, params: int = 7_000_000, flops: int = 16_000_000_000, precision: str = "fp16") -> CandidateFigures:
    return CandidateFigures(
        rank=rank, model="m", precision=precision, framework="fw", latency_ms=latency,
        throughput_per_s=throughput, memory_mb=memory, params=params, flops=flops, bound="memory",
    )


def write(tmp_path: Path, text: str, name: str = "gate.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ---- config validation: one line naming file, field and value ---------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: [m]\ntarget: t\nrequirements: {max_latency_ms: -5}\n", ["requirements.max_latency_ms", "greater than 0", "-5"]),
        ("models: [m]\ntarget: t\nrequirements: {max_latncy_ms: 5}\n", ["requirements.max_latncy_ms", "unknown key", "did you mean 'max_latency_ms'"]),
        ("models: [m]\ntarget: t\nrequirments: {max_latency_ms: 5}\n", ["requirments", "unknown key", "did you mean 'requirements'"]),
        ("models: [m]\ntarget: t\nprecisions: [fp16, int3]\nrequirements: {max_latency_ms: 5}\n", ["precisions", "unknown precision 'int3'"]),
        ("models: [m]\ntarget: t\nrequirements: {}\n", ["requirements: set at least one"]),
        ("models: []\ntarget: t\nrequirements: {max_latency_ms: 5}\n", ["models", "at least 1"]),
        ("target: t\nrequirements: {max_latency_ms: 5}\n", ["models: required field is missing"]),
        ("models: [m]\ntarget: t\nbatch: 0\nrequirements: {max_latency_ms: 5}\n", ["batch", "greater than or equal to 1", "0"]),
        ("models: [m]\ntarget: t\nphase: decoding\nrequirements: {max_latency_ms: 5}\n", ["phase", "'decoding'"]),
        ("models: [m]\ntarget: t\nrequirements: {max_latency_ms: 5}\nregression: {latency_pct: -1}\n", ["regression.latency_pct", "-1"]),
        ("models: [m]\ntarget: t\nrequirements: {max_memory_mb: lots}\n", ["requirements.max_memory_mb", "'lots'"]),
        ("models: [m\ntarget: t\n", ["invalid YAML at line"]),
        ("", ["empty config"]),
        ("- just\n- a list\n", ["expected a mapping", "list"]),
    ],
)
def test_bad_config_is_one_line_naming_file_and_field(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: ")
    for part in expected:
        assert part in msg, (part, msg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_good_config_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, "models: [yolov5s]\ntarget: jetson-nano\nbatch: 1\nframeworks: [tensorrt]\nprecisions: [fp16]\nrequirements:\n  max_latency_ms: 100\n  max_flops: 20e9\n")
    cfg = load_config(path)
    assert cfg.requirements.max_flops == 20e9
    assert cfg.regression.latency_pct == 10.0  # documented default
    assert cfg.display_name == "yolov5s on jetson-nano"


# ---- the verdict ---------------------------------------------------------------------

def test_first_passing_candidate_in_rank_order_is_selected() -> None:
    cfg = parse_config(BASE, "t")
    res = judge(cfg, [cand(1, 12, 83.3, 300), cand(2, 8, 125, 300), cand(3, 9, 111, 100)], [])
    assert res.passed
    assert res.selected is not None and res.selected.rank == 2
    assert [c.passed for c in res.candidates] == [False, True, True]
    assert res.candidates[0].failed == ["max_latency_ms", "min_throughput"]
    lat = res.checks[0]
    assert (lat.requirement, lat.value, lat.limit) == ("max_latency_ms", 8, 10)
    assert lat.margin == pytest.approx(2.0) and lat.margin_pct == pytest.approx(20.0)
    thr = res.checks[1]
    assert thr.margin == pytest.approx(25.0) and thr.margin_pct == pytest.approx(25.0)


def test_failure_reports_closest_candidate_and_by_how_much() -> None:
    cfg = parse_config(BASE, "t")
    # A misses one limit by 20%, B misses one by 80%, C misses two: A is closest.
    a, b, c = cand(2, 12, 100, 300), cand(1, 9, 111, 900), cand(3, 30, 33, 300)
    res = judge(cfg, [a, b, c], [])
    assert not res.passed and res.selected is None
    assert res.best is not None and res.best.rank == 2
    failed = [chk for chk in res.checks if not chk.passed]
    assert [chk.requirement for chk in failed] == ["max_latency_ms"]
    assert failed[0].margin == pytest.approx(-2.0)
    assert failed[0].margin_pct == pytest.approx(-20.0)
    assert "2 ms over the budget, 20.0%" in failed[0].message


def test_throughput_shortfall_message() -> None:
    cfg = parse_config({**BASE, "requirements": {"min_throughput": 100}}, "t")
    res = judge(cfg, [cand(1, 12.5, 80, 300)], [])
    (chk,) = res.checks
    assert not chk.passed and chk.margin == pytest.approx(-20.0)
    assert "misses min_throughput 100/s: 20/s short of the budget, 20.0%" in chk.message


def test_params_and_flops_budgets() -> None:
    cfg = parse_config({**BASE, "requirements": {"max_params": 5_000_000, "max_flops": 20e9}}, "t")
    res = judge(cfg, [cand(1, 5, 200, 100, params=7_235_389, flops=16_500_000_000)], [])
    params, flops = res.checks
    assert not params.passed and params.margin == -2_235_389
    assert flops.passed and flops.margin == pytest.approx(3.5e9)
    assert "7.235 M" in params.message


def test_no_candidate_at_all_fails_every_requirement() -> None:
    cfg = parse_config(BASE, "t")
    no_int8 = Finding(rule="hardware_precision", action="exclude", message="no int8 on this device")
    excl = [Exclusion(model="m", precision="int8", framework="fw", findings=[no_int8])]
    res = judge(cfg, [], excl)
    assert not res.passed and res.best is None
    assert len(res.checks) == 3 and not any(c.passed for c in res.checks)
    assert all("all 1 combinations were excluded" in c.message for c in res.checks)


def test_regression_limits_against_baseline() -> None:
    cfg = parse_config({**BASE, "regression": {"latency_pct": 10, "throughput_pct": 5, "memory_pct": 0}}, "t")
    ref = cand(1, 8.0, 125, 300)
    # latency 9 vs 8: +12.5% > 10% -> fail; throughput 120 vs 125: -4% within 5%; memory equal.
    res = judge(cfg, [cand(1, 9.0, 120, 300)], [], baseline=ref)
    by_name = {c.requirement: c for c in res.checks}
    assert set(by_name) == {"max_latency_ms", "min_throughput", "max_memory_mb", "latency_regression",
                            "throughput_regression", "memory_regression", "params_regression", "flops_regression"}
    assert not by_name["latency_regression"].passed
    assert by_name["latency_regression"].limit == pytest.approx(8.8)
    assert "+12.5%" in by_name["latency_regression"].message
    assert by_name["throughput_regression"].passed and by_name["throughput_regression"].limit == pytest.approx(118.75)
    assert by_name["memory_regression"].passed
    assert not res.passed


# ---- reports -------------------------------------------------------------------------

def test_junit_has_one_testcase_per_requirement_with_failures() -> None:
    cfg = parse_config(BASE, "t")
    res = judge(cfg, [cand(1, 12, 83.3, 300)], [])
    root = ET.fromstring(junit_xml(res))
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == ["max_latency_ms", "min_throughput", "max_memory_mb"]
    assert root.get("tests") == "3" and root.get("failures") == "2"
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["max_memory_mb"] is None
    assert "2 ms over the budget" in failures["max_latency_ms"].get("message")


def test_baseline_round_trip_and_target_mismatch(tmp_path: Path) -> None:
    cfg = parse_config(BASE, "t")
    res = judge(cfg, [cand(1, 8, 125, 300)], [])
    path = tmp_path / "sub" / "baseline.json"
    write_baseline(path, res)
    assert read_baseline(path, "edge") == res.selected
    assert GateResult.model_validate(json.loads(path.read_text())) == res
    with pytest.raises(InputError, match="differs from the config's target 'other'"):
        read_baseline(path, "other")
    bad = write(tmp_path, "{not json", "bad.json")
    with pytest.raises(InputError, match="not a JSON gate result"):
        read_baseline(bad, "edge")
    wrong = write(tmp_path, '{"gate": "x"}', "wrong.json")
    with pytest.raises(InputError, match="not a gate result"):
        read_baseline(wrong, "edge")


def test_markdown_and_table_name_the_verdict() -> None:
    cfg = parse_config(BASE, "t")
    res = judge(cfg, [cand(1, 12, 83.3, 300)], [])
    md = render_markdown(res)
    assert md.startswith("### :x: advisor gate")
    assert "| `max_latency_ms` | <= 10 ms | 12.0 ms | -2.00 ms (-20.0%) | :x: fail |" in md
    table = render_table(res)
    assert "FAIL" in table and "max_latency_ms" in table


def test_fmt_number() -> None:
    assert fmt_number(7_235_389) == "7.235 M"
    assert fmt_number(16.5e9, "FLOPs") == "16.5 GFLOPs"
    assert fmt_number(12.25, "ms") == "12.25 ms"
    assert fmt_number(83.3, "/s") == "83.3/s"
    assert fmt_number(20000, "MB") == "20,000 MB"
