"""Checkpoint headers as a model source: a GGUF written here with gguf.GGUFWriter, and
safetensors headers (single and sharded) for the published Qwen2.5-7B shapes, written as
sparse files: the header is real, the data region is a hole that is never read.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")
pytest.importorskip("safetensors")
pytest.importorskip("transformers")

from advisor.errors import InputError  # noqa: E402
from advisor.models.checkpoint_source import GgufSource, SafetensorsSource  # noqa: E402
from advisor.models.sources import LoadPolicy  # noqa: E402
from advisor.workload import Workload  # noqa: E402
from tests.hf_configs import PUBLISHED_PARAMS, QWEN25_7B, write_config  # noqa: E402

Q = gguf.GGMLQuantizationType
#: bytes per 256-weight super-block (llama.cpp k-quants): Q4_K 144, Q6_K 210
BLOCK_BYTES = {Q.Q4_K: 144, Q.Q6_K: 210}

TINY = {"hidden": 256, "ff": 512, "layers": 2, "heads": 4, "kv_heads": 2, "vocab": 512, "context": 4096}


def _quantized(rows: int, cols: int, kind):
    """The raw bytes of a k-quant matrix (zeros): rows x (cols / 256 super-blocks x block bytes)."""
    import numpy as np

    return np.zeros((rows, cols // 256 * BLOCK_BYTES[kind]), dtype=np.uint8)


def _tiny_llama_tensors() -> dict[str, tuple[tuple[int, ...], object]]:
    """name -> (shape [out, in], storage type) of a Q4_K_M-style Llama: Q6_K for attn_v, ffn_down, output."""
    h, f, d = TINY["hidden"], TINY["ff"], TINY["hidden"] // TINY["heads"]
    kv = TINY["kv_heads"] * d
    tensors: dict[str, tuple[tuple[int, ...], object]] = {"token_embd.weight": ((TINY["vocab"], h), Q.Q4_K)}
    for i in range(TINY["layers"]):
        tensors |= {
            f"blk.{i}.attn_norm.weight": ((h,), Q.F32), f"blk.{i}.ffn_norm.weight": ((h,), Q.F32),
            f"blk.{i}.attn_q.weight": ((h, h), Q.Q4_K), f"blk.{i}.attn_k.weight": ((kv, h), Q.Q4_K),
            f"blk.{i}.attn_v.weight": ((kv, h), Q.Q6_K), f"blk.{i}.attn_output.weight": ((h, h), Q.Q4_K),
            f"blk.{i}.ffn_gate.weight": ((f, h), Q.Q4_K), f"blk.{i}.ffn_up.weight": ((f, h), Q.Q4_K),
            f"blk.{i}.ffn_down.weight": ((h, f), Q.Q6_K),
        }
    tensors |= {"output_norm.weight": ((h,), Q.F32), "output.weight": ((TINY["vocab"], h), Q.Q6_K)}
    return tensors


def write_gguf(path: Path, tensors=None, *, arch: str = "llama", file_type=gguf.LlamaFileType.MOSTLY_Q4_K_M) -> Path:
    import numpy as np

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(TINY["layers"])
    writer.add_context_length(TINY["context"])
    writer.add_embedding_length(TINY["hidden"])
    writer.add_feed_forward_length(TINY["ff"])
    writer.add_head_count(TINY["heads"])
    writer.add_head_count_kv(TINY["kv_heads"])
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(file_type)
    for name, (shape, kind) in (tensors or _tiny_llama_tensors()).items():
        if kind == Q.F32:
            writer.add_tensor(name, np.zeros(shape, dtype=np.float32))
        else:
            writer.add_tensor(name, _quantized(*shape, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _count(spec):
    from advisor.profiling.counter import count

    return count(spec)


def test_gguf_q4_k_m_builds_the_llama_and_keeps_its_precision(tmp_path):
    path = write_gguf(tmp_path / "tiny-Q4_K_M.gguf")
    source = GgufSource()
    assert source.claims(str(path), LoadPolicy())
    spec = source.build(Workload(model=str(path), phase="decode", context=1024), LoadPolicy())
    profile = _count(spec)
    h, f, layers, vocab = TINY["hidden"], TINY["ff"], TINY["layers"], TINY["vocab"]
    kv = TINY["kv_heads"] * h // TINY["heads"]
    elements = {name: math.prod(shape) for name, (shape, _) in _tiny_llama_tensors().items()}
    assert profile.params == sum(elements.values())  # every header tensor is a parameter of the built model
    assert profile.params == 2 * vocab * h + layers * (2 * h * h + 2 * h * kv + 3 * h * f + 2 * h) + h
    assert profile.kv_cache_elems == 2 * layers * 1024 * kv
    assert spec.native_precision == "q4_k_m"
    stored_bits = sum(elements[n] * (32 if k == Q.F32 else BLOCK_BYTES[k] * 8 / 256)
                      for n, (_, k) in _tiny_llama_tensors().items())
    bits = stored_bits / sum(elements.values())
    assert f"{bits:.3g} bits per weight as stored" in " ".join(spec.notes)
    assert 4.5 < bits < 6.5625


def test_gguf_reads_only_the_header(tmp_path, monkeypatch):
    """The reader memory-maps the file; building never touches a tensor's data."""
    import numpy as np

    path = write_gguf(tmp_path / "tiny.gguf")
    touched = []
    original = gguf.GGUFReader._build_tensors

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        touched.append(isinstance(self.data, np.memmap))
        return result

    monkeypatch.setattr(gguf.GGUFReader, "_build_tensors", spy)
    GgufSource().build(Workload(model=str(path)), LoadPolicy())
    assert touched == [True]


