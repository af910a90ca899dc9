"""benchmarks/accuracy.py scores honestly: a row's prediction and interval never depend on its own
source's measurements (leave-one-source-out), intervals back off to wider classes as the
configs/intervals.yaml contract says, and speed-ups pair rows of one source by precision."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import DEFAULT_INTERVAL, _quantile_bounds, cross_validate, interval_classes, lookup, speedups  # noqa: E402
from benchmarks.fit import RowPrediction  # noqa: E402


def rows(measured: dict[str, float]) -> list[RowPrediction]:
    """Three sources, two frameworks; every prediction 10 ms."""
    out = []
    for i, (rid, ms) in enumerate(measured.items()):
        source = rid.split("-")[0]
        fw = "tensorrt" if i % 2 else "pytorch"
        row = {"id": rid, "source_id": source, "framework": fw, "precision": "fp16", "platform": "p", "model": "m"}
        out.append(RowPrediction(row, "edge_gpu_soc", 10.0, ms, "compute"))
    return out


BASE = {"a-1": 20.0, "a-2": 21.0, "a-3": 19.0, "b-1": 22.0, "b-2": 18.0, "b-3": 20.5, "c-1": 9.0, "c-2": 11.0,
        "c-3": 30.0, "d-1": 12.0, "d-2": 25.0, "d-3": 16.0}


def test_a_source_never_scores_itself() -> None:
    scored, _ = cross_validate(rows(BASE))
    # multiply every measurement of source c by 100: c's predictions and intervals must not move
    changed = dict(BASE, **{k: v * 100 for k, v in BASE.items() if k.startswith("c-")})
    again, _ = cross_validate(rows(changed))
    for s, t in zip(scored, again):
        if s.pred.source == "c":
            assert (t.loso_ms, t.low_ms, t.high_ms) == pytest.approx((s.loso_ms, s.low_ms, s.high_ms))
    # ... while the other sources see it (the check above is not vacuous)
    assert any(t.low_ms != pytest.approx(s.low_ms) or t.loso_ms != pytest.approx(s.loso_ms)
               for s, t in zip(scored, again) if s.pred.source != "c")


def test_interval_bounds_and_lookup_backoff() -> None:
    assert _quantile_bounds([1.0, 1.0, 1.0], 3) == pytest.approx((1.0, 1.0))
    # p10/p90 of log(1), log(2) (inclusive) widened by range / (2 sqrt s), s = 2 sources
    lo, hi = _quantile_bounds([1.0, 2.0], 2)
    span = math.log(2) * 0.8
    pad = span / (2 * math.sqrt(2))
    assert (lo, hi) == pytest.approx((math.exp(0.1 * math.log(2) - pad), math.exp(0.9 * math.log(2) + pad)))
    # the padding counts sources, not rows: 4 rows of 2 sources are padded like 2 rows
    lo4, hi4 = _quantile_bounds([1.0, 1.0, 2.0, 2.0], 2)
    cuts = (0.0, math.log(2))  # inclusive p10/p90 of 0, 0, log 2, log 2: positions 0.3 and 2.7
    pad4 = (cuts[1] - cuts[0]) / (2 * math.sqrt(2))
    assert (lo4, hi4) == pytest.approx((math.exp(cuts[0] - pad4), math.exp(cuts[1] + pad4)))
    from benchmarks.accuracy import Residual

    residuals = ([Residual("cpu", "ncnn", "float", 1.0, "s1")] * 2 + [Residual("cpu", "ncnn", "float", 1.0, "s2")]
                 + [Residual("cpu", "ncnn", "int8", 2.0, "s1")] * 2)
    classes = interval_classes(residuals)
    names = {(c["device_class"], c["framework"], c["precision_family"]) for c in classes}
    assert ("cpu", "ncnn", "float") in names and ("cpu", "ncnn", "int8") not in names  # 2 rows: not written
    # int8 backs off: (cpu, *, int8) has 2 rows, so (cpu, ncnn, *) with all 5 is next
    assert lookup(classes, "cpu", "ncnn", "int8")["n"] == 5
    assert lookup(classes, "npu", "hailort", "int8")["n"] == 5  # device class "*"
    assert lookup([], "npu", "hailort", "int8") == DEFAULT_INTERVAL


def test_one_source_class_is_not_written() -> None:
    """Rows of one source share its bias: however many, they do not make a class of their own."""
    from benchmarks.accuracy import Residual

    residuals = [Residual("cpu", "ncnn", "int8", 2.0, "only")] * 6 + [Residual("cpu", "tflite", "float", 1.0, "other")] * 3
    classes = interval_classes(residuals)
    names = {(c["device_class"], c["framework"], c["precision_family"]): c for c in classes}
    assert ("cpu", "ncnn", "int8") not in names and ("cpu", "ncnn", "*") not in names
    assert names[("cpu", "*", "*")]["n"] == 9 and names[("cpu", "*", "*")]["sources"] == 2
    assert lookup(classes, "cpu", "ncnn", "int8")["n"] == 9


def test_speedups_pair_precisions_of_one_source() -> None:
    items = [({"id": "x-fp32", "precision": "fp32", "source_id": "s", "model": "m"}, 8.0, 6.0, 6.0),
             ({"id": "x-int8", "precision": "int8", "source_id": "s", "model": "m"}, 2.0, 2.0, 3.0),
             ({"id": "y-int8", "precision": "int8", "source_id": "t", "model": "m"}, 1.0, 1.0, 1.0)]
    (pair,) = speedups(items, ("source_id", "model"))
    assert pair.label == "int8/fp32" and pair.measured == 4.0 and pair.predicted == 3.0 and pair.raw == 2.0
    assert pair.error == pytest.approx(-0.25)


def test_global_constants_are_chosen_without_the_held_out_source() -> None:
    """benchmarks/accuracy.py chooses the constants marked "fit" per held-out source on the other
    sources: a source whose rows want another value cannot pull its own choice there."""
    from benchmarks.accuracy import choose_constants

    sources = "abcde"
    source_of = {f"{s}-{i}": s for s in sources + "f" for i in (1, 2)}
    # predicted / measured with k = 1 or 2: sources a-e are exact at k = 1, f only at k = 2
    at_1 = {rid: (2.0 if src == "f" else 1.0) for rid, src in source_of.items()}
    at_2 = {rid: (1.0 if src == "f" else 1.5) for rid, src in source_of.items()}
    grid = {(("k", 1.0),): at_1, (("k", 2.0),): at_2}
    # the reasoned value is 2, but five sources agree on 1 with no spread: the gain beats the noise
    assert choose_constants(grid, {"k": 2.0}, source_of, exclude="f") == {"k": 1.0}
    assert choose_constants(grid, {"k": 2.0}, source_of, exclude=None) == {"k": 1.0}
    # f's rows alone would pick 2: dropping a-e's evidence changes the choice (not vacuous)
    only_f = {combo: {r: x for r, x in rows.items() if source_of[r] == "f"} for combo, rows in grid.items()}
    assert choose_constants(only_f, {"k": 1.0}, source_of, exclude=None) == {"k": 2.0}


def test_a_flat_criterion_leaves_a_constant_at_its_reasoned_value() -> None:
    """One-standard-error rule: k = 2 is best by 0.01 of median |error|, far inside the spread
    between sources, so the reasoned value stands; a plain argmin would have taken 2."""
    from benchmarks.accuracy import choose_constants

    source_of = {"a-1": "a", "b-1": "b", "c-1": "c", "d-1": "d"}
    at_1 = {"a-1": 1.2, "b-1": 0.9, "c-1": 1.5, "d-1": 1.05}  # |error| .2 .1 .5 .05: median .15
    at_2 = {"a-1": 1.1, "b-1": 0.82, "c-1": 1.6, "d-1": 1.1}  # |error| .1 .18 .6 .1: median .14
    grid = {(("k", 1.0),): at_1, (("k", 2.0),): at_2}
    assert choose_constants(grid, {"k": 1.0}, source_of, exclude=None) == {"k": 1.0}
    assert choose_constants(grid, {"k": 2.0}, source_of, exclude=None) == {"k": 2.0}
    # with no spread at all (one source) the rule falls back to the plain best value
    one = {(("k", 1.0),): {"a-1": 1.2}, (("k", 2.0),): {"a-1": 1.1}}
    assert choose_constants(one, {"k": 1.0}, {"a-1": "a"}, exclude=None) == {"k": 2.0}


def test_coupled_constants_are_searched_together() -> None:
    """Two constants that only help together (a per-kernel cost times a host slowdown): the rows
    are exact at (2, 2) and 1.5x off wherever either stays at its reasoned 1, so no search of one
    constant with the other held at 1 moves either; the joint search finds (2, 2), and of two
    combinations equally good it keeps the one nearer the reasoned values."""
    from benchmarks.accuracy import choose_constants, constant_combinations

    source_of = {f"{s}-1": s for s in "abcde"}
    off = {rid: 1.5 for rid in source_of}
    grid = {(("a", a), ("b", b)): ({rid: 1.0 for rid in source_of} if (a, b) == (2.0, 2.0) else off)
            for a in (1.0, 2.0, 4.0) for b in (1.0, 2.0)}
    reasoned = {"a": 1.0, "b": 1.0}
    assert choose_constants(grid, reasoned, source_of, exclude=None) == {"a": 2.0, "b": 2.0}
    grid[(("a", 4.0), ("b", 2.0))] = grid[(("a", 2.0), ("b", 2.0))]
    assert choose_constants(grid, reasoned, source_of, exclude="a") == {"a": 2.0, "b": 2.0}
    # the grid the report searches: every value of every searched constant, each combination once
    from benchmarks.fit import SEARCHED_CONSTANTS

    combos = constant_combinations()
    assert len(combos) == len(set(combos)) == math.prod(len(values) for values in SEARCHED_CONSTANTS.values())
    assert all(dict(combo).keys() == SEARCHED_CONSTANTS.keys() and all(v in SEARCHED_CONSTANTS[n] for n, v in combo)
               for combo in combos)


def test_with_constants_replaces_dotted_names_only() -> None:
    from advisor.predict.constants import predictor_constants
    from benchmarks.fit import REASONED_CONSTANTS, SEARCHED_CONSTANTS, constant_value, with_constants

    base = predictor_constants()
    changed = with_constants(base, {"gpu.k_half": 512.0, "host.slowdown.edge_gpu_soc": 2.0})
    assert changed.gpu.k_half == 512.0 and changed.host.slowdown["edge_gpu_soc"] == 2.0
    assert changed.host.slowdown["mobile_soc"] == base.host.slowdown["mobile_soc"]
    assert changed.gpu.min_kernel_cycles == base.gpu.min_kernel_cycles
    # every searched constant exists in configs/predictor.yaml and its configured value is on its grid
    for name, grid in SEARCHED_CONSTANTS.items():
        assert constant_value(base, name) in grid
        assert REASONED_CONSTANTS[name] in grid


def test_calibrated_interval_of_a_model_is_built_without_that_model() -> None:
    """The calibrated coverage in docs/accuracy.md is nested like the published one: a model's
    rows are judged against the interval of the OTHER models' residuals."""
    from benchmarks.accuracy import Residual, calibrated_bands, coverage_and_width

    def calibrated_intervals(m3: tuple[float, float]) -> tuple[int, int, float]:
        pairs = (("m1", (1.0, 1.2)), ("m2", (1.0, 1.2)), ("m3", m3))
        res = [Residual("calibrated", "onnxruntime-cpu", "float", r, model) for model, rs in pairs for r in rs]
        return coverage_and_width(calibrated_bands(res))

    # each model against the other two: ratios 1.0, 1.0, 1.2, 1.2 -> p10 1.0, p90 1.2 (inclusive),
    # widened by log(1.2) / (2 sqrt 2) on each side: every row inside, width 1.2 x e^(log 1.2 / sqrt 2)
    inside, n, width = calibrated_intervals((1.0, 1.2))
    assert (inside, n) == (6, 6)
    assert width == pytest.approx(1.2 * math.exp(math.log(1.2) / math.sqrt(2)), rel=1e-3)  # bounds kept to 4 decimals
    # m3 five times off: m1 and m2 are judged with m3 among the others (wide, inside), m3 against
    # m1 and m2 alone (1.0-1.2 widened): exactly m3's two rows fall outside
    inside, n, _ = calibrated_intervals((5.0, 5.0))
    assert (inside, n) == (4, 6)


