"""`recommend --weights`: the accuracy of each candidate from the stored sensitivity report, and
candidates within prediction error of the best ordered by it."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from advisor.display import sig3
from advisor.domain.accuracy import CandidateAccuracy
from advisor.domain.candidates import Candidate
from advisor.recommend.accuracy import rank_within_error_by_accuracy
from advisor.recommend.render import print_table, to_markdown
from tests.test_sensitivity_cli import MODEL, _in_process
from tests.test_sensitivity_gate import TARGET, weights  # noqa: F401 - the module fixture


def _candidate(rank: int, precision: str, within: bool, accuracy: CandidateAccuracy | None) -> Candidate:
    return Candidate(rank=rank, model="m", precision=precision, framework="f", latency_ms=float(rank),
                     throughput_per_s=1.0, bound="compute", memory_mb=1.0, within_error_of_best=within,
                     accuracy=accuracy)


def test_within_error_group_is_ordered_by_accuracy_and_the_rest_keeps_its_order():
    noisy = CandidateAccuracy(scheme="int8", output_sqnr_db=8.0, top1_agreement=0.94, risk="high")
    exact = CandidateAccuracy(scheme="exact", top1_agreement=1.0)
    good = CandidateAccuracy(scheme="w8a16", output_sqnr_db=40.0, top1_agreement=1.0, risk="low")
    ranked = rank_within_error_by_accuracy([
        _candidate(1, "int8", False, noisy),
        _candidate(2, "fp16", True, exact),
        _candidate(3, "w4a16", True, None),  # not measured: last within the group
        _candidate(4, "w8a16", False, good),  # outside the group: stays behind it, however accurate
    ])
    assert [(c.rank, c.precision) for c in ranked] == [(1, "fp16"), (2, "int8"), (3, "w4a16"), (4, "w8a16")]


def _recommend(capsys, *extra: str):
    return _in_process(capsys, "recommend", "--model", MODEL, "--target", TARGET, "--frameworks", "tensorrt",
                       "--format", "json", *extra)


def test_recommend_shows_the_reports_accuracy_per_candidate(isolated_db, weights, capsys):  # noqa: F811
    code, out, err = _recommend(capsys, "--weights", str(weights / "mlp.safetensors"))
    assert code == 2 and "no sensitivity report is stored for these weights" in err
    code, out, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights", str(weights / "mlp.safetensors"),
                                 "--calib", str(weights / "calib.npy"), "--schemes", "int8", "--format", "json")
    assert code == 0, err
    int8_report = json.loads(out)["schemes"][0]
    code, out, err = _recommend(capsys)
    assert code == 0, err
    plain = json.loads(out)["candidates"]
    assert all("accuracy" not in c for c in plain)  # without --weights the JSON is as before
    code, out, err = _recommend(capsys, "--weights", str(weights / "mlp.safetensors"))
    assert code == 0, err
    candidates = json.loads(out)["candidates"]
    by_precision = {c["precision"]: c for c in candidates}
    assert by_precision["int8"]["accuracy"] == {"scheme": "int8", "output_sqnr_db": int8_report["output_sqnr_db"],
                                                "top1_agreement": int8_report["top1_agreement"], "risk": "high"}
    assert by_precision["fp16"]["accuracy"]["scheme"] == "exact"
    # The same candidates in the same order unless they are within error of the best, where the
    # accurate one leads.
    assert sorted(c["precision"] for c in candidates) == sorted(c["precision"] for c in plain)
    group = [c for c in candidates if c["rank"] == 1 or c["within_error_of_best"]]
    if by_precision["int8"] in group and len(group) > 1:
        assert group[0]["accuracy"]["scheme"] == "exact" and group[-1]["precision"] == "int8"
    code, out, err = _in_process(capsys, "recommend", "--model", MODEL, "--target", TARGET, "--frameworks",
                                 "tensorrt", "--format", "markdown", "--weights", str(weights / "mlp.safetensors"))
    assert code == 0, err
    # The accuracy is a column of the ranked table (no separate table): SQNR with its risk, top-1.
    assert "| output SQNR | top-1 | memory |" in out and "## Accuracy" not in out
    int8_row = next(line for line in out.splitlines() if line.startswith("| ") and "| int8 |" in line)
    assert (f"| {sig3(int8_report['output_sqnr_db'])} dB high | {sig3(100 * int8_report['top1_agreement'])}% |"
            in int8_row)
    fp16_row = next(line for line in out.splitlines() if line.startswith("| ") and "| fp16 |" in line)
    assert "| exact | 100% |" in fp16_row


def _stored_int8_report(capsys, weights) -> dict:  # noqa: F811
    code, out, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights", str(weights / "mlp.safetensors"),
                                 "--calib", str(weights / "calib.npy"), "--schemes", "int8", "--format", "json")
    assert code == 0, err
    return json.loads(out)["schemes"][0]


@pytest.mark.parametrize("width", [80, 100])
def test_recommend_table_has_the_accuracy_column_within_the_width(
        isolated_db, weights, capsys, monkeypatch, width):  # noqa: F811
    int8 = _stored_int8_report(capsys, weights)
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = _in_process(capsys, "recommend", "--model", MODEL, "--target", TARGET, "--frameworks", "tensorrt",
                                 "--weights", str(weights / "mlp.safetensors"))
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width, out
    assert "output SQNR" in next(line for line in lines if line.lstrip().startswith("#"))
    int8_row = next(line for line in lines if line.split()[:1] and line.split()[0].isdigit() and " int8 " in line)
    assert f"{sig3(int8['output_sqnr_db'])} dB high" in int8_row
    assert any(line.startswith("accuracy from the stored sensitivity report") for line in lines)
    assert not any("Accuracy (stored" in line for line in lines)  # no second table


#: what a report could say of each precision (the cells are checked against these figures);
#: fp32 is left without figures to show the cell of a scheme no report measured
_MEASURED = {"int8": CandidateAccuracy(scheme="int8-tensor", output_sqnr_db=17.34, top1_agreement=0.915, risk="high"),
             "fp16": CandidateAccuracy(scheme="exact", top1_agreement=1.0)}


@pytest.mark.parametrize("width", [80, 100])
def test_a_wide_table_keeps_the_sqnr_column_and_fits(db, width):
    """resnet18 on a T4 ranks a dozen framework x precision pairs with long names: the accuracy
    column stays (lower-priority columns go first) and no line is wider than the terminal."""
    from advisor.recommend.engine import recommend
    from advisor.recommend.types import RecommendRequest
    from tests.factories_predict import cache_zoo_profile

    cache_zoo_profile(db, "resnet18")
    rec = recommend(db, RecommendRequest(models=["resnet18"], target="t4"))
    measured = [c.model_copy(update={"accuracy": _MEASURED.get(c.precision)}) for c in rec.candidates]
    rec = rec.model_copy(update={"candidates": rank_within_error_by_accuracy(measured)})  # as --weights does
    listed = rec.candidates  # all: within error, the exact ones lead and int8 comes after them
    assert {"int8", "fp16", "fp32"} <= {c.precision for c in listed}
    buf = io.StringIO()
    print_table(rec, shown=len(listed), console=Console(file=buf, width=width, color_system=None))
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width, buf.getvalue()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("#"))
    header = lines[at]
    assert "output SQNR" in header and "framework" in header and "latency ms" in header
    rows = [line for line in lines[at + 1:at + 2 + len(listed)] if line.split()[:1] and line.split()[0].isdigit()]
    assert len(rows) == len(listed)
    for c, row in zip(listed, rows):
        expected = {"int8": "17.3 dB high", "fp16": "exact"}.get(c.precision)
        if expected is None:  # not measured: "-", no figure
            assert " dB " not in row and "exact" not in row, row
        else:
            assert expected in row, row
    if "top-1" in header:
        assert all("91.5%" in row for row, c in zip(rows, listed) if c.precision == "int8")
    legend = " ".join(" ".join(lines[at + 2 + len(listed):]).split())  # the wrapped lines under the table
    assert "int8 read from int8-tensor" in legend
    md = to_markdown(rec, shown=len(listed))
    int8_md = next(line for line in md.splitlines() if line.startswith("| ") and "| int8 |" in line)
    assert "| 17.3 dB high | 91.5% |" in int8_md


def test_cells_say_the_figure_the_risk_and_never_round_a_moved_prediction_to_100_percent():
    assert CandidateAccuracy(scheme="int8", output_sqnr_db=17.34, top1_agreement=0.915, risk="high").sqnr_cell() \
        == "17.3 dB high"
    assert CandidateAccuracy(scheme="fp8", output_sqnr_db=24.96, risk="medium").sqnr_cell() == "25.0 dB med"
    assert CandidateAccuracy(scheme="exact", top1_agreement=1.0).sqnr_cell() == "exact"
    assert CandidateAccuracy(scheme="w8a16", output_sqnr_db=41.2, top1_agreement=0.9996).top1_cell() == ">99.9%"
    assert CandidateAccuracy(scheme="exact", top1_agreement=1.0).top1_cell() == "100%"
    assert CandidateAccuracy(scheme="int8", output_sqnr_db=12.0, top1_agreement=0.915).top1_cell() == "91.5%"
    assert CandidateAccuracy(scheme="int8", output_sqnr_db=12.0).top1_cell() == "-"  # not a classifier