def test_gguf_errors_name_the_field(tmp_path):
    not_gguf = tmp_path / "broken.gguf"
    not_gguf.write_bytes(b"not a gguf file at all")
    with pytest.raises(InputError, match="not a readable GGUF file"):
        GgufSource().build(Workload(model=str(not_gguf)), LoadPolicy())
    odd = write_gguf(tmp_path / "odd.gguf", arch="rwkv6")
    with pytest.raises(InputError, match="general.architecture 'rwkv6' is not supported"):
        GgufSource().build(Workload(model=str(odd)), LoadPolicy())
    with pytest.raises(InputError, match="does not exist"):
        GgufSource().build(Workload(model=str(tmp_path / "missing.gguf")), LoadPolicy())


# --------------------------------------------------------------------------- safetensors


def _qwen_tensors(dtype: str = "BF16") -> dict[str, tuple[list[int], str]]:
    c = QWEN25_7B
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = c["num_key_value_heads"] * h // c["num_attention_heads"]
    tensors = {"model.embed_tokens.weight": ([v, h], dtype)}
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        tensors |= {
            p + "input_layernorm.weight": ([h], dtype), p + "post_attention_layernorm.weight": ([h], dtype),
            p + "self_attn.q_proj.weight": ([h, h], dtype), p + "self_attn.q_proj.bias": ([h], dtype),
            p + "self_attn.k_proj.weight": ([kv, h], dtype), p + "self_attn.k_proj.bias": ([kv], dtype),
            p + "self_attn.v_proj.weight": ([kv, h], dtype), p + "self_attn.v_proj.bias": ([kv], dtype),
            p + "self_attn.o_proj.weight": ([h, h], dtype),
            p + "mlp.gate_proj.weight": ([i, h], dtype), p + "mlp.up_proj.weight": ([i, h], dtype),
            p + "mlp.down_proj.weight": ([h, i], dtype),
        }
    return tensors | {"model.norm.weight": ([h], dtype), "lm_head.weight": ([v, h], dtype)}


def write_safetensors_header(path: Path, tensors: dict[str, tuple[list[int], str]]) -> Path:
    """A safetensors file per the format (u64 header length, JSON header, data) with the data
    region left as a sparse hole: the size is right, nothing is written or read there."""
    width = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1}
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, (shape, dtype) in tensors.items():
        size = width[dtype]
        for d in shape:
            size *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)))
        out.write(raw)
        out.truncate(8 + len(raw) + offset)
    return path


def test_safetensors_header_gives_the_architecture_and_exact_params(tmp_path):
    directory = tmp_path / "Qwen2.5-7B"
    directory.mkdir()
    path = write_safetensors_header(directory / "model.safetensors", _qwen_tensors())
    assert path.stat().st_size > 15e9  # a full-size checkpoint on paper ...
    assert path.stat().st_blocks * 512 < 1e7  # ... of which only the header exists on disk
    spec = SafetensorsSource().build(Workload(model=str(path), phase="decode", context=2048), LoadPolicy())
    profile = _count(spec)
    assert profile.model == "Qwen2.5-7B"
    assert profile.params == PUBLISHED_PARAMS["qwen2.5-7b"]
    assert profile.kv_cache_elems == 2 * 28 * 2048 * 4 * 128
    assert spec.native_precision is None  # bf16 weights: every scheme still applies
    assert any("bf16 weights (15.2 GB)" in note for note in spec.notes)


def test_sharded_safetensors_index(tmp_path):
    tensors = _qwen_tensors()
    names = list(tensors)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for shard, members in shards.items():
        write_safetensors_header(tmp_path / shard, {n: tensors[n] for n in members})
        weight_map |= {n: shard for n in members}
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    spec = SafetensorsSource().build(Workload(model=str(index)), LoadPolicy())
    assert _count(spec).params == PUBLISHED_PARAMS["qwen2.5-7b"]


def test_safetensors_uses_config_json_beside_it_and_fp8_storage(tmp_path):
    directory = write_config(tmp_path, "qwen2.5-7b")
    path = write_safetensors_header(directory / "model.safetensors", _qwen_tensors("F8_E4M3"))
    spec = SafetensorsSource().build(Workload(model=str(path)), LoadPolicy())
    assert spec.native_precision == "fp8"
    assert any("config.json" in note for note in spec.notes)
    assert _count(spec).params == PUBLISHED_PARAMS["qwen2.5-7b"]


def test_safetensors_errors(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00" * 4)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        SafetensorsSource().build(Workload(model=str(bad)), LoadPolicy())
    odd = write_safetensors_header(tmp_path / "odd.safetensors", {"encoder.weight": ([4, 4], "F32")})
    with pytest.raises(InputError, match="config.json beside the checkpoint"):
        SafetensorsSource().build(Workload(model=str(odd)), LoadPolicy())