def test_interval_score_is_log_width_plus_miss_penalty() -> None:
    from benchmarks.accuracy import interval_score

    band = {"low_ratio": 0.5, "high_ratio": 2.0}
    assert interval_score(band, 1.0) == pytest.approx(math.log(4))
    # 4x is log 2 above the band: width + (2 / 0.2) x log 2
    assert interval_score(band, 4.0) == pytest.approx(math.log(4) + 10 * math.log(2))
    assert interval_score(band, 0.25) == pytest.approx(math.log(4) + 10 * math.log(2))


def test_interval_rule_is_chosen_by_held_out_score() -> None:
    """Sources that agree need no widening, and with no spread between them the choice moves all
    the way there; sources whose biases differ need it (a new source's bias can lie outside the
    others' p10-p90), and the reasoned rule stands."""
    from benchmarks.accuracy import (
        REASONED_INTERVAL_RULE,
        IntervalRule,
        Residual,
        choose_interval_rule,
        classes_by,
        held_out_bands,
    )

    agree = [Residual("cpu", "ncnn", "float", r, f"s{i}") for i in range(6) for r in (0.9, 1.0, 1.1)]
    rule = choose_interval_rule(agree)
    assert rule == IntervalRule(2, 0.0)  # the narrowest scores best; of the rules as good, nearest the reasoned
    assert all(b["low_ratio"] <= r.ratio <= b["high_ratio"] for r, b in held_out_bands(agree, classes_by(rule)))

    biases = (0.5, 0.8, 1.0, 1.25, 2.0, 0.65, 1.6)
    spread = [Residual("cpu", "ncnn", "float", bias * r, f"s{i}") for i, bias in enumerate(biases) for r in (0.95, 1.05)]
    assert choose_interval_rule(spread) == REASONED_INTERVAL_RULE
    unwidened = held_out_bands(spread, classes_by(IntervalRule(2, 0.0)))
    assert sum(not b["low_ratio"] <= r.ratio <= b["high_ratio"] for r, b in unwidened) >= 4  # the widening is needed
    # one source alone cannot be scored held out: the reasoned rule stands
    assert choose_interval_rule([Residual("cpu", "ncnn", "float", 1.0, "only")] * 3) == REASONED_INTERVAL_RULE


