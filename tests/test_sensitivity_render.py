"""advisor.sensitivity.render: figures in three significant figures with their unit, never in
exponent notation ("1.23e+03 ms" told a reader nothing a plain "1,230 ms" does not)."""

from __future__ import annotations

import json

from advisor.sensitivity.render import headline, to_json, to_markdown
from advisor.sensitivity.report import LayerResult, SchemeResult, SensitivityReport, Suggestion


def _report() -> SensitivityReport:
    schemes = [SchemeResult("int8", 41.234, cosine=0.99991, top1_agreement=0.9875, perplexity_delta=1234.5,
                            weight_bits=8.0),
               SchemeResult("w4a16", 18.75, cosine=0.99, top1_agreement=0.5, perplexity_delta=-0.01234,
                            weight_bits=4.25)]
    layers = [LayerResult("encoder.block.0.attention.query", "w4a16", 12.345, kind="Linear", params=1_048_576)]
    suggestion = Suggestion("w4a16", ["lm_head"], output_sqnr_db=31.26, top1_agreement=0.99,
                            baseline_output_sqnr_db=18.75, baseline_top1_agreement=0.5,
                            target="output_sqnr_db >= 30", latency_ms=1234.5, baseline_latency_ms=2468.0)
    return SensitivityReport(model="big-model", method="e2e", calib="tokens", samples=8, schemes=schemes,
                             layers=layers, suggestion=suggestion)


def test_headline_prints_large_latencies_without_an_exponent() -> None:
    # 1234.5 and 2468 to three significant figures: 1,230 and 2,470 (display.sig3's grouping)
    assert headline(_report()) == ("w4a16 with 1 layer in fp16: 1,230 ms instead of 2,470 ms, "
                                   "output SQNR 31.3 dB instead of 18.8 dB")


def test_markdown_tables_use_three_significant_figures() -> None:
    text = to_markdown(_report(), per_layer=True)
    assert "e+" not in text and "e-" not in text
    assert "| int8 | 8.00 | 41.2 dB | 0.9999 | 98.8 % | +1,230 | low |" in text
    assert "| w4a16 | 4.25 | 18.8 dB | 0.9900 | 50.0 % | -0.0123 | high |" in text
    assert "| encoder.block.0.attention.query | Linear | 1,048,576 | w4a16 | 12.3 dB |" in text
    assert "| latency | 1,230 ms (all quantized: 2,470 ms) |" in text


def test_json_keeps_the_full_figures() -> None:
    data = json.loads(to_json(_report()))
    assert data["suggestion"]["latency_ms"] == 1234.5 and data["schemes"][0]["perplexity_delta"] == 1234.5
