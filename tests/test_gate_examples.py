"""`advisor gate` end to end, as CI runs it: every example config in configs/gate/ gives
the exit code its `# expect-exit:` comment promises, the reports parse, baselines catch
regressions, and bad configs exit 2 with one line naming the field.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "configs" / "gate").glob("*.yaml"))
EXPECT = re.compile(r"^# expect-exit: (\d)\s*$", re.M)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One database for the module, so each model is profiled once and then read from the cache."""
    db = tmp_path_factory.mktemp("gate-db") / "advisor.db"
    return {**os.environ, "ADVISOR_DB": f"sqlite:///{db}"}


def gate(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor.cli", "gate", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)


def test_there_are_examples_for_each_kind() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"yolov5s-jetson-nano", "resnet50-t4", "llama-7b-decode-l4"} <= names
    codes = [int(EXPECT.search(p.read_text()).group(1)) for p in EXAMPLES]
    assert 0 in codes and 1 in codes


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.stem)
def test_example_config_gives_its_expected_exit_code(config: Path, env: dict[str, str], tmp_path: Path) -> None:
    expected = int(EXPECT.search(config.read_text()).group(1))
    junit = tmp_path / "junit.xml"
    out = gate(env, config, "--junit", junit, "--format", "json")
    assert out.returncode == expected, out.stderr
    result = json.loads(out.stdout)
    assert result["passed"] is (expected == 0)

    requirements = yaml.safe_load(config.read_text())["requirements"]
    root = ET.parse(junit).getroot()
    cases = root.findall("testcase")
    names = [c.get("name") for c in cases]
    assert sorted(names) == sorted(requirements) and len(names) == len(requirements)  # one per requirement
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert int(root.get("failures")) == len(failed)
    if expected == 0:
        assert failed == []
        sel = result["selected"]
        assert sel["latency_ms"] <= requirements.get("max_latency_ms", float("inf"))
        assert sel["throughput_per_s"] >= requirements.get("min_throughput", 0)
    else:
        assert failed and "advisor: FAIL" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
        for c in cases:  # each failure says by how much
            if c.find("failure") is not None:
                assert re.search(r"over the budget|short of the budget", c.find("failure").get("message"))


def test_baseline_round_trip_and_regression(env: dict[str, str], tmp_path: Path) -> None:
    config = REPO / "configs/gate/yolov5s-jetson-nano.yaml"
    base = tmp_path / "baseline.json"
    first = gate(env, config, "--write-baseline", base, "--format", "markdown")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("### :white_check_mark: advisor gate `yolov5s-jetson-nano` passed on `jetson-nano`")

    junit = tmp_path / "again.xml"
    again = gate(env, config, "--baseline", base, "--junit", junit)
    assert again.returncode == 0, again.stderr
    names = [c.get("name") for c in ET.parse(junit).getroot().findall("testcase")]
    assert names[-5:] == ["latency_regression", "throughput_regression", "memory_regression",
                          "params_regression", "flops_regression"]

    # A baseline 20% faster than today: the 10% latency tolerance is exceeded.
    data = json.loads(base.read_text())
    for key in ("selected", "best"):
        data[key]["latency_ms"] /= 1.2
        data[key]["throughput_per_s"] *= 1.2
    faster = tmp_path / "faster.json"
    faster.write_text(json.dumps(data))
    worse = gate(env, config, "--baseline", faster, "--format", "json")
    assert worse.returncode == 1
    checks = {c["requirement"]: c for c in json.loads(worse.stdout)["checks"]}
    assert not checks["latency_regression"]["passed"] and "+20.0%" in checks["latency_regression"]["message"]
    assert not checks["throughput_regression"]["passed"]
    assert checks["max_latency_ms"]["passed"]


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"target": "jetson-nanoo"}, ["target: unknown platform 'jetson-nanoo'", "did you mean jetson-nano"]),
        ({"requirements": {"max_latency_ms": -10}}, ["requirements.max_latency_ms", "greater than 0", "-10"]),
        ({"requirements": {"max_memory_mb": 100, "max_lateny_ms": 5}}, ["requirements.max_lateny_ms", "unknown key"]),
        ({"frameworks": ["tensorrt", "tensorrtt"]}, ["frameworks[1]: unknown framework 'tensorrtt'"]),
        ({"models": ["yolov5z"]}, ["models[0]", "yolov5z"]),
    ],
)
def test_bad_config_exits_2_with_one_line(change: dict, needles: list[str], env: dict[str, str], tmp_path: Path) -> None:
    cfg = yaml.safe_load((REPO / "configs/gate/yolov5s-jetson-nano.yaml").read_text()) | change
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    junit, base = tmp_path / "junit.xml", tmp_path / "base.json"
    out = gate(env, path, "--junit", junit, "--write-baseline", base)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"advisor: error: {path}: ")
    for needle in needles:
        assert needle in lines[0]
    assert out.stdout == "" and not junit.exists() and not base.exists()


def test_pipeline_examples_run_the_gate_and_publish_junit() -> None:
    """The CI examples name real configs, write JUnit, and hand that file to the CI's report feature."""
    gh = yaml.safe_load((REPO / "configs/ci/github-actions.yml").read_text())
    steps = gh["jobs"]["gate"]["steps"]
    run = next(s for s in steps if s.get("id") == "gate")["run"]
    assert "advisor gate" in run and "--junit reports/gate-" in run
    publish = next(s for s in steps if "test-reporter" in s.get("uses", ""))
    assert publish["if"] == "always()" and publish["with"]["path"] == "reports/gate-*.xml"
    for cfg in gh["jobs"]["gate"]["strategy"]["matrix"]["config"]:
        assert (REPO / cfg).is_file()

    gl = yaml.safe_load((REPO / "configs/ci/gitlab-ci.yml").read_text())
    job = gl["advisor-gate"]
    assert any("advisor gate" in line and "--junit reports/gate.xml" in line for line in job["script"])
    assert job["artifacts"]["reports"]["junit"] == "reports/gate.xml" and job["artifacts"]["when"] == "always"
    for cfg in job["parallel"]["matrix"][0]["GATE_CONFIG"]:
        assert (REPO / cfg).is_file()

    pc = yaml.safe_load((REPO / "configs/ci/pre-commit-config.yaml").read_text())
    (hook,) = pc["repos"][0]["hooks"]
    entry = hook["entry"].split()
    assert entry[:2] == ["advisor", "gate"] and (REPO / entry[2]).is_file() and "--junit" in entry
    assert hook["pass_filenames"] is False
