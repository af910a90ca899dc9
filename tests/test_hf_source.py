"""Hugging Face configs as a model source: exact published parameter counts, LLM phases and
KV caches from the config, mixture-of-experts counting, encoders, and one-line errors.

Configs are the published config.json fields (tests/hf_configs.py cites each); every expected
count is also derived here by a closed-form formula from the same numbers, independently of
transformers' modules.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from advisor.errors import InputError  # noqa: E402
from advisor.models.hf_source import HfSource, classify, display_name  # noqa: E402
from advisor.models.sources import LoadPolicy  # noqa: E402
from advisor.profiling.moe import expected_distinct_experts  # noqa: E402
from advisor.workload import Workload  # noqa: E402
from tests.hf_configs import CONFIGS, PUBLISHED_PARAMS, write_config  # noqa: E402


def _build(tmp_path, name, config=None, **workload):
    directory = write_config(tmp_path, name, config)
    return HfSource().build(Workload(model=str(directory), **workload), LoadPolicy())


def _profile(tmp_path, name, config=None, **workload):
    from advisor.profiling.counter import count

    return count(_build(tmp_path, name, config, **workload))


# --------------------------------------------------------------------------- closed-form counts


def _decoder_params(c: dict, *, qkv_bias: bool = False, norms_per_layer: int = 2, experts: int = 0) -> int:
    """Llama-style decoder: embeddings, attention (GQA, explicit head_dim), SwiGLU MLP or experts, RMSNorms."""
    h, layers, heads, kv = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or h // heads
    attn = h * heads * d + 2 * h * kv * d + heads * d * h + (heads * d + 2 * kv * d if qkv_bias else 0)
    mlp = 3 * h * c["intermediate_size"]
    ffn = experts * mlp + h * experts if experts else mlp
    embed = c["vocab_size"] * h * (1 if c.get("tie_word_embeddings", True) else 2)
    return embed + layers * (attn + ffn + norms_per_layer * h) + h


def _gpt2_params(c: dict) -> int:
    h, v, p = c["n_embd"], c["vocab_size"], c["n_positions"]
    layer = 2 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (4 * h * h + 4 * h) + (4 * h * h + h)
    return v * h + p * h + c["n_layer"] * layer + 2 * h


def _bert_params(c: dict) -> int:
    h, i = c["hidden_size"], c["intermediate_size"]
    embed = (c["vocab_size"] + c["max_position_embeddings"] + c["type_vocab_size"]) * h + 2 * h
    layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)
    return embed + c["num_hidden_layers"] * layer + h * h + h


def _vit_classifier_params(c: dict, classes: int = 1000) -> int:
    h, i, p = c["hidden_size"], c["intermediate_size"], c["patch_size"]
    patches = (c["image_size"] // p) ** 2
    embed = c["num_channels"] * p * p * h + h + h + (patches + 1) * h  # patch conv (+bias), cls token, positions
    layer = 2 * (2 * h) + 4 * (h * h + h) + (h * i + i) + (i * h + h)
    return embed + c["num_hidden_layers"] * layer + 2 * h + h * classes + classes


def _t5_params(c: dict) -> int:
    d, inner, ff = c["d_model"], c["num_heads"] * c["d_kv"], c["d_ff"]
    attn = 4 * d * inner
    buckets = c["relative_attention_num_buckets"] * c["num_heads"]  # first layer of each stack
    encoder = c["num_layers"] * (attn + 2 * d * ff + 2 * d) + buckets + d
    decoder = c["num_layers"] * (2 * attn + 2 * d * ff + 3 * d) + buckets + d
    return c["vocab_size"] * d + encoder + decoder  # lm_head tied to the shared embedding


HAND_FORMULAS = {
    "qwen2.5-7b": lambda c: _decoder_params(c, qkv_bias=True),
    "llama-2-7b": _decoder_params,
    "mistral-7b": _decoder_params,
    "mixtral-8x7b": lambda c: _decoder_params(c, experts=c["num_local_experts"]),
    "gemma-2-2b": lambda c: _decoder_params(c, norms_per_layer=4),
    "phi-3-mini": _decoder_params,
    "gpt2": _gpt2_params,
    "bert-base-uncased": _bert_params,
    "vit-base-patch16-224": _vit_classifier_params,
    "t5-small": _t5_params,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_parameter_counts_equal_the_published_checkpoints(tmp_path, name):
    profile = _profile(tmp_path, name)
    assert HAND_FORMULAS[name](CONFIGS[name]) == PUBLISHED_PARAMS[name]
    assert profile.params == PUBLISHED_PARAMS[name]
    assert not profile.unsupported_ops


def test_kinds_and_default_inputs(tmp_path):
    assert classify(CONFIGS["qwen2.5-7b"]) == "llm"
    assert classify(CONFIGS["gpt2"]) == "llm"
    assert classify(CONFIGS["bert-base-uncased"]) == "encoder"
    assert classify(CONFIGS["vit-base-patch16-224"]) == "vision"
    assert classify(CONFIGS["t5-small"]) == "encoder-decoder"
    assert _build(tmp_path, "bert-base-uncased").input_shape == [1, 128]
    assert _build(tmp_path, "vit-base-patch16-224").input_shape == [1, 3, 224, 224]
    assert _build(tmp_path, "t5-small").input_shape == [1, 512]
    llm = _build(tmp_path, "qwen2.5-7b")
    assert (llm.phase, llm.seq_len, llm.input_shape) == ("prefill", 512, [1, 512])


# --------------------------------------------------------------------------- LLM phases and KV cache


def test_qwen_decode_reads_the_gqa_cache_once(tmp_path):
    c = CONFIGS["qwen2.5-7b"]
    head_dim = c["hidden_size"] // c["num_attention_heads"]
    profile = _profile(tmp_path, "qwen2.5-7b", phase="decode", context=2048, batch=4)
    expected_kv = 2 * c["num_hidden_layers"] * 4 * 2048 * c["num_key_value_heads"] * head_dim
    assert (profile.phase, profile.context, profile.batch) == ("decode", 2048, 4)
    assert profile.kv_cache_elems == expected_kv
    attention = [o for o in profile.ops if o.op == "aten.scaled_dot_product_attention"]
    assert len(attention) == c["num_hidden_layers"]
    queries = 4 * c["num_attention_heads"] * head_dim
    # each layer reads its K and V once (no K/V heads repeated per query group) plus the queries
    assert sum(o.input_elems for o in attention) == expected_kv + c["num_hidden_layers"] * queries
    # only the new token's K/V are written into the cache
    copies = [o for o in profile.ops if o.op == "aten.copy_"]
    assert sum(o.output_elems for o in copies) == 2 * c["num_hidden_layers"] * 4 * c["num_key_value_heads"] * head_dim


def test_decode_macs_match_the_dense_formula(tmp_path):
    """One token: 1 MAC per weight of every linear layer + the lm_head, plus attention over the cache."""
    c = CONFIGS["llama-2-7b"]
    h, layers, ctx = c["hidden_size"], c["num_hidden_layers"], 1024
    linear = layers * (4 * h * h + 3 * h * c["intermediate_size"]) + c["vocab_size"] * h
    attention = layers * 2 * ctx * h  # q.k over ctx keys and p.v over ctx values, all heads
    profile = _profile(tmp_path, "llama-2-7b", phase="decode", context=ctx)
    rotary = profile.macs - linear - attention
    assert 0 <= rotary < 1e-4 * profile.macs  # rotary angles: one tiny outer product per forward


def test_hf_llama_matches_the_zoo_llama(tmp_path):
    from advisor.models.zoo import load_zoo_model
    from advisor.profiling.counter import count

    for workload in ({"phase": None, "context": None}, {"phase": "decode", "context": 2048}):
        hf = _profile(tmp_path, "llama-2-7b", **workload)
        zoo = count(load_zoo_model("llama-7b", input_shape=None, batch=None, seq_len=None, **workload))
        assert hf.params == zoo.params
        assert hf.kv_cache_elems == zoo.kv_cache_elems
        assert hf.macs == pytest.approx(zoo.macs, rel=1e-3)


def test_sliding_window_layers_cap_the_cache(tmp_path):
    m = CONFIGS["mistral-7b"]
    mistral = _build(tmp_path, "mistral-7b", phase="decode", context=8192)
    per_position = 2 * m["num_key_value_heads"] * (m["hidden_size"] // m["num_attention_heads"])
    assert mistral.kv_cache_elems == m["num_hidden_layers"] * per_position * m["sliding_window"]
    g = CONFIGS["gemma-2-2b"]
    gemma = _build(tmp_path, "gemma-2-2b", phase="decode", context=8192)
    per_position = 2 * g["num_key_value_heads"] * g["head_dim"]  # head_dim 256 != 2304 / 8
    half = g["num_hidden_layers"] // 2  # Gemma 2 alternates sliding (4096) and global layers
    assert gemma.kv_cache_elems == half * per_position * (4096 + 8192)


def test_context_beyond_the_model_is_refused(tmp_path):
    with pytest.raises(InputError, match="max_position_embeddings is 1024"):
        _build(tmp_path, "gpt2", phase="decode", context=2048)
    assert _build(tmp_path, "gpt2", phase="decode", context=1024).kv_cache_elems == 2 * 12 * 1024 * 768


# --------------------------------------------------------------------------- mixture of experts


def test_expected_distinct_experts():
    assert expected_distinct_experts(8, 2, 1) == 2
    assert expected_distinct_experts(8, 2, 4) == pytest.approx(8 * (1 - 0.75 ** 4))
    assert expected_distinct_experts(8, 2, 10_000) == pytest.approx(8)
    with pytest.raises(ValueError):
        expected_distinct_experts(8, 9, 1)


def test_mixtral_counts_routed_experts_only(tmp_path):
    c = CONFIGS["mixtral-8x7b"]
    h, i, layers, e, k = (c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"],
                          c["num_local_experts"], c["num_experts_per_tok"])
    profile = _profile(tmp_path, "mixtral-8x7b", seq_len=512)
    assert not profile.unsupported_ops
    assert profile.params == PUBLISHED_PARAMS["mixtral-8x7b"]
    expert = 3 * h * i
    assert profile.active_params == PUBLISHED_PARAMS["mixtral-8x7b"] - layers * (e - k) * expert
    assert profile.active_params == 12_879_925_248  # "13B active" (arXiv:2401.04088)
    grouped = [o for o in profile.ops if o.op == "aten._grouped_mm"]
    assert sum(o.macs for o in grouped) == layers * 512 * k * expert


@pytest.mark.parametrize("batch", [1, 4])
def test_mixtral_decode_reads_the_experts_its_tokens_touch(tmp_path, batch):
    c = CONFIGS["mixtral-8x7b"]
    h, i, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    profile = _profile(tmp_path, "mixtral-8x7b", phase="decode", context=2048, batch=batch)
    touched = expected_distinct_experts(8, 2, batch)
    grouped = [o for o in profile.ops if o.op == "aten._grouped_mm"]
    assert sum(o.weight_elems for o in grouped) == pytest.approx(layers * touched * 3 * h * i, rel=1e-9)
    assert profile.params == PUBLISHED_PARAMS["mixtral-8x7b"]  # memory still holds every expert


def test_dense_models_have_active_equal_to_params(tmp_path):
    profile = _profile(tmp_path, "gpt2")
    assert profile.active_params == profile.params


# --------------------------------------------------------------------------- specs and errors


def test_config_json_path_and_display_name(tmp_path):
    directory = write_config(tmp_path, "Qwen2.5-7B", CONFIGS["qwen2.5-7b"])
    source = HfSource()
    assert source.claims(str(directory), LoadPolicy())
    assert source.claims(str(directory / "config.json"), LoadPolicy())
    assert not source.claims(str(tmp_path / "missing"), LoadPolicy())
    assert display_name(str(directory / "config.json")) == "Qwen2.5-7B"
    info = source.info(str(directory), LoadPolicy())
    assert (info.source, info.kind, info.name) == ("hf", "llm", "Qwen2.5-7B")


def test_hf_id_from_the_local_cache_only(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub

    cache = tmp_path / "hub"
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(cache))
    with pytest.raises(InputError, match="not in the local Hugging Face cache"):
        HfSource().build(Workload(model="hf:openai-community/gpt2"), LoadPolicy())
    snapshot = cache / "models--openai-community--gpt2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(CONFIGS["gpt2"]))
    (cache / "models--openai-community--gpt2" / "refs").mkdir()
    (cache / "models--openai-community--gpt2" / "refs" / "main").write_text("abc123")
    spec = HfSource().build(Workload(model="hf:openai-community/gpt2"), LoadPolicy())
    assert spec.name == "openai-community/gpt2" and spec.phase == "prefill"


def test_bad_configs_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON") as err:
        HfSource().build(Workload(model=str(bad)), LoadPolicy())
    assert "\n" not in str(err.value) and "config.json" in str(err.value)
    with pytest.raises(InputError, match="'model_type' is missing"):
        _build(tmp_path, "nomodel", {"hidden_size": 8})
    with pytest.raises(InputError, match="model_type 'no-such-arch'"):
        _build(tmp_path, "unknown", {"model_type": "no-such-arch"})
    with pytest.raises(InputError, match="--phase applies to decoder language models"):
        _build(tmp_path, "bert-base-uncased", phase="decode")
    with pytest.raises(InputError, match="--seq-len applies to --phase prefill"):
        _build(tmp_path, "gpt2", phase="decode", seq_len=8)


def test_files_over_http_only_inside_models_dir(tmp_path):
    directory = write_config(tmp_path, "gpt2")
    service = LoadPolicy(allow_code=False)
    assert not HfSource().claims(str(directory), service)
    inside = LoadPolicy(allow_code=False, models_dir=tmp_path)
    assert HfSource().claims("gpt2", inside)
    assert HfSource().build(Workload(model="gpt2"), inside).phase == "prefill"


def test_a_built_transformers_model_gets_its_inputs(tmp_path):
    """module:callable may return just a transformers model: its kind and inputs come from its config."""
    from advisor.models.hf_source import build_module, config_from_dict, spec_from_hf_module

    module = build_module(config_from_dict(CONFIGS["gpt2"], "gpt2"), "llm")
    spec = spec_from_hf_module(module, Workload(model="mypkg:gpt2", phase="decode", context=512, batch=2))
    assert (spec.phase, spec.context, spec.batch, spec.name) == ("decode", 512, 2, "mypkg:gpt2")
    assert spec.kv_cache_elems == 2 * 12 * 2 * 512 * 768
    bert = build_module(config_from_dict(CONFIGS["bert-base-uncased"], "bert"), "encoder")
    assert spec_from_hf_module(bert, Workload(model="mypkg:bert", seq_len=64)).input_shape == [1, 64]


def test_shared_experts_count_in_full_for_active_params(tmp_path):
    """Qwen-MoE layout: routed experts (top-k of E) plus an always-on shared expert with its gate."""
    h, layers, experts, top_k, moe_i, shared_i, vocab = 256, 2, 8, 2, 128, 512, 1000
    config = {
        "architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "hidden_size": h,
        "num_hidden_layers": layers, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": vocab,
        "intermediate_size": 1024, "moe_intermediate_size": moe_i, "shared_expert_intermediate_size": shared_i,
        "num_experts": experts, "num_experts_per_tok": top_k, "decoder_sparse_step": 1,
        "tie_word_embeddings": False, "max_position_embeddings": 4096,
    }
    profile = _profile(tmp_path, "qwen-moe-small", config)
    attn = h * h + 2 * h * (h // 2) + (h + 2 * (h // 2)) + h * h  # q, k, v (GQA) with biases, o
    routed = experts * 3 * h * moe_i
    shared = 3 * h * shared_i + h  # the shared expert and its 1-output gate
    router = h * experts
    per_layer = attn + routed + shared + router + 2 * h
    assert profile.params == 2 * vocab * h + layers * per_layer + h
    assert profile.active_params == profile.params - layers * (experts - top_k) * 3 * h * moe_i
    assert not profile.unsupported_ops
