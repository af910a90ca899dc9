"""BERT-base and the Llama family: exact parameter counts, phases, KV cache, decode correctness."""

from __future__ import annotations


import pytest
import torch

from advisor.errors import InputError
from advisor.models import is_language_model, load_model
from advisor.models.transformers import LLAMA_CONFIGS, Llama, LlamaConfig, count_params_formula
from advisor.workload import Workload

# Published parameter counts of the released checkpoints.
LLAMA_PARAMS = {
    "llama-1.1b": 1_100_048_384,  # TinyLlama-1.1B
    "llama-7b": 6_738_415_616,  # LLaMA / Llama 2 7B
    "llama-13b": 13_015_864_320,  # LLaMA / Llama 2 13B
    "llama-70b": 68_976_648_192,  # Llama 2 70B
}
BERT_BASE_PARAMS = 109_482_240  # bert-base-uncased BertModel, pooler included


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", list(LLAMA_PARAMS))
def test_llama_parameter_count_is_exact(name: str) -> None:
    spec = load_model(Workload(model=name))
    assert _params(spec.module) == LLAMA_PARAMS[name]
    assert count_params_formula(LLAMA_CONFIGS[name]) == LLAMA_PARAMS[name]
    assert all(p.device.type == "meta" for p in spec.module.parameters())


def test_bert_base_parameter_count_and_default_shape() -> None:
    spec = load_model(Workload(model="bert-base"))
    assert _params(spec.module) == BERT_BASE_PARAMS
    assert spec.input_shape == [1, 128] and spec.args[0].dtype == torch.long
    with torch.no_grad():
        hidden, pooled = spec.module(*spec.args)
    assert list(hidden.shape) == [1, 128, 768] and list(pooled.shape) == [1, 768]
    assert load_model(Workload(model="bert-base", seq_len=384, batch=4)).input_shape == [4, 384]


def test_language_model_flags() -> None:
    assert all(is_language_model(n) for n in LLAMA_PARAMS)
    assert not is_language_model("bert-base") and not is_language_model("yolov5s")


def test_prefill_defaults_and_options() -> None:
    spec = load_model(Workload(model="llama-7b"))
    assert (spec.phase, spec.seq_len, spec.input_shape, spec.kv_cache_elems) == ("prefill", 512, [1, 512], 0)
    spec = load_model(Workload(model="llama-7b", phase="prefill", seq_len=100, batch=3))
    assert spec.input_shape == [3, 100] and spec.seq_len == 100
    with torch.no_grad():
        assert list(spec.module(*spec.args).shape) == [3, 1, 32000]


@pytest.mark.parametrize("name", ["llama-1.1b", "llama-70b"])
def test_decode_cache_inputs_and_kv_elems(name: str) -> None:
    cfg = LLAMA_CONFIGS[name]
    spec = load_model(Workload(model=name, phase="decode", context=300, batch=2))
    assert spec.phase == "decode" and spec.context == 300 and spec.input_shape == [2, 1]
    head_dim = cfg.hidden // cfg.heads
    assert spec.kv_cache_elems == 2 * cfg.layers * 2 * 300 * cfg.kv_heads * head_dim
    cache = spec.args[1:]
    assert len(cache) == 2 * cfg.layers
    assert all(list(t.shape) == [2, cfg.kv_heads, 300, head_dim] for t in cache)
    assert sum(t.numel() for t in cache) == spec.kv_cache_elems
    assert load_model(Workload(model=name, phase="decode")).context == 2048


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phase": "decode", "seq_len": 10},
        {"phase": "prefill", "context": 10},
        {"context": 10},
        {"phase": "decode", "input_shape": "1x1"},
        {"phase": "prefill", "seq_len": 64, "input_shape": "1x65"},
    ],
)
def test_bad_phase_options_are_input_errors(kwargs: dict) -> None:
    with pytest.raises(InputError):
        load_model(Workload(model="llama-7b", **kwargs))


def test_an_unknown_phase_is_refused_when_the_workload_is_built() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="phase"):
        Workload(model="llama-7b", phase="sideways")


@pytest.mark.parametrize("kwargs", [{"phase": "decode"}, {"context": 5}, {"phase": "prefill"}, {"seq_len": 5}])
def test_phase_options_on_non_llms_are_input_errors(kwargs: dict) -> None:
    with pytest.raises(InputError):
        load_model(Workload(model="resnet18", **kwargs))


