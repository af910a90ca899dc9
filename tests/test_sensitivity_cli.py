"""`advisor sensitivity` from the command line: JSON keys, the stored report, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.factories_predict import run_cli
from tests.sensitivity_digits import write_digits_files
from test_hardware_cli import run_cli as _in_process  # the real entry point in this process

MODEL = "tests.sensitivity_digits:cli_mlp"


@pytest.fixture(scope="module")
def digits_files(tmp_path_factory):
    return write_digits_files(tmp_path_factory.mktemp("digits"))


def _sensitivity(folder, *extra: str):
    """A fresh process: the whole command as a user runs it."""
    return run_cli("sensitivity", "--model", MODEL, "--weights", str(folder / "mlp.safetensors"),
                   "--calib", str(folder / "calib.npy"), *extra)


def _digits_args(folder, *extra: str) -> list[str]:
    return ["sensitivity", "--model", MODEL, "--weights", str(folder / "mlp.safetensors"),
            "--calib", str(folder / "calib.npy"), *extra]


def test_json_report_has_the_documented_keys_and_is_stored(isolated_db, digits_files):
    proc = _sensitivity(digits_files, "--schemes", "int8,w8a16", "--format", "json", "--per-layer")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [s["scheme"] for s in report["schemes"]] == ["int8", "w8a16"]
    for entry in report["schemes"]:
        assert {"scheme", "output_sqnr_db", "top1_agreement", "perplexity_delta"} <= entry.keys()
        assert entry["perplexity_delta"] is None  # a classifier, not a language model
    # Three Linear layers x two schemes, most sensitive first; the outlier-reading layer leads for int8.
    assert len(report["layers"]) == 6
    sqnrs = [entry["sqnr_db"] for entry in report["layers"]]
    assert sqnrs == sorted(sqnrs)
    assert report["layers"][0] == {**report["layers"][0], "name": "2", "scheme": "int8"}
    suggestion = report["suggestion"]
    assert suggestion["scheme"] == "int8" and suggestion["keep_16bit"][0] == "2"
    assert suggestion["output_sqnr_db"] >= 30.0 and suggestion["latency_ms"] is None
    assert len(report["weights_sha256"]) == 64
    # Stored under the weights' hash: the database returns the same report.
    from advisor.db.store import open_store

    with open_store(isolated_db, readonly=True) as store:
        stored = json.loads(store.get_sensitivity_report(report["weights_sha256"], MODEL))
    assert stored["schemes"] == report["schemes"] and stored["suggestion"] == report["suggestion"]


def test_markdown_and_table_lead_with_the_one_line_answer(isolated_db, digits_files, capsys):
    code, out, err = _in_process(capsys, *_digits_args(digits_files, "--schemes", "int8", "--format", "markdown",
                                                       "--per-layer"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("## Quantization sensitivity")
    assert lines[2].startswith("**int8 with 1 layer in fp16") and "### Most sensitive layers" in out
    code, out, err = _in_process(capsys, *_digits_args(digits_files, "--schemes", "int8"))
    assert code == 0 and out.splitlines()[0].startswith("int8 with 1 layer in fp16")


def test_random_calibration_warns_loudly(isolated_db, digits_files, capsys):
    code, out, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights",
                                 str(digits_files / "mlp.safetensors"), "--calib-random", "16", "--schemes", "w8a16",
                                 "--format", "json", "--no-save")
    assert code == 0, err
    assert "WARNING: calibrating on random inputs" in err
    assert json.loads(out)["warnings"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schemes", "int3"], "unknown scheme 'int3'"),
        (["--method", "global"], "unknown --method 'global'"),
        (["--target-sqnr-db", "30", "--target-top1", "0.99"], "one of --target-sqnr-db / --target-top1"),
        (["--target", "jetson-orin-nano"], "--target needs --framework"),
        (["--target", "no-such-device", "--framework", "tensorrt"], "no-such-device"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_stores_nothing(isolated_db, digits_files, args, message, capsys):
    code, _, err = _in_process(capsys, *_digits_args(digits_files, *args))
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    from advisor.db.store import open_store

    with open_store(isolated_db, readonly=True) as store:
        assert store.get_sensitivity_report("0" * 64) is None
        assert store.count_sensitivity_reports() == 0


def test_missing_weights_and_calibration_are_named(isolated_db, digits_files, tmp_path, capsys):
    code, _, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights",
                               str(tmp_path / "none.safetensors"), "--calib", str(digits_files / "calib.npy"))
    assert code == 2 and "none.safetensors: no such file" in err
    code, _, err = _in_process(capsys, "sensitivity", "--model", MODEL, "--weights",
                               str(digits_files / "mlp.safetensors"))
    assert code == 2 and "--calib" in err


def test_data_free_needs_no_model(isolated_db, digits_files, capsys):
    code, out, err = _in_process(capsys, "sensitivity", "--method", "data-free", "--weights",
                                 str(digits_files / "mlp.safetensors"), "--schemes", "w8a16,q4_k_m", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "data-free" and report["suggestion"] is None
    assert {e["name"] for e in report["layers"]} == {"0.weight", "2.weight", "4.weight"}
    # 8 bits per weight keep more of every tensor than Q4_K's 4.5.
    by = {(e["name"], e["scheme"]): e["sqnr_db"] for e in report["layers"]}
    assert all(by[(n, "w8a16")] > by[(n, "q4_k_m")] for n in ("0.weight", "2.weight", "4.weight"))


def test_suggestion_is_priced_on_the_target_from_the_predictors_kernels(isolated_db, digits_files, capsys):
    code, out, err = _in_process(capsys, *_digits_args(digits_files, "--schemes", "int8", "--format", "json",
                                                       "--target", "jetson-orin-nano", "--framework", "tensorrt"))
    assert code == 0, err
    suggestion = json.loads(out)["suggestion"]
    assert suggestion["keep_16bit"] == ["2"]
    kernels = {}
    for precision in ("int8", "fp16"):
        code, out, err = _in_process(capsys, "predict", "--model", MODEL, "--target", "jetson-orin-nano",
                                     "--precision", precision, "--framework", "tensorrt", "--per-layer", "--format",
                                     "json")
        assert code == 0, err
        kernels[precision] = json.loads(out)
    int8 = kernels["int8"]
    kept_int8 = sum(k["time_ms"] for k in int8["layers"] if k["name"] == "2")
    kept_fp16 = sum(k["time_ms"] for k in kernels["fp16"]["layers"] if k["name"] == "2")
    assert kept_fp16 >= kept_int8 > 0  # a 128x128 layer: per-kernel overhead dominates both
    assert suggestion["baseline_latency_ms"] == pytest.approx(int8["latency_ms"], rel=1e-6)
    assert suggestion["latency_ms"] == pytest.approx(int8["latency_ms"] + kept_fp16 - kept_int8, rel=1e-6)


def test_hugging_face_llm_perplexity_change_matches_an_independent_computation(isolated_db, tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    words = "the cat sat on a mat and dog ran far away".split()
    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, **{w: i + 1 for i, w in enumerate(words)}}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    config = transformers.LlamaConfig(vocab_size=len(words) + 1, hidden_size=64, intermediate_size=128,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=64, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(tmp_path)
    generator = np.random.default_rng(0)
    (tmp_path / "calib.txt").write_text(" ".join(generator.choice(words, 200)))
    code, out, err = _in_process(capsys, "sensitivity", "--model", str(tmp_path), "--weights", str(tmp_path),
                                 "--calib", str(tmp_path / "calib.txt"), "--tokenizer", str(tmp_path),
                                 "--seq-len", "16", "--calib-limit", "8", "--schemes", "w8a16", "--format", "json",
                                 "--no-save")
    assert code == 0, err
    [w8a16] = json.loads(out)["schemes"]
    assert w8a16["top1_agreement"] is None and w8a16["perplexity_delta"] is not None
    # Independent: every Linear's weight rounded per row to int8 by hand, perplexity from HF's own loss.
    ids = torch.tensor(tokenizer.encode((tmp_path / "calib.txt").read_text()).ids[: 8 * 17]).reshape(8, 17)

    def perplexity(net) -> float:
        with torch.no_grad():
            logits = net(input_ids=ids[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        return float(torch.exp(loss))

    reference = perplexity(model)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, torch.nn.Linear):
                step = layer.weight.abs().amax(dim=1, keepdim=True) / 127
                layer.weight.copy_(torch.round(layer.weight / step) * step)
    assert w8a16["perplexity_delta"] == pytest.approx(perplexity(model) - reference, rel=1e-3, abs=1e-5)


def test_e2e_method_ranks_layers_by_model_output_sqnr(isolated_db, digits_files, capsys):
    code, out, err = _in_process(capsys, *_digits_args(digits_files, "--schemes", "int8", "--method", "e2e",
                                                       "--format", "json", "--no-save"))
    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "e2e" and [e["name"] for e in report["layers"]][0] == "2"
    # Layer 2 alone carries nearly all of the whole model's int8 error; the others barely matter.
    by_name = {e["name"]: e["sqnr_db"] for e in report["layers"]}
    assert abs(by_name["2"] - report["schemes"][0]["output_sqnr_db"]) < 1.0
    assert min(by_name["0"], by_name["4"]) > by_name["2"] + 30
