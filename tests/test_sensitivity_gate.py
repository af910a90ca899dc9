"""The gate's accuracy requirements read the stored sensitivity report of the config's weights."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.sensitivity_digits import write_digits_files
from tests.test_sensitivity_cli import MODEL, _in_process

TARGET, FRAMEWORK = "jetson-orin-nano", "tensorrt"  # candidates there: int8 and fp16


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_digits_files(tmp_path_factory.mktemp("gate-digits"))


def _report(capsys, folder) -> dict:
    code, out, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights", str(folder / "mlp.safetensors"),
                                 "--calib", str(folder / "calib.npy"), "--schemes", "int8", "--format", "json")
    assert code == 0, err
    return json.loads(out)


#: a batch at which the MLP's matmuls are compute-bound, so int8 is predicted faster than fp16
#: (at batch 1 both sit at the per-kernel floor and tie)
BATCH = 4096


def _config(tmp_path, requirements: dict, weights: str | None):
    config = {"models": [MODEL], "target": TARGET, "frameworks": [FRAMEWORK], "precisions": ["int8", "fp16"],
              "batch": BATCH, "requirements": requirements}
    if weights is not None:
        config["weights"] = weights
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _gate(capsys, tmp_path, requirements: dict, weights: str | None) -> tuple[int, dict | None, str]:
    code, out, err = _in_process(capsys, "gate", str(_config(tmp_path, requirements, weights)), "--format", "json")
    return code, (json.loads(out) if out.strip() else None), err


def test_min_output_sqnr_fails_the_int8_candidate_and_selects_fp16(isolated_db, weights, capsys, tmp_path):
    int8 = _report(capsys, weights)["schemes"][0]
    assert int8["output_sqnr_db"] < 20  # the outliers break per-tensor int8 inputs
    code, result, err = _gate(capsys, tmp_path, {"min_output_sqnr_db": 20, "max_latency_ms": 10},
                              str(weights / "mlp.safetensors"))
    assert code == 0, err
    by_precision = {c["precision"]: c for c in result["candidates"]}
    assert by_precision["int8"]["output_sqnr_db"] == int8["output_sqnr_db"]
    assert by_precision["int8"]["failed"] == ["min_output_sqnr_db"]
    assert by_precision["fp16"]["passed"] and by_precision["fp16"]["accuracy_scheme"] == "exact"
    assert result["selected"]["precision"] == "fp16"


def test_min_top1_agreement_that_int8_meets_keeps_the_faster_int8(isolated_db, weights, capsys, tmp_path):
    int8 = _report(capsys, weights)["schemes"][0]
    code, result, err = _gate(capsys, tmp_path, {"min_top1_agreement": int8["top1_agreement"] - 0.01},
                              str(weights / "mlp.safetensors"))
    assert code == 0, err
    assert result["selected"]["precision"] == "int8" and result["selected"]["top1_agreement"] == int8["top1_agreement"]
    code, result, _ = _gate(capsys, tmp_path, {"min_top1_agreement": 1.0, "max_latency_ms": 1e-6},
                            str(weights / "mlp.safetensors"))
    assert code == 1 and not result["passed"]


def test_weights_without_a_report_fail_quantized_candidates_with_what_to_run(isolated_db, weights, capsys, tmp_path):
    code, result, err = _gate(capsys, tmp_path, {"min_output_sqnr_db": 20}, str(weights / "mlp.safetensors"))
    assert code == 0, err  # fp16 quantizes nothing
    int8 = next(c for c in result["candidates"] if c["precision"] == "int8")
    assert int8["failed"] == ["min_output_sqnr_db"] and int8["output_sqnr_db"] is None
    code, result, err = _gate(capsys, tmp_path, {"min_output_sqnr_db": 20}, str(tmp_path / "missing.safetensors"))
    assert code == 2 and "weights" in err and "missing.safetensors" in err and len(err.strip().splitlines()) == 1


def test_accuracy_requirement_without_weights_is_a_config_error(isolated_db, capsys, tmp_path):
    code, _, err = _gate(capsys, tmp_path, {"min_top1_agreement": 0.99}, None)
    assert code == 2 and "min_top1_agreement needs weights" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("width", [80, 100])
def test_table_and_markdown_show_each_candidates_accuracy_within_the_width(isolated_db, weights, capsys, tmp_path,
                                                                          monkeypatch, width):
    from advisor.display import sig3

    int8 = _report(capsys, weights)["schemes"][0]
    assert int8["output_sqnr_db"] < 20  # high risk (under 20 dB)
    int8_cells = (f"{sig3(int8['output_sqnr_db'])} dB high", f"{sig3(100 * int8['top1_agreement'])}%")
    path = _config(tmp_path, {"min_output_sqnr_db": 20, "max_latency_ms": 10}, str(weights / "mlp.safetensors"))
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = _in_process(capsys, "gate", str(path), "--format", "table")
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width, out
    header = next(line for line in lines if line.startswith("#"))
    assert "output SQNR" in header and "verdict" in header, out
    # The digits model classifies: top-1 agreement where there is room (it goes first when narrow).
    top1 = width >= 100
    assert ("top-1" in header) == top1, out
    rows = [line for line in lines if line.split()[:1] in (["1"], ["2"])]  # the two ranked candidates
    int8_row, fp16_row = (next(line for line in rows if f" {p} " in line) for p in ("int8", "fp16"))
    assert all(cell in int8_row for cell in int8_cells[:1 + top1]), out
    assert "exact" in fp16_row and ("100%" in fp16_row) == top1
    assert any("accuracy from the stored sensitivity report" in line for line in lines)

    code, out, err = _in_process(capsys, "gate", str(path), "--format", "markdown")
    assert code == 0, err
    assert "| output SQNR | top-1 | memory | verdict |" in out
    int8_row = next(line for line in out.splitlines() if line.startswith("| ") and "| int8 |" in line)
    assert f"| {int8_cells[0]} | {int8_cells[1]} |" in int8_row

    # Without weights the gate knows no accuracy: no column.
    code, out, err = _in_process(capsys, "gate", str(_config(tmp_path, {"max_latency_ms": 10}, None)))
    assert code == 0, err
    assert "output SQNR" not in out and "accuracy from" not in out
