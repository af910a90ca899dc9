"""`advisor plan` from options to output: request parsing, JSON keys, table width, exits."""

from __future__ import annotations

import json

import pytest

from advisor.errors import ConstraintNotMet, InputError
from advisor.plan.command import build_request, parse_devices, parse_prices, run_plan

#: design.md, "JSON keys": plan -> plans[] (...)
DESIGN_PLAN_KEYS = {
    "target", "devices", "tensor_parallel", "pipeline_parallel", "framework", "precision", "kv_cache",
    "max_concurrency", "output_tokens_per_s", "ttft_ms", "tpot_ms", "memory_per_device_gb",
    "price_per_device_hour", "cost_per_million_tokens", "energy_per_million_tokens_kwh", "meets_slo", "bound",
}


def request(**overrides):
    args = dict(model="llama-1.1b", targets=["l4"], devices=None, input_len=256, output_len=64, ttft_ms=None,
                tpot_ms=None, min_output_tokens_per_s=None, frameworks="vllm", precisions="fp16,w4a16",
                kv_cache=None, prices=None)
    args.update(overrides)
    return build_request(**args)


def test_option_parsing():
    assert parse_devices("4") == [4]
    assert parse_devices("1,2,4") == [1, 2, 4]
    assert parse_devices("1-4") == [1, 2, 3, 4]
    assert parse_prices(["h100-sxm=2.99", "l4=0.5"]) == {"h100-sxm": 2.99, "l4": 0.5}
    for bad in ("0", "x", "4-1", "2000"):
        with pytest.raises(InputError, match="--devices"):
            parse_devices(bad)
    for bad in ("h100-sxm", "h100-sxm=free", "=3", "l4=-1"):
        with pytest.raises(InputError, match="--price"):
            parse_prices([bad])
    assert request(targets=["l4,t4"]).targets == ["l4", "t4"]
    assert request(targets=["l4", "all"]).targets == ["all"]
    with pytest.raises(InputError, match="--ttft-ms"):
        request(ttft_ms=-1.0)
    with pytest.raises(InputError, match="--input-len"):
        request(input_len=0)


def test_json_keys_and_ranking(isolated_db, capsys):
    run_plan(request(targets=["l4", "t4"], prices=["t4=0.35"]), fmt="json")
    report = json.loads(capsys.readouterr().out)
    assert report["plans"], report["excluded"]
    for plan in report["plans"]:
        assert set(plan) == DESIGN_PLAN_KEYS | {"concurrency", "output_tokens_per_s_per_device"}
        assert plan["meets_slo"] is True
        assert plan["concurrency"] <= plan["max_concurrency"]
        # cost = devices x price / (tokens/s x 3600) x 1e6
        expected = plan["devices"] * plan["price_per_device_hour"] / (plan["output_tokens_per_s"] * 3600) * 1e6
        assert plan["cost_per_million_tokens"] == pytest.approx(expected)
    assert {p["price_per_device_hour"] for p in report["plans"] if p["target"] == "t4"} == {0.35}  # --price wins
    per_device = [p["output_tokens_per_s_per_device"] for p in report["plans"]]
    assert per_device == sorted(per_device, reverse=True)  # no objective: by throughput per device
    assert report["ranked_by"] == "output_tokens_per_s_per_device"


def test_objectives_filter_and_rank_by_cost(isolated_db, capsys):
    run_plan(request(targets=["l4", "t4"], tpot_ms=40.0, ttft_ms=400.0), fmt="json")
    report = json.loads(capsys.readouterr().out)
    assert report["ranked_by"] == "cost_per_million_tokens"
    assert all(p["tpot_ms"] <= 40.0 and p["ttft_ms"] <= 400.0 for p in report["plans"])
    costs = [p["cost_per_million_tokens"] for p in report["plans"]]
    assert costs == sorted(costs)


def test_nothing_meets_the_objectives_exits_1(isolated_db, capsys):
    with pytest.raises(ConstraintNotMet):
        run_plan(request(tpot_ms=0.01), fmt="json")
    report = json.loads(capsys.readouterr().out)
    assert report["plans"] == []
    assert any("TPOT" in r and "at concurrency 1" in r for e in report["excluded"] for r in e["reasons"])


def test_table_fits_100_columns(isolated_db, capsys):
    run_plan(request(targets=["l4", "t4", "a10"], precisions=None, kv_cache="fp16,fp8"), fmt="table")
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "tok/s/dev" in out and "$/Mtok" in out and "…" not in out


def test_markdown_lists_plans_and_exclusions(isolated_db, capsys):
    run_plan(request(targets=["l4", "raspberry-pi-5"]), fmt="markdown")
    out = capsys.readouterr().out
    assert out.startswith("**llama-1.1b, 256 in / 64 out tokens: ")
    assert "| 1 | l4 |" in out
    assert "vllm does not run on cpu devices like raspberry-pi-5" in out


def test_unknown_names_are_input_errors(isolated_db):
    with pytest.raises(InputError, match="unknown platform"):
        run_plan(request(targets=["h1000"]))
    with pytest.raises(InputError, match="no serving traits"):
        run_plan(request(frameworks="tensorrt"))
    with pytest.raises(InputError, match="KV-cache dtype"):
        run_plan(request(kv_cache="fp4"))
    with pytest.raises(InputError, match="language models"):
        run_plan(request(model="resnet18"))


def test_layouts_that_cannot_be_built_are_excluded_with_the_reason(isolated_db, capsys):
    try:  # llama.cpp splits TinyLlama into 3 pipeline stages on L4s; whether that plan exists is not the point
        run_plan(request(targets=["l4", "jetson-orin-nano"], devices="3,16", frameworks="vllm,llama-cpp",
                         precisions="fp16"), fmt="json")
    except ConstraintNotMet:
        pass
    reasons = {r for e in json.loads(capsys.readouterr().out)["excluded"] for r in e["reasons"]}
    assert "tensor parallel 3 does not divide the 32 attention heads" in reasons  # TinyLlama: 32 heads
    assert any("l4 links at most 8 devices" in r for r in reasons)
    assert "jetson-orin-nano is not offered across devices (no device-to-device interconnect)" in reasons


def test_fixed_concurrency(isolated_db, capsys):
    run_plan(request(concurrency=4), fmt="json")
    plans = json.loads(capsys.readouterr().out)["plans"]
    assert plans and {p["concurrency"] for p in plans} == {4}


def test_cli_exit_codes(sqlite_db_url):
    from factories_predict import run_cli

    ok = run_cli("plan", "--model", "llama-1.1b", "--target", "l4", "--input-len", "256", "--output-len", "64",
                 "--frameworks", "vllm", "--precisions", "fp16", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["plans"][0]["target"] == "l4"
    unknown = run_cli("plan", "--model", "llama-1.1b", "--target", "h1000")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "'h1000'" in unknown.stderr
    missed = run_cli("plan", "--model", "llama-1.1b", "--target", "l4", "--tpot-ms", "0.01", "--frameworks", "vllm",
                     "--precisions", "fp16")
    assert missed.returncode == 1
