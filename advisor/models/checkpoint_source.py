"""Checkpoints read by their header only: ``.gguf`` files and ``.safetensors`` (single or sharded).

Neither weights nor tensor data are read: the ``gguf`` package's reader memory-maps the file
and parses the metadata and tensor table; ``safetensors.safe_open`` parses the JSON header
(names, dtypes, shapes). From the header we take

- the architecture, as a Hugging Face config built from it (GGUF ``{arch}.*`` metadata keys;
  for safetensors the ``config.json`` beside the file when there is one, else the shapes of a
  Llama-layout checkpoint), then built on meta through :mod:`advisor.models.hf_source`;
- the checkpoint's own precision: a GGUF's ``general.file_type`` (a Q4_K_M file is a
  ``q4_k_m`` model) with its bits per weight as stored (tensor bytes x 8 / elements), or the
  dtype of a safetensors checkpoint's weight matrices.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.models.sources import LoadPolicy, ModelSource, SourceInfo

if TYPE_CHECKING:
    from advisor.models.spec import ModelSpec
    from advisor.workload import Workload

GGUF_SUFFIX = ".gguf"
SAFETENSORS_SUFFIX = ".safetensors"
SAFETENSORS_INDEX_SUFFIX = ".safetensors.index.json"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class CheckpointHeader:
    """What a checkpoint's header says: an HF-like config and how its weights are stored."""

    config: dict[str, Any]
    #: the precision the file fixes ("q4_k_m", "fp8"), None when any scheme may be applied
    native_precision: str | None
    #: stored bits per weight over every tensor (bytes x 8 / elements)
    bits_per_weight: float
    #: parameters the header holds (all tensors' elements)
    header_params: int
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- GGUF

#: GGUF general.architecture -> Hugging Face model_type (llama with experts is Mixtral's layout).
GGUF_ARCHITECTURES = {"llama": "llama", "mistral": "mistral", "qwen2": "qwen2", "qwen3": "qwen3",
                      "gemma2": "gemma2", "phi3": "phi3"}


def gguf_precision(file_type: int | None, tensor_types: Counter[str]) -> str:
    """``general.file_type`` as an advisor precision name: MOSTLY_Q4_K_M -> q4_k_m, F16 -> fp16."""
    import gguf

    if file_type is not None:
        try:
            name = gguf.LlamaFileType(file_type).name
        except ValueError:
            raise InputError(f"GGUF general.file_type {file_type} is not a known llama.cpp file type") from None
    else:  # no file_type: the type most weight elements are stored in
        name = tensor_types.most_common(1)[0][0] if tensor_types else "F32"
    name = name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()
    return {"f32": "fp32", "f16": "fp16", "bf16": "bf16"}.get(name, name)