def test_published_rows_replay_advisor_fit_per_source_and_platform() -> None:
    """docs/accuracy.md's "after `advisor fit`" rows are what `advisor fit` would give a user with
    the source's other models: corrections from the other models only, the model alone where the
    fit is refused, and nothing for a source that measured a single model."""
    from benchmarks.accuracy import published_device_fit

    def pred(rid: str, source: str, model: str, predicted: float, measured: float) -> RowPrediction:
        row = {"id": rid, "source_id": source, "framework": "tensorrt", "precision": "fp16", "platform": "p", "model": model}
        return RowPrediction(row, "edge_gpu_soc", predicted, measured, "compute")

    # source a: every model runs 2x slower than predicted -> each model corrected by the others' 2x
    # (shrunk towards the prior's 1.0 by advisor fit's prior strength, so not quite all of it)
    a = [pred("a-1", "a", "m1", 10.0, 20.0), pred("a-2", "a", "m2", 5.0, 10.0), pred("a-3", "a", "m3", 8.0, 16.0)]
    # source b: one model measured twice: no model to hold out
    b = [pred("b-1", "b", "m1", 10.0, 12.0), pred("b-2", "b", "m1", 20.0, 24.0)]
    # source c: the other model always points the wrong way: held out it is worse than no fit, refused
    c = [pred("c-1", "c", "m1", 10.0, 5.0), pred("c-2", "c", "m2", 10.0, 20.0)]
    fit = published_device_fit({"a": a + b + c, "b": a + b + c, "c": a + b + c})
    by_id = {r.pred.id: r for r in fit.rows}
    assert sorted(by_id) == ["a-1", "a-2", "a-3", "c-1", "c-2"]
    for rid in ("a-1", "a-2", "a-3"):
        row = by_id[rid]
        assert row.pred.predicted_ms < row.fitted_ms < row.pred.measured_ms  # moved towards the 2x of the others
        assert row.residual is not None and row.residual.cluster == "a"
        assert row.residual.ratio == pytest.approx(row.pred.measured_ms / row.fitted_ms)
    for rid in ("c-1", "c-2"):
        assert by_id[rid].residual is None and by_id[rid].fitted_ms == by_id[rid].pred.predicted_ms
    assert [r.cluster for r in fit.residuals] == ["a", "a", "a"]
    assert fit.before == pytest.approx(0.5) and fit.after < 0.5


def _samples(ratio_by_source: dict[str, float]) -> tuple[list, dict[str, str]]:
    from advisor.predict.corrections import Sample

    samples = [Sample(f"{src}{i}", 10.0 * r, 10.0, ("edge_gpu_soc", "tensorrt", "float"))
               for src, r in ratio_by_source.items() for i in range(3)]
    return samples, {s.id: s.id[:-1] for s in samples}


def test_fit_structure_is_the_most_shrunk_within_one_standard_error() -> None:
    import math

    from benchmarks.fit import Structure, choose_structure

    # every source measured 2x the prediction: a correction transfers exactly, and the least
    # shrunk one (k = 0.5) is the only best; the resampled criterion has no spread
    samples, source_of = _samples({"a": 2.0, "b": 2.0, "c": 2.0})
    assert choose_structure(samples, source_of) == Structure("mean", 0.5)
    # sources that disagree (2x, 0.5x, 1x): no correction transfers, none is taken
    samples, source_of = _samples({"a": 2.0, "b": 0.5, "c": 1.0})
    assert math.isinf(choose_structure(samples, source_of).prior)