def test_bert_rejects_phase_and_too_long_sequences() -> None:
    with pytest.raises(InputError, match="--phase"):
        load_model(Workload(model="bert-base", phase="decode"))
    with pytest.raises(InputError, match="512"):
        load_model(Workload(model="bert-base", seq_len=513))


def test_decode_with_cache_matches_prefill_on_real_tensors() -> None:
    """Token-by-token decode through the static cache equals one prefill pass (GQA, RoPE)."""
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden=64, layers=2, heads=8, kv_heads=2, intermediate=96, vocab_size=50)
    model = Llama(cfg).eval()
    tokens = torch.randint(0, cfg.vocab_size, (2, 7))
    with torch.no_grad():
        reference = model(tokens)[:, -1]
        caches = [torch.zeros(2, cfg.kv_heads, 0, cfg.head_dim) for _ in range(2 * cfg.layers)]
        for i in range(tokens.shape[1]):
            caches = [torch.cat((c, torch.zeros(2, cfg.kv_heads, 1, cfg.head_dim)), 2) for c in caches]
            logits = model(tokens[:, i : i + 1], *caches)[:, -1]
    torch.testing.assert_close(logits, reference, rtol=1e-4, atol=1e-5)


def test_llama_70b_decode_builds_on_meta() -> None:
    # No real weights: 69 B fp32 parameters would be 276 GB (speed and RSS: benchmarks/profile_speed.py).
    spec = load_model(Workload(model="llama-70b", phase="decode", context=4096))
    assert all(p.device.type == "meta" for p in spec.module.parameters())


counter = pytest.importorskip("advisor.profiling.counter")


def _weights_and_cache_bytes(kv_cache_elems: int) -> int:
    """fp32 bytes a llama-7b decode step must read: every weight once except the embedding
    table (a lookup reads one row), plus the whole KV cache."""
    cfg = LLAMA_CONFIGS["llama-7b"]
    embedding_rows_skipped = (cfg.vocab_size - 1) * cfg.hidden
    return (LLAMA_PARAMS["llama-7b"] - embedding_rows_skipped + kv_cache_elems) * 4


def test_decode_reads_the_kv_cache_once_and_writes_one_token() -> None:
    """Doubling the context adds exactly the extra cache to bytes read; writes stay flat."""
    short = counter.count(load_model(Workload(model="llama-7b", phase="decode", context=1024)))
    long = counter.count(load_model(Workload(model="llama-7b", phase="decode", context=2048)))
    assert long.kv_cache_elems == 2 * short.kv_cache_elems
    extra_cache_bytes = (long.kv_cache_elems - short.kv_cache_elems) * 4  # fp32
    extra_read = long.bytes_read("fp32") - short.bytes_read("fp32")
    # Attention scores also grow with the context (heads x context per layer), about 1%.
    assert extra_read == pytest.approx(extra_cache_bytes, rel=0.02)
    assert long.bytes_read("fp32") == pytest.approx(_weights_and_cache_bytes(long.kv_cache_elems), rel=0.01)
    # Only the new token's K/V is written into the cache: writes do not grow with the context.
    assert long.bytes_written("fp32") == pytest.approx(short.bytes_written("fp32"), rel=0.02)


def test_llama_70b_decode_profiles() -> None:
    profile = counter.count(load_model(Workload(model="llama-70b", phase="decode", context=4096)))
    assert profile.params == LLAMA_PARAMS["llama-70b"]


def test_prefill_macs_follow_two_n_params_rule() -> None:
    """Prefill MACs ~ tokens x (non-embedding params) + attention; last-token LM head only."""
    cfg = LLAMA_CONFIGS["llama-1.1b"]
    tokens = 128
    profile = counter.count(load_model(Workload(model="llama-1.1b", seq_len=tokens)))
    per_token = LLAMA_PARAMS["llama-1.1b"] - 2 * cfg.vocab_size * cfg.hidden - (2 * cfg.layers + 1) * cfg.hidden
    attention = cfg.layers * 2 * cfg.heads * tokens * tokens * cfg.head_dim  # QK^T and PV, unmasked
    expected = tokens * per_token + attention + cfg.vocab_size * cfg.hidden
    assert profile.macs == pytest.approx(expected, rel=0.001)
