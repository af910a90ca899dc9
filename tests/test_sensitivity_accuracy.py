"""The sensitivity report against real accuracy: models trained on scikit-learn's digits, quantized
with every scheme, errors predicted on 128 calibration images (no labels) and accuracy measured on
597 held-out test images (labels)."""

from __future__ import annotations

import math
from itertools import permutations

import pytest
import torch

from advisor.sensitivity.analysis import Analyzer
from advisor.sensitivity.calib import CalibData
from advisor.sensitivity.report import predicted_error_key
from advisor.sensitivity.schemes import SCHEME_NAMES, get_scheme
from tests.sensitivity_digits import (
    OUTLIER_COUNT,
    accuracy,
    digits_mlp,
    digits_narrow_mlp,
    load_digits_split,
    outlier_units,
)

CALIB_SAMPLES = 128
#: Accuracy losses closer than this (6 of 597 test images) are not told apart.
DISTINGUISHABLE_LOSS = 0.01


@pytest.fixture(scope="module")
def one_thread():
    """Two cores shared by many processes: one torch thread keeps training at about a second."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits(one_thread):
    return load_digits_split()


@pytest.fixture(scope="module")
def outlier_model(digits):
    return digits_mlp(digits, outlier_scale=200.0)


@pytest.fixture(scope="module")
def analyzer(outlier_model, digits):
    calib = CalibData(digits.x_train[:CALIB_SAMPLES], "tensor")
    return Analyzer(outlier_model, calib, batch_size=CALIB_SAMPLES)


def measure_schemes(analyzer: Analyzer, model: torch.nn.Module, digits) -> tuple[float, dict]:
    """Per scheme: predicted (whole-model result on calib) and measured test accuracy loss."""
    fp32 = accuracy(model(digits.x_test).detach(), digits.y_test)
    rows = {}
    for name in SCHEME_NAMES:
        scheme = get_scheme(name, group_size=32)
        predicted = analyzer.whole_model(scheme)
        quantized = accuracy(analyzer.forward_quantized(analyzer.plan(scheme), digits.x_test), digits.y_test)
        rows[name] = (predicted, fp32 - quantized)
    return fp32, rows


def discordant_pairs(rows: dict) -> tuple[list, list]:
    """(pairs whose measured losses differ by more than DISTINGUISHABLE_LOSS, those of them that
    the predicted error orders the other way)."""
    distinguishable = [(a, b) for a, b in permutations(rows, 2) if rows[a][1] - rows[b][1] > DISTINGUISHABLE_LOSS]
    wrong = [(a, b) for a, b in distinguishable if not predicted_error_key(rows[a][0]) > predicted_error_key(rows[b][0])]
    return distinguishable, wrong


@pytest.fixture(scope="module")
def measured(analyzer, outlier_model, digits):
    return measure_schemes(analyzer, outlier_model, digits)


def test_trained_model_is_a_real_classifier(outlier_model, digits):
    # The outlier reparametrisation must not change the fp32 function.
    plain = digits_mlp(digits, outlier_scale=1.0)
    assert torch.allclose(plain(digits.x_test), outlier_model(digits.x_test), atol=1e-3)
    assert accuracy(outlier_model(digits.x_test), digits.y_test) > 0.93


def test_scheme_ranking_by_predicted_error_matches_measured_accuracy_loss(measured):
    _, rows = measured
    distinguishable, wrong = discordant_pairs(rows)
    # int8-tensor and int8 (per-tensor inputs) and q4_k_m lose accuracy here, the 8-bit weight-only
    # schemes do not: without such pairs the test could not fail.
    assert len(distinguishable) >= 8, {n: round(r[1], 4) for n, r in rows.items()}
    assert not wrong, {n: (r[0].top1_agreement, r[0].output_sqnr_db, round(r[1], 4)) for n, r in rows.items()}


def test_scheme_ranking_on_a_plain_narrow_mlp(digits):
    # No reparametrisation: a 64-8-10 MLP whose few weights per output make 4-bit grids cost
    # accuracy (w4a16 with groups of 32 loses about 3 points here) while 8-bit schemes do not.
    model = digits_narrow_mlp(digits)
    analyzer = Analyzer(model, CalibData(digits.x_train[:CALIB_SAMPLES], "tensor"), batch_size=CALIB_SAMPLES)
    _, rows = measure_schemes(analyzer, model, digits)
    distinguishable, wrong = discordant_pairs(rows)
    assert len(distinguishable) >= 4, {n: round(r[1], 4) for n, r in rows.items()}
    assert not wrong, {n: (r[0].top1_agreement, r[0].output_sqnr_db, round(r[1], 4)) for n, r in rows.items()}


def test_weight_only_8bit_schemes_predict_no_loss(measured):
    _, rows = measured
    for name in ("w8a16", "q8_0"):
        predicted, loss = rows[name]
        assert predicted.top1_agreement >= 0.99 and abs(loss) <= DISTINGUISHABLE_LOSS


def test_per_layer_analysis_names_the_layers_the_outliers_break(analyzer):
    # int8 (per-channel weights, per-tensor inputs): only the Linear that reads the scaled units
    # ("2") breaks, and both methods say so.
    int8 = get_scheme("int8")
    assert analyzer.local_sensitivity([int8])[0].name == "2"
    e2e = analyzer.e2e_sensitivity([int8])
    assert e2e[0].name == "2" and e2e[0].sqnr_db < 10.0 < e2e[1].sqnr_db
    # int8-tensor also quantizes the first Linear's weights with one scale, set by the scaled rows:
    # the other rows lose their precision. Its local output SQNR stays fair (the scaled rows dominate
    # its output power), but downstream those rows are divided by 200 again: only e2e sees it.
    e2e_tensor = {r.name: r.sqnr_db for r in analyzer.e2e_sensitivity([get_scheme("int8-tensor")])}
    assert e2e_tensor["0"] < 10.0 and e2e_tensor["2"] < 10.0 < e2e_tensor["4"]
    local_tensor = {r.name: r.sqnr_db for r in analyzer.local_sensitivity([get_scheme("int8-tensor")])}
    assert local_tensor["0"] > 20.0


def test_mixed_precision_recovers_at_least_half_of_the_worst_schemes_loss(analyzer, measured, digits):
    fp32, rows = measured
    worst_name = max(rows, key=lambda n: rows[n][1])
    worst_loss = rows[worst_name][1]
    assert worst_loss > 0.1
    scheme = get_scheme(worst_name, group_size=32)
    layers = analyzer.local_sensitivity([scheme])
    suggestion = analyzer.suggest_mixed_precision(scheme, layers, target_top1=0.99)
    assert suggestion.met
    assert 0 < len(suggestion.keep_16bit) < len(analyzer.layers)
    mixed = accuracy(analyzer.forward_quantized(analyzer.plan(scheme, suggestion.keep_16bit), digits.x_test),
                     digits.y_test)
    recovered = (mixed - (fp32 - worst_loss)) / worst_loss
    assert recovered >= 0.5
    # Smallest prefix: one layer fewer misses the target on the calibration set.
    fewer = analyzer.compare(analyzer.run_quantized(analyzer.plan(scheme, suggestion.keep_16bit[:-1]), "check"))
    assert fewer.top1_agreement < 0.99


def test_sqnr_target_suggestion_reaches_its_target(analyzer):
    scheme = get_scheme("int8-tensor")
    suggestion = analyzer.suggest_mixed_precision(scheme, analyzer.local_sensitivity([scheme]), target_sqnr_db=30.0)
    assert suggestion.met and suggestion.output_sqnr_db >= 30.0 > suggestion.baseline_output_sqnr_db


def test_local_sqnr_of_one_linear_equals_a_hand_computation(one_thread):
    torch.manual_seed(1)
    layer = torch.nn.Linear(16, 8)
    x = torch.randn(40, 16)
    analyzer = Analyzer(torch.nn.Sequential(layer), CalibData(x, "tensor"), batch_size=16)
    [result] = analyzer.local_sensitivity([get_scheme("w8a16")])
    # Independent: symmetric per-row int8 by explicit rounding.
    weight = layer.weight.detach()
    step = weight.abs().amax(dim=1, keepdim=True) / 127
    quantized = torch.round(weight / step) * step
    exact = x @ weight.T + layer.bias.detach()
    approx = x @ quantized.T + layer.bias.detach()
    expected = 10 * math.log10(exact.pow(2).sum().item() / (approx - exact).pow(2).sum().item())
    assert result.name == "0" and result.sqnr_db == pytest.approx(expected, abs=0.01)


def test_outlier_units_are_where_the_construction_put_them(outlier_model, digits):
    plain_units = outlier_units(digits_mlp(digits, outlier_scale=1.0), digits)
    hidden = torch.relu(outlier_model[0](digits.x_train[:CALIB_SAMPLES])).detach()
    top = sorted(hidden.abs().amax(dim=0).topk(OUTLIER_COUNT).indices.tolist())
    assert top == plain_units


class _BigramLM(torch.nn.Module):
    def __init__(self, vocab: int = 50, width: int = 16):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.head = torch.nn.Linear(width, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


def test_perplexity_change_of_a_language_model_equals_a_hand_computation(one_thread):
    torch.manual_seed(2)
    model = _BigramLM().eval()
    tokens = torch.randint(0, 50, (6, 9))
    calib = CalibData(tokens[:, :-1], "tokens", tokens[:, 1:])
    result = Analyzer(model, calib, batch_size=4).whole_model(get_scheme("w4a16", group_size=8))
    # Independent: 4-bit asymmetric groups of 8 by explicit rounding, then next-token perplexity.
    weight = model.head.weight.detach()
    groups = weight.reshape(-1, 8)
    low, high = groups.amin(1, keepdim=True).clamp_max(0), groups.amax(1, keepdim=True).clamp_min(0)
    step = (high - low) / 15
    zero = torch.round(-low / step)
    quantized = ((torch.round(groups / step) + zero).clamp(0, 15) - zero) * step
    hidden = model.embed(tokens[:, :-1]).detach()

    def perplexity(w: torch.Tensor) -> float:
        logits = hidden @ w.T + model.head.bias.detach()
        return math.exp(torch.nn.functional.cross_entropy(logits.reshape(-1, 50), tokens[:, 1:].reshape(-1)).item())

    expected = perplexity(quantized.reshape(weight.shape)) - perplexity(weight)
    assert result.top1_agreement is None  # [batch, seq, vocab] outputs: a language model, not a classifier
    assert result.perplexity_delta == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert result.perplexity_delta != 0.0
