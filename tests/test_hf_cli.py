"""Hugging Face configs end to end through the CLI: profile JSON keys, recommend for a
decoder LLM (the LLM frameworks ranked in tokens/s), MoE warnings reaching every command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

pytest.importorskip("transformers")

from tests.hf_configs import CONFIGS, PUBLISHED_PARAMS, write_config  # noqa: E402


def _run(*args: str, **env: str) -> SimpleNamespace:
    """The CLI in a fresh process (as a user runs it); $ADVISOR_DB comes from the db fixture."""
    done = subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)
    return SimpleNamespace(exit_code=done.returncode, output=done.stdout, stderr=done.stderr)


def test_profile_json_has_source_and_active_params(tmp_path, sqlite_db_url):
    directory = write_config(tmp_path, "Mixtral-8x7B", CONFIGS["mixtral-8x7b"])
    result = _run("profile", str(directory), "--phase", "decode", "--context", "2048", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.output)
    assert data["source"] == "hf"
    assert data["model"] == "Mixtral-8x7B"
    assert data["params"] == PUBLISHED_PARAMS["mixtral-8x7b"]
    assert data["active_params"] == 12_879_925_248
    assert (data["phase"], data["context"]) == ("decode", 2048)
    assert data["unsupported_ops"] == []


def test_dense_profile_active_params_equal_params(tmp_path, sqlite_db_url):
    directory = write_config(tmp_path, "gpt2")
    data = json.loads(_run("profile", str(directory), "--format", "json").output)
    assert data["active_params"] == data["params"] == PUBLISHED_PARAMS["gpt2"]
    assert (data["source"], data["phase"], data["seq_len"]) == ("hf", "prefill", 512)


def test_recommend_ranks_llm_frameworks_for_a_qwen_config(tmp_path, sqlite_db_url):
    directory = write_config(tmp_path, "Qwen2.5-7B", CONFIGS["qwen2.5-7b"])
    result = _run("recommend", "--model", str(directory), "--target", "h100-sxm", "--phase", "decode",
                  "--context", "2048", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.output)
    frameworks = {c["framework"] for c in data["candidates"]}
    assert {"vllm", "tensorrt-llm", "llama-cpp"} <= frameworks
    assert {c["precision"] for c in data["candidates"]} >= {"w4a16", "fp16"}
    # no LLM runtime is excluded as "not a language model"
    assert not [e for e in data["excluded"] if any("language models only" in r for r in e["reasons"])]
    table = _run("recommend", "--model", str(directory), "--target", "h100-sxm", "--phase", "decode",
                 "--context", "2048", "--top", "3")
    assert table.exit_code == 0, table.stderr
    assert "tok/s" in table.output


def test_predict_reports_tokens_per_second(tmp_path, sqlite_db_url):
    directory = write_config(tmp_path, "Qwen2.5-7B", CONFIGS["qwen2.5-7b"])
    result = _run("predict", "--model", str(directory), "--target", "h100-sxm", "--precision", "fp16",
                  "--framework", "vllm", "--phase", "decode", "--context", "2048")
    assert result.exit_code == 0, result.stderr
    assert "tokens/s" in result.output


def test_unknown_hf_id_is_one_line(tmp_path, isolated_db):
    result = _run("profile", "hf:nobody/nothing", HF_HUB_CACHE=str(tmp_path / "empty-cache"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the local Hugging Face cache" in lines[0]
    assert result.output == ""
