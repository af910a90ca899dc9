"""`recommend --weights`: the accuracy of each candidate from the stored sensitivity report, and
candidates within prediction error of the best ordered by it."""

from __future__ import annotations

import json

from advisor.domain.accuracy import CandidateAccuracy
from advisor.domain.candidates import Candidate
from advisor.recommend.accuracy import rank_within_error_by_accuracy
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
    assert code == 0 and "## Accuracy (stored sensitivity report on the weights)" in out
