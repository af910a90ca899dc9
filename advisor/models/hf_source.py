"""Hugging Face models from their ``config.json``: built through ``transformers`` on meta, no weights.

Accepted specs: a directory holding ``config.json``, the path of a ``config.json``, or
``hf:org/name`` resolved from the local Hugging Face cache only (never the network).

What is built depends on the config (see ``classify``):
- decoder language models (Llama, Mistral, Qwen2, Gemma 2, Phi-3, Mixtral, GPT-2...) are
  first-class LLMs like the zoo's Llama: ``prefill`` over ``--seq-len`` prompt tokens
  (default 512) or ``decode`` of one token against a KV cache of ``--context`` tokens
  (default 2048). The cache is preallocated (as serving engines and static caches do): each
  layer holds [batch, kv_heads, length, head_dim] K and V, where length is the context, or the
  sliding window for sliding-window layers; attention reads it all and only the new token's
  K/V are written. Logits are computed for the last position only.
- encoders (BERT, ViT...): token ids [1, 128] or pixel values [1, C, S, S] from the config;
- encoder-decoders (T5...): the encoder over 512 tokens and one decoder step.

Mixture-of-experts layers run transformers' grouped-GEMM expert path (``aten._grouped_mm``);
``active_params`` counts, per token, the routed top-k experts plus every shared part.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.models.sources import LoadPolicy, ModelKind, ModelSource, SourceInfo

if TYPE_CHECKING:
    import torch

    from advisor.models.spec import ModelSpec
    from advisor.workload import Workload

HF_PREFIX = "hf:"
CONFIG_NAME = "config.json"
#: Defaults shared with the zoo's language models and BERT-base (advisor.models.zoo).
PREFILL_SEQ_LEN = 512
DECODE_CONTEXT = 2048
ENCODER_SEQ_LEN = 128
SEQ2SEQ_SOURCE_LEN = 512  # T5's pre-training input length (Raffel et al. 2020, section 3.1.2)

#: model_type values of decoder-only language models, used when config.json names no architecture.
DECODER_TYPES = frozenset({
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
    "gemma3_text", "phi", "phi3", "phimoe", "gpt2", "gpt_neox", "gptj", "opt", "falcon", "olmo",
    "olmo2", "olmoe", "starcoder2", "stablelm", "cohere", "deepseek_v2", "deepseek_v3", "granite",
    "granitemoe", "dbrx", "jamba", "internlm2", "baichuan", "bloom", "mpt", "codegen", "exaone",
})


# --------------------------------------------------------------------------- spec -> config.json


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cached_config_path(repo_id: str) -> Path:
    """config.json of ``repo_id`` in the local Hugging Face cache; InputError when it is not there.

    Only the cache is looked at (``huggingface_hub.try_to_load_from_cache`` reads the
    cache's refs and snapshots; it has no network path).
    """
    if not repo_id or repo_id.count("/") > 1 or any(c.isspace() for c in repo_id):
        raise InputError(f"malformed Hugging Face id '{HF_PREFIX}{repo_id}': expected hf:org/name")
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        raise InputError(f"'{HF_PREFIX}{repo_id}' needs the Hugging Face extra: pip install 'advisor[hf]'") from None
    found = try_to_load_from_cache(repo_id, CONFIG_NAME)
    if not isinstance(found, str):
        raise InputError(
            f"'{HF_PREFIX}{repo_id}' is not in the local Hugging Face cache (advisor never downloads); "
            f"fetch it with `hf download {repo_id} {CONFIG_NAME}` or pass a directory holding {CONFIG_NAME}"
        )
    return Path(found)


def config_file(spec: str, policy: LoadPolicy) -> Path:
    """The config.json a spec names: hf:org/name (cache), a directory, or the file itself."""
    if spec.startswith(HF_PREFIX):
        return cached_config_path(spec[len(HF_PREFIX):])
    path = policy.path(spec)
    if path.is_dir():
        path = path / CONFIG_NAME
    if not path.is_file():
        raise InputError(f"no {CONFIG_NAME} at '{spec}': expected a directory holding {CONFIG_NAME} or its path")
    return path


def read_config_dict(path: Path) -> dict[str, Any]:
    """The JSON object of a config.json, with ``model_type`` checked; InputError naming the file."""
    from advisor.safe_input import read_json_file

    # the bounded reader (issue 14): regular files only, at most 10 MB, bounded nesting
    data = read_json_file(path, 10_000_000, what="Hugging Face config (JSON)")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    if not isinstance(data.get("model_type"), str):
        raise InputError(f"{path}: field 'model_type' is missing (a Hugging Face config.json names its model_type)")
    return data


def display_name(spec: str) -> str:
    """What reports call the model: org/name, or the directory holding config.json."""
    if spec.startswith(HF_PREFIX):
        return spec[len(HF_PREFIX):]
    path = Path(spec)
    if path.name == CONFIG_NAME:
        path = path.parent
    return path.resolve().name or spec


def classify(data: dict[str, Any]) -> ModelKind:
    """llm / encoder-decoder / vision / encoder from a config.json (no transformers import)."""
    architectures = [a for a in data.get("architectures") or [] if isinstance(a, str)]
    if data.get("is_encoder_decoder"):
        return "encoder-decoder"
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return "llm"
    if "image_size" in data and "num_channels" in data:
        return "vision"
    if not architectures and data["model_type"] in DECODER_TYPES:
        return "llm"
    return "encoder"


# --------------------------------------------------------------------------- building


@lru_cache(maxsize=1)
def _transformers() -> Any:
    """Import transformers with the hub switched off: advisor never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import transformers
    except ImportError:
        raise InputError("Hugging Face models need the extra: pip install 'advisor[hf]'") from None
    return transformers


def config_from_dict(data: dict[str, Any], where: str) -> Any:
    """A transformers config object from config.json's fields; InputError for an unknown model_type."""
    transformers = _transformers()
    from transformers import CONFIG_MAPPING

    model_type = data["model_type"]
    if model_type not in CONFIG_MAPPING:
        raise InputError(
            f"{where}: model_type '{model_type}' is not known to transformers {transformers.__version__}"
        )
    fields = {k: v for k, v in data.items() if k != "model_type"}
    try:
        return CONFIG_MAPPING[model_type].from_dict(fields)
    except Exception as exc:  # noqa: BLE001 - a config transformers rejects: its own message
        raise InputError(f"{where}: transformers rejects the config: {_first_line(exc)}") from None


def _model_class(config: Any, kind: ModelKind) -> Any:
    """The class to build: the config's own architecture when transformers has it, else the Auto class."""
    transformers = _transformers()
    from transformers import (
        MODEL_FOR_CAUSAL_LM_MAPPING,
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING,
        MODEL_MAPPING,
    )

    for arch in getattr(config, "architectures", None) or []:
        cls = getattr(transformers, arch, None)
        if cls is not None:
            return cls
    mapping = {"llm": MODEL_FOR_CAUSAL_LM_MAPPING, "encoder-decoder": MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING}.get(
        kind, MODEL_MAPPING)
    try:
        return mapping[type(config)]
    except KeyError:
        raise InputError(f"transformers has no {kind} model class for model_type '{config.model_type}'") from None


def build_module(config: Any, kind: ModelKind) -> Any:
    """The model on meta, in eval mode, weights never allocated nor initialised.

    Parameters are float32 except stacked expert weights (bfloat16): torch's grouped GEMM
    takes 16-bit matrices only. A Profile counts elements, so dtypes do not change counts.
    """
    import torch

    from advisor.models.meta import on_meta

    cls = _model_class(config, kind)
    try:
        with on_meta():
            try:
                # float32 whatever the checkpoint's dtype (config "torch_dtype"): inputs and caches are float32
                module = cls._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
            except (ValueError, ImportError):  # a model without an SDPA path: plain (eager) attention
                # named explicitly: newer transformers default to SDPA and would refuse again
                module = cls._from_config(config, attn_implementation="eager", dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - the model's own constructor failed on this config
        raise InputError(f"cannot build {cls.__name__} from the config: {_first_line(exc)}") from None
    for sub in expert_modules(module):
        sub.to(torch.bfloat16)
    return module.eval()


def expert_modules(module: Any) -> list[Any]:
    """Modules holding routed experts as stacked [E, ...] parameters (transformers' MoE layout)."""
    found = []
    for sub in module.modules():
        experts = getattr(sub, "num_experts", None)
        direct = list(sub.parameters(recurse=False))
        if isinstance(experts, int) and any(p.dim() == 3 and p.shape[0] == experts for p in direct):
            found.append(sub)
    return found


def expert_top_k(config: Any) -> int | None:
    """Experts each token is routed to (``num_experts_per_tok``), None for a dense model."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    top_k = getattr(text, "num_experts_per_tok", None) or getattr(text, "moe_top_k", None)
    return int(top_k) if top_k else None


def active_params(module: Any, total: int, top_k: int | None) -> int:
    """Parameters one token uses: all of them, less the routed experts it is not sent to.

    Routed experts are the stacked [E, ...] parameters of the expert modules; each token uses
    top_k of E of them. Shared experts, attention, embeddings and routers count in full.
    """
    if not top_k:
        return total
    unused = 0
    for sub in expert_modules(module):
        for p in sub.parameters(recurse=False):
            if p.dim() >= 2 and p.shape[0] == sub.num_experts:
                unused += p.numel() * (sub.num_experts - top_k) // sub.num_experts
    return total - unused


def model_params(module: Any) -> int:
    """Unique parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- inputs


def _positive(option: str, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise InputError(f"invalid {option} {value!r}: expected a positive integer")


def _text_config(config: Any) -> Any:
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def max_positions(config: Any) -> int | None:
    text = _text_config(config)
    value = getattr(text, "max_position_embeddings", None) or getattr(text, "n_positions", None)
    return int(value) if value else None


def kv_layout(config: Any) -> tuple[list[int | None], int, int]:
    """Per layer the sliding window (None: full attention), K/V heads and head dim."""
    from transformers.cache_utils import get_layer_types_and_kwargs

    text = _text_config(config)
    layer_types, kwargs = get_layer_types_and_kwargs(text)
    window = kwargs.get("sliding_window")
    windows = [int(window) if t in ("sliding_attention", "chunked_attention") and window else None
               for t in layer_types]
    heads = text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    return windows, int(kv_heads), int(head_dim)


def kv_cache_lengths(config: Any, context: int) -> list[int]:
    """Cached positions per layer in decode: the context, capped by a sliding window."""
    windows, _, _ = kv_layout(config)
    return [min(context, w) if w else context for w in windows]


def kv_cache_elems(config: Any, batch: int, context: int) -> int:
    """K and V elements held across all layers during decode."""
    _, kv_heads, head_dim = kv_layout(config)
    return sum(2 * batch * length * kv_heads * head_dim for length in kv_cache_lengths(config, context))


def preallocated_cache(config: Any, batch: int, context: int) -> Any:
    """A transformers Cache already holding ``context - 1`` tokens plus the new token's slot."""
    import torch
    from transformers.cache_utils import Cache, CacheLayerMixin

    class PreallocatedLayer(CacheLayerMixin):
        """One layer's K/V, preallocated on meta; ``update`` writes the new tokens into the last
        slots and returns the whole cache (what decode attention reads)."""

        def __init__(self, length: int, sliding: bool, kv_heads: int, head_dim: int) -> None:
            super().__init__()
            self.keys = torch.empty(batch, kv_heads, length, head_dim, device="meta")
            self.values = torch.empty(batch, kv_heads, length, head_dim, device="meta")
            self.is_initialized = True
            self.is_sliding = sliding

        def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
            return None

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
            new = key_states.shape[-2]
            self.keys[:, :, -new:].copy_(key_states)
            self.values[:, :, -new:].copy_(value_states)
            return self.keys, self.values

        def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
            # A sliding layer holds exactly its window (the new token attends to all of it);
            # telling the mask helper one position less lets it skip building a mask, as
            # flash/paged decode kernels do, instead of materialising repeated K/V heads.
            length = self.keys.shape[-2]
            return (length - 1 if self.is_sliding else length), 0

        def get_seq_length(self) -> int:
            return self.keys.shape[-2] - 1

        def get_max_length(self) -> int:
            return self.keys.shape[-2]

    windows, kv_heads, head_dim = kv_layout(config)
    lengths = kv_cache_lengths(config, context)
    layers = [PreallocatedLayer(n, w is not None and n == w, kv_heads, head_dim) for n, w in zip(lengths, windows)]
    return Cache(layers=layers)


def _token_ids(shape: list[int]) -> torch.Tensor:
    import torch

    return torch.zeros(shape, dtype=torch.long, device="meta")


def _token_shape(name: str, workload: Workload, default_len: int, *, example: str) -> list[int]:
    """The BxS token-id shape from --input-shape/--batch/--seq-len (default 1 x default_len), checked
    to be two-dimensional and to agree with --seq-len."""
    from advisor.models.shapes import format_shape, resolve_shape

    shape = resolve_shape(name, [1, workload.seq_len or default_len], workload.input_shape, workload.batch)
    if len(shape) != 2:
        raise InputError(f"input shape {format_shape(shape)} for {name}: expected BxS token ids, e.g. {example}")
    if workload.seq_len is not None and shape[1] != workload.seq_len:
        raise InputError(f"input shape {format_shape(shape)} disagrees with --seq-len {workload.seq_len}")
    return shape


def _llm_spec(name: str, config: Any, module: Any, workload: Workload, **extra: Any) -> ModelSpec:
    import torch

    from advisor.models.spec import ModelSpec

    phase = workload.phase or "prefill"
    for option, value in (("--seq-len", workload.seq_len), ("--context", workload.context),
                          ("--batch", workload.batch)):
        _positive(option, value)
    limit = max_positions(config)
    if phase == "prefill":
        if workload.context is not None:
            raise InputError("--context applies to --phase decode; use --seq-len for the prefill prompt length")
        shape = _token_shape(name, workload, PREFILL_SEQ_LEN, example="1x512")
        if limit and shape[1] > limit:
            raise InputError(f"prompt of {shape[1]} tokens for {name}: max_position_embeddings is {limit}")
        kwargs = {"input_ids": _token_ids(shape), "use_cache": True, "logits_to_keep": 1}
        return ModelSpec(name=name, module=module, args=(), kwargs=kwargs, input_shape=shape, batch=shape[0],
                         phase="prefill", seq_len=shape[1], **extra)
    if workload.seq_len is not None:
        raise InputError("--seq-len applies to --phase prefill; decode runs one token, set the cache with --context")
    if workload.input_shape is not None:
        raise InputError("--input-shape is not used with --phase decode (one token); use --batch and --context")
    batch = workload.batch or 1
    context = workload.context or DECODE_CONTEXT
    if limit and context > limit:
        raise InputError(f"--context {context} for {name}: max_position_embeddings is {limit}")
    kwargs = {
        "input_ids": _token_ids([batch, 1]),
        # the new token's position (context - 1); meta tensors carry shapes, not values
        "position_ids": torch.zeros([batch, 1], dtype=torch.long, device="meta"),
        "past_key_values": preallocated_cache(config, batch, context),
        "use_cache": True,
        "logits_to_keep": 1,
    }
    return ModelSpec(name=name, module=module, args=(), kwargs=kwargs, input_shape=[batch, 1], batch=batch,
                     phase="decode", context=context, kv_cache_elems=kv_cache_elems(config, batch, context), **extra)


def _refuse_phase(workload: Workload, name: str, kind: str) -> None:
    if workload.phase is not None or workload.context is not None:
        option = "--phase" if workload.phase is not None else "--context"
        raise InputError(f"{option} applies to decoder language models; {name} is an {kind} model")


def _encoder_spec(name: str, config: Any, module: Any, workload: Workload, **extra: Any) -> ModelSpec:
    from advisor.models.spec import ModelSpec

    _refuse_phase(workload, name, "encoder")
    limit = max_positions(config)
    default = min(ENCODER_SEQ_LEN, limit) if limit else ENCODER_SEQ_LEN
    shape = _token_shape(name, workload, default, example="1x128")
    if limit and shape[1] > limit:
        raise InputError(f"sequence length {shape[1]} for {name}: at most {limit} positions")
    return ModelSpec(name=name, module=module, args=(), kwargs={"input_ids": _token_ids(shape)},
                     input_shape=shape, batch=shape[0], seq_len=shape[1], **extra)


def _vision_spec(name: str, config: Any, module: Any, workload: Workload, **extra: Any) -> ModelSpec:
    import torch

    from advisor.models.shapes import format_shape, resolve_shape
    from advisor.models.spec import ModelSpec

    _refuse_phase(workload, name, "image")
    if workload.seq_len is not None:
        raise InputError(f"--seq-len applies to language models; {name} takes images (use --input-shape)")
    side = config.image_size if isinstance(config.image_size, int) else config.image_size[0]
    shape = resolve_shape(name, [1, config.num_channels, side, side], workload.input_shape, workload.batch)
    if len(shape) != 4 or shape[1] != config.num_channels:
        raise InputError(f"input shape {format_shape(shape)} for {name}: expected Bx{config.num_channels}xHxW")
    pixels = torch.empty(shape, device="meta")
    kwargs: dict[str, Any] = {"pixel_values": pixels}
    if [shape[2], shape[3]] != [side, side]:
        kwargs["interpolate_pos_encoding"] = True
    return ModelSpec(name=name, module=module, args=(), kwargs=kwargs, input_shape=shape, batch=shape[0], **extra)


def _seq2seq_spec(name: str, config: Any, module: Any, workload: Workload, **extra: Any) -> ModelSpec:
    from advisor.models.shapes import format_shape, resolve_shape
    from advisor.models.spec import ModelSpec

    _refuse_phase(workload, name, "encoder-decoder")
    shape = resolve_shape(name, [1, workload.seq_len or SEQ2SEQ_SOURCE_LEN], workload.input_shape, workload.batch)
    if len(shape) != 2:
        raise InputError(f"input shape {format_shape(shape)} for {name}: expected BxS source token ids, e.g. 1x512")
    kwargs = {"input_ids": _token_ids(shape), "decoder_input_ids": _token_ids([shape[0], 1]), "use_cache": False}
    return ModelSpec(name=name, module=module, args=(), kwargs=kwargs, input_shape=shape, batch=shape[0],
                     seq_len=shape[1], **extra)


_BUILDERS = {"llm": _llm_spec, "encoder": _encoder_spec, "vision": _vision_spec, "encoder-decoder": _seq2seq_spec}


def spec_from_config(name: str, config: Any, kind: ModelKind, workload: Workload) -> ModelSpec:
    """Build ``config``'s model on meta and its inputs for the workload."""
    module = build_module(config, kind)
    return spec_from_hf_module(module, workload, name=name, kind=kind)


def kind_of_module(module: Any) -> ModelKind:
    """The kind of an already built transformers model (for ``module:callable``)."""
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING

    config = module.config
    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    if type(module) in MODEL_FOR_CAUSAL_LM_MAPPING.values() or type(module).__name__.endswith(
            ("ForCausalLM", "LMHeadModel")):
        return "llm"
    if hasattr(config, "image_size") and hasattr(config, "num_channels"):
        return "vision"
    return "encoder"


def spec_from_hf_module(module: Any, workload: Workload, *, name: str | None = None,
                        kind: ModelKind | None = None) -> ModelSpec:
    """Inputs for a built transformers ``PreTrainedModel`` at the workload's shape/phase."""
    kind = kind or kind_of_module(module)
    name = name or workload.model
    total = model_params(module)
    top_k = expert_top_k(module.config)
    extra = {"active_params": active_params(module, total, top_k), "expert_top_k": top_k}
    return _BUILDERS[kind](name, module.config, module, workload, **extra)


# --------------------------------------------------------------------------- the source


class HfSource(ModelSource):
    """A Hugging Face config.json: a directory, the file, or hf:org/name from the local cache."""

    name = "hf"
    example = "hf:Qwen/Qwen2.5-7B"
    label = "Hugging Face config"
    #: hf: reads only the local cache; a directory or config.json path goes through
    #: ``policy.path`` in ``build``/``info`` (refused over HTTP outside --models-dir)
    access = "builtin"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        if spec.startswith(HF_PREFIX):
            return True
        found = policy.existing_path(spec)
        if found is None:
            return False
        return (found.is_dir() and (found / CONFIG_NAME).is_file()) or (found.is_file() and found.name == CONFIG_NAME)

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        data = read_config_dict(config_file(spec, policy))
        return SourceInfo(source=self.name, kind=classify(data), name=display_name(spec))

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        path = config_file(workload.model, policy)
        data = read_config_dict(path)
        kind = classify(data)
        config = config_from_dict(data, str(path))
        return spec_from_config(display_name(workload.model), config, kind, workload)