def read_gguf_header(path: Path) -> CheckpointHeader:
    """Metadata and tensor table of a GGUF file, as an HF config plus its stored precision."""
    try:
        import gguf
    except ImportError:
        raise InputError(f"{path.name}: reading GGUF needs the extra: pip install 'advisor[hf]'") from None
    try:
        reader = gguf.GGUFReader(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable GGUF file: {_first_line(exc)}") from None
    meta = {name: f.contents() for name, f in reader.fields.items() if not name.startswith("tokenizer.ggml.")}
    tensors = {t.name: t for t in reader.tensors}
    arch = meta.get("general.architecture")
    if arch not in GGUF_ARCHITECTURES:
        raise InputError(f"{path}: GGUF general.architecture '{arch}' is not supported "
                         f"(supported: {', '.join(sorted(GGUF_ARCHITECTURES))})")

    def key(name: str, default: Any = None, required: bool = True) -> Any:
        value = meta.get(f"{arch}.{name}", default)
        if value is None and required:
            raise InputError(f"{path}: GGUF metadata key '{arch}.{name}' is missing")
        return value

    embed = tensors.get("token_embd.weight")
    if embed is None:
        raise InputError(f"{path}: GGUF tensor 'token_embd.weight' is missing")
    heads = int(key("attention.head_count"))
    kv_heads = key("attention.head_count_kv", heads)
    if not isinstance(kv_heads, int):
        raise InputError(f"{path}: per-layer '{arch}.attention.head_count_kv' is not supported")
    hidden = int(key("embedding_length"))
    config: dict[str, Any] = {
        "model_type": GGUF_ARCHITECTURES[arch],
        "hidden_size": hidden,
        "num_hidden_layers": int(key("block_count")),
        "intermediate_size": int(key("feed_forward_length")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(kv_heads),
        "head_dim": int(key("attention.key_length", hidden // heads)),
        "vocab_size": int(embed.shape[-1]),  # GGUF lists dimensions innermost first: [hidden, vocab]
        "max_position_embeddings": int(key("context_length")),
        "tie_word_embeddings": "output.weight" not in tensors,
    }
    for gguf_key, hf_key in (("rope.freq_base", "rope_theta"), ("attention.layer_norm_rms_epsilon", "rms_norm_eps"),
                             ("attention.sliding_window", "sliding_window")):
        value = key(gguf_key, required=False)
        if value is not None:
            config[hf_key] = value
    experts = key("expert_count", required=False)
    if experts:
        if arch != "llama":
            raise InputError(f"{path}: GGUF mixture-of-experts for '{arch}' is not supported (llama/Mixtral only)")
        config.update(model_type="mixtral", num_local_experts=int(experts),
                      num_experts_per_tok=int(key("expert_used_count")))
    if arch == "qwen2" and "blk.0.attn_q.bias" not in tensors:
        raise InputError(f"{path}: a qwen2 GGUF without attention biases does not match Qwen2's layout")
    elements = sum(int(t.n_elements) for t in reader.tensors)
    stored = sum(int(t.n_bytes) for t in reader.tensors)
    by_type: Counter[str] = Counter()
    for t in reader.tensors:
        if len(t.shape) >= 2:
            by_type[t.tensor_type.name] += int(t.n_elements)
    precision = gguf_precision(meta.get("general.file_type"), by_type)
    bits = 8 * stored / elements if elements else 0.0
    mix = ", ".join(f"{name} {100 * n / sum(by_type.values()):.0f}%" for name, n in by_type.most_common(4))
    notes = [f"GGUF {precision}: {bits:.3g} bits per weight as stored ({mix} of matrix weights)"]
    return CheckpointHeader(config=config, native_precision=None if precision in ("fp32", "fp16", "bf16")
                            else precision, bits_per_weight=bits, header_params=elements, notes=notes)


# --------------------------------------------------------------------------- safetensors

#: safetensors dtype -> advisor precision; quantized storage fixes the scheme
SAFETENSORS_DTYPES = {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "F8_E4M3": "fp8", "F8_E5M2": "fp8",
                      "I8": "int8", "U8": "int8"}
DTYPE_BITS = {"F64": 64, "I64": 64, "F32": 32, "I32": 32, "F16": 16, "BF16": 16, "I16": 16,
              "F8_E4M3": 8, "F8_E5M2": 8, "I8": 8, "U8": 8, "BOOL": 8}
_LAYER = re.compile(r"^model\.layers\.(\d+)\.")


def safetensors_shapes(path: Path) -> dict[str, tuple[list[int], str]]:
    """name -> (shape, dtype) of every tensor, from one file's header or every shard of an index."""
    try:
        from safetensors import safe_open
    except ImportError:
        raise InputError(f"{path.name}: reading safetensors needs the extra: pip install 'advisor[hf]'") from None
    files = [path]
    if path.name.endswith(SAFETENSORS_INDEX_SUFFIX):
        from advisor.safe_input import read_json_file

        index = read_json_file(path, 64_000_000, what="safetensors index (JSON)")  # bounded reader, issue 14
        try:
            weight_map = index["weight_map"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a safetensors index (needs a 'weight_map'): {_first_line(exc)}") from None
        files = [path.parent / shard for shard in sorted(set(weight_map.values()))]
    shapes: dict[str, tuple[list[int], str]] = {}
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as handle:
                for name in handle.keys():
                    piece = handle.get_slice(name)
                    shapes[name] = (list(piece.get_shape()), piece.get_dtype())
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for bad headers
            raise InputError(f"{file}: not a readable safetensors file: {_first_line(exc)}") from None
    return shapes


def _llama_layout_config(path: Path, shapes: dict[str, tuple[list[int], str]]) -> tuple[dict[str, Any], list[str]]:
    """An HF config from a Llama-layout checkpoint's tensor shapes (no config.json beside it).

    Heads are not in a header: the split of q/k/v rows into heads is taken with head_dim 128
    (else 64), which changes no count: projections, attention MACs and the KV cache depend on
    rows (heads x head_dim) only.
    """
    def shape(name: str) -> list[int]:
        if name not in shapes:
            raise InputError(f"{path}: tensor '{name}' is missing; put the model's config.json beside the checkpoint")
        return shapes[name][0]

    layers = {int(m.group(1)) for name in shapes if (m := _LAYER.match(name))}
    if not layers:
        raise InputError(f"{path}: no 'model.layers.N.' tensors; put the model's config.json beside the checkpoint")
    if any(".experts." in name for name in shapes):
        raise InputError(f"{path}: expert routing (top-k) is not in a safetensors header; "
                         "put the model's config.json beside the checkpoint")
    vocab, hidden = shape("model.embed_tokens.weight")
    q_rows = shape("model.layers.0.self_attn.q_proj.weight")[0]
    kv_rows = shape("model.layers.0.self_attn.k_proj.weight")[0]
    head_dim = next((d for d in (128, 64, 32) if q_rows % d == 0 and kv_rows % d == 0), None)
    if head_dim is None:
        raise InputError(f"{path}: cannot split q/k rows {q_rows}/{kv_rows} into heads; add config.json")
    qkv_bias = "model.layers.0.self_attn.q_proj.bias" in shapes
    config = {
        "model_type": "qwen2" if qkv_bias else "llama",
        "hidden_size": hidden, "num_hidden_layers": max(layers) + 1,
        "intermediate_size": shape("model.layers.0.mlp.gate_proj.weight")[0],
        "num_attention_heads": q_rows // head_dim, "num_key_value_heads": kv_rows // head_dim,
        "head_dim": head_dim, "vocab_size": vocab, "max_position_embeddings": 131072,
        "tie_word_embeddings": "lm_head.weight" not in shapes,
    }
    notes = [f"architecture from tensor shapes (Llama layout{', attention biases: Qwen2' if qkv_bias else ''}); "
             f"head_dim {head_dim} assumed (no count depends on it); context length not in the header"]
    return config, notes


def read_safetensors_header(path: Path) -> CheckpointHeader:
    shapes = safetensors_shapes(path)
    elements = {name: _numel(shape) for name, (shape, _) in shapes.items()}
    stored_bits = sum(elements[name] * DTYPE_BITS.get(dtype, 16) for name, (_, dtype) in shapes.items())
    total = sum(elements.values())
    by_dtype: Counter[str] = Counter()
    for name, (shape, dtype) in shapes.items():
        if len(shape) >= 2:
            by_dtype[dtype] += elements[name]
    dtype = by_dtype.most_common(1)[0][0] if by_dtype else "F32"
    precision = SAFETENSORS_DTYPES.get(dtype)
    if precision is None:
        raise InputError(f"{path}: weight dtype {dtype} is not one advisor models (packed GPTQ/AWQ weights?)")
    config_json = path.parent / "config.json"
    if config_json.is_file():
        from advisor.models.hf_source import read_config_dict

        config, notes = read_config_dict(config_json), [f"architecture from {config_json.name} beside the checkpoint"]
    else:
        config, notes = _llama_layout_config(path, shapes)
    notes.append(f"checkpoint stores {precision} weights ({total * DTYPE_BITS.get(dtype, 16) / 8e9:.3g} GB)")
    native = precision if precision in ("fp8", "int8") else None
    return CheckpointHeader(config=config, native_precision=native, bits_per_weight=stored_bits / total if total else 0,
                            header_params=total, notes=notes)


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


# --------------------------------------------------------------------------- sources


def _build_from_header(header: CheckpointHeader, name: str, where: str, workload: Workload) -> ModelSpec:
    from advisor.models.hf_source import classify, config_from_dict, model_params, spec_from_config

    kind = classify(header.config)
    spec = spec_from_config(name, config_from_dict(header.config, where), kind, workload)
    notes = list(header.notes)
    built = model_params(spec.module)
    if built != header.header_params:
        notes.append(f"the header holds {header.header_params:,} parameters, the architecture built from it "
                     f"{built:,} (tensors outside it, e.g. rope tables, are not counted)")
    return replace(spec, native_precision=header.native_precision, notes=[*spec.notes, *notes])


class GgufSource(ModelSource):
    """A llama.cpp GGUF file: architecture and quantization type from its metadata."""

    name = "gguf"
    example = "model-Q4_K_M.gguf"
    label = "GGUF checkpoint (header only)"
    access = "files"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        return spec.lower().endswith(GGUF_SUFFIX)

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        return SourceInfo(source=self.name, kind="llm", name=Path(spec).name)

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        path = policy.path(workload.model)
        if not path.is_file():
            raise InputError(f"GGUF file '{workload.model}' does not exist")
        return _build_from_header(read_gguf_header(path), path.name, str(path), workload)


class SafetensorsSource(ModelSource):
    """A safetensors checkpoint or a sharded index: shapes and dtypes from the JSON headers."""

    name = "safetensors"
    example = "model.safetensors.index.json"
    label = "safetensors checkpoint (header only)"
    access = "files"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        lower = spec.lower()
        return lower.endswith(SAFETENSORS_SUFFIX) or lower.endswith(SAFETENSORS_INDEX_SUFFIX)

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        path = policy.path(spec)
        kind = "llm"
        if (path.parent / "config.json").is_file():
            from advisor.models.hf_source import classify, read_config_dict

            kind = classify(read_config_dict(path.parent / "config.json"))
        return SourceInfo(source=self.name, kind=kind, name=_checkpoint_name(path))

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        path = policy.path(workload.model)
        if not path.is_file():
            raise InputError(f"safetensors file '{workload.model}' does not exist")
        return _build_from_header(read_safetensors_header(path), _checkpoint_name(path), str(path), workload)


def _checkpoint_name(path: Path) -> str:
    """model.safetensors in a model directory is called after the directory."""
    generic = path.name.startswith("model") or path.name.endswith(SAFETENSORS_INDEX_SUFFIX)
    return path.resolve().parent.name if generic and path.resolve().parent.name else path.name
