"""Published Hugging Face configs (architecture fields of each model's config.json) and the
exact parameter counts of the released checkpoints, for the Hugging Face source tests.

Sources (config.json on the hub, and the parameter count the hub shows for the safetensors
checkpoint / the model card):
- Qwen/Qwen2.5-7B: huggingface.co/Qwen/Qwen2.5-7B/blob/main/config.json; card "Number of
  Parameters: 7.61B" (7,615,616,512 in the safetensors metadata)
- meta-llama/Llama-2-7b-hf: config.json; 6,738,415,616 (Touvron et al. 2023 "7B")
- mistralai/Mistral-7B-v0.1: config.json; 7,241,732,096
- mistralai/Mixtral-8x7B-v0.1: config.json; 46,702,792,704 total, "13B active" per token
  (Jiang et al. 2024, arXiv:2401.04088: 47B total, 13B active)
- google/gemma-2-2b: config.json; 2,614,341,888
- microsoft/Phi-3-mini-4k-instruct: config.json; 3,821,079,552 ("3.8B")
- openai-community/gpt2: config.json; 124,439,808 ("124M")
- google-bert/bert-base-uncased: config.json; BertModel 109,482,240 ("110M")
- google/vit-base-patch16-224: config.json; ViTForImageClassification 86,567,656 ("86.6M")
- google-t5/t5-small: config.json; 60,506,624 ("60M")
"""

from __future__ import annotations

import json
from pathlib import Path

QWEN25_7B = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584,
    "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
    "vocab_size": 152064, "max_position_embeddings": 131072, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06,
    "sliding_window": 131072, "use_sliding_window": False, "max_window_layers": 28, "tie_word_embeddings": False,
    "hidden_act": "silu", "torch_dtype": "bfloat16",
}
LLAMA2_7B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "tie_word_embeddings": False,
}
MISTRAL_7B = {
    "architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 32000, "max_position_embeddings": 32768, "sliding_window": 4096, "rope_theta": 10000.0,
    "tie_word_embeddings": False,
}
MIXTRAL_8X7B = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 32000, "max_position_embeddings": 32768, "num_local_experts": 8, "num_experts_per_tok": 2,
    "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": False,
}
GEMMA2_2B = {
    "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "hidden_size": 2304, "intermediate_size": 9216,
    "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
    "vocab_size": 256000, "max_position_embeddings": 8192, "sliding_window": 4096,
    "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "query_pre_attn_scalar": 256,
}
PHI3_MINI = {
    "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32064,
    "max_position_embeddings": 4096, "original_max_position_embeddings": 4096, "sliding_window": 2047,
    "tie_word_embeddings": False, "pad_token_id": 32000,
}
GPT2 = {
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12,
    "n_positions": 1024, "n_ctx": 1024, "vocab_size": 50257,
}
BERT_BASE = {  # no "architectures": the base BertModel (with pooler), as the zoo's bert-base
    "model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2,
}
VIT_BASE = {
    "architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "image_size": 224,
    "patch_size": 16, "num_channels": 3, "id2label": {str(i): f"LABEL_{i}" for i in range(1000)},
}
T5_SMALL = {
    "architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "d_model": 512, "d_ff": 2048, "d_kv": 64,
    "num_heads": 8, "num_layers": 6, "vocab_size": 32128, "is_encoder_decoder": True,
    "relative_attention_num_buckets": 32, "feed_forward_proj": "relu", "tie_word_embeddings": True,
}

PUBLISHED_PARAMS = {
    "qwen2.5-7b": 7_615_616_512,
    "llama-2-7b": 6_738_415_616,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "gemma-2-2b": 2_614_341_888,
    "phi-3-mini": 3_821_079_552,
    "gpt2": 124_439_808,
    "bert-base-uncased": 109_482_240,
    "vit-base-patch16-224": 86_567_656,
    "t5-small": 60_506_624,
}

CONFIGS = {
    "qwen2.5-7b": QWEN25_7B, "llama-2-7b": LLAMA2_7B, "mistral-7b": MISTRAL_7B, "mixtral-8x7b": MIXTRAL_8X7B,
    "gemma-2-2b": GEMMA2_2B, "phi-3-mini": PHI3_MINI, "gpt2": GPT2, "bert-base-uncased": BERT_BASE,
    "vit-base-patch16-224": VIT_BASE, "t5-small": T5_SMALL,
}


def write_config(root: Path, name: str, config: dict | None = None) -> Path:
    """A model directory ``root/name`` holding config.json; returns the directory."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config if config is not None else CONFIGS[name]))
    return directory
