"""BERT-base and a Llama-style decoder family, written for profiling (no weights, no tokenizer).

Shapes are the published configurations; parameter counts match the released checkpoints
exactly (tests check them). Attention uses ``F.scaled_dot_product_attention`` so the
profiler sees the attention op rather than a hand-rolled matmul/softmax chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------- BERT


@dataclass(frozen=True)
class BertConfig:
    """bert-base-uncased (Devlin et al. 2019; its config.json on the Hugging Face hub)."""

    vocab_size: int = 30522
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    intermediate: int = 3072
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12


class BertLayer(nn.Module):
    """Post-norm encoder layer: self-attention + add&norm, GELU feed-forward + add&norm."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.heads = cfg.heads
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)
        self.attn_out = nn.Linear(cfg.hidden, cfg.hidden)
        self.attn_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.intermediate = nn.Linear(cfg.hidden, cfg.intermediate)
        self.act = nn.GELU()
        self.output = nn.Linear(cfg.intermediate, cfg.hidden)
        self.out_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        return x.view(b, s, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        ctx = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.out_norm(x + self.output(self.act(self.intermediate(x))))


class Bert(nn.Module):
    """BertModel: embeddings, encoder, tanh pooler over the first token. Input: token ids [B, S]."""

    def __init__(self, cfg: BertConfig = BertConfig()):
        super().__init__()
        self.cfg = cfg
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position_embeddings = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden)
        self.embed_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(cfg) for _ in range(cfg.layers))
        self.pooler = nn.Linear(cfg.hidden, cfg.hidden)
        self.pooler_act = nn.Tanh()

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq = input_ids.shape[1]
        positions = torch.arange(seq, device=input_ids.device).unsqueeze(0)
        token_types = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        x = self.embed_norm(x + self.token_type_embeddings(token_types))
        for layer in self.layers:
            x = layer(x)
        return x, self.pooler_act(self.pooler(x[:, 0]))


# --------------------------------------------------------------------------- Llama


@dataclass(frozen=True)
class LlamaConfig:
    """Decoder shape: hidden size, layers, query heads, key/value heads (GQA when fewer), FFN size."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab_size: int = 32000
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


# Published configurations (each model's config.json / paper table):
#   llama-1.1b: TinyLlama-1.1B (Zhang et al. 2024), GQA with 4 KV heads;
#   llama-7b / llama-13b: LLaMA and Llama 2 (Touvron et al. 2023), multi-head attention;
#   llama-70b: Llama 2 70B, GQA with 8 KV heads.
LLAMA_CONFIGS: dict[str, LlamaConfig] = {
    "llama-1.1b": LlamaConfig(hidden=2048, layers=22, heads=32, kv_heads=4, intermediate=5632),
    "llama-7b": LlamaConfig(hidden=4096, layers=32, heads=32, kv_heads=32, intermediate=11008),
    "llama-13b": LlamaConfig(hidden=5120, layers=40, heads=40, kv_heads=40, intermediate=13824),
    "llama-70b": LlamaConfig(hidden=8192, layers=80, heads=64, kv_heads=8, intermediate=28672),
}


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight, written out so every elementwise step is visible."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def _rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (first half, second half) of x by the position angles."""
    first, second = x.chunk(2, -1)
    return x * cos + torch.cat((-second, first), -1) * sin


class LlamaAttention(nn.Module):
    """Causal self-attention with rotary positions and grouped-query K/V heads."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = cfg.heads, cfg.kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden, cfg.heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.hidden, cfg.kv_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.hidden, cfg.kv_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.heads * cfg.head_dim, cfg.hidden, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = _rotary(q, cos, sin), _rotary(k, cos, sin)
        gqa = self.kv_heads != self.heads
        if cache is None:  # prefill: attend within the prompt
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
        else:  # decode: write this token's K/V into the cache's last slot, attend over all of it
            cache_k, cache_v = cache
            cache_k[:, :, -s:].copy_(k)
            cache_v[:, :, -s:].copy_(v)
            out = self._attend_cache(q, cache_k, cache_v)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.heads * self.head_dim))

    def _attend_cache(self, q: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor) -> torch.Tensor:
        """Decode attention that reads each cached K/V head once, as GQA decode kernels do.

        The query heads sharing a K/V head are stacked as rows of one query matrix
        ([b, kv_heads, groups * s, head_dim]), which for a single new token (s = 1, nothing
        to mask) is the same arithmetic as ``enable_gqa`` but without materialising the
        K/V heads repeated per group, which would add bytes no real kernel moves.
        """
        b, _, s, d = q.shape
        if s != 1 or self.kv_heads == self.heads:
            return F.scaled_dot_product_attention(q, cache_k, cache_v, enable_gqa=self.kv_heads != self.heads)
        grouped = q.reshape(b, self.kv_heads, self.heads // self.kv_heads, d)
        return F.scaled_dot_product_attention(grouped, cache_k, cache_v).reshape(b, self.heads, 1, d)


class LlamaMLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden, cfg.intermediate, bias=False)
        self.up_proj = nn.Linear(cfg.hidden, cfg.intermediate, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate, cfg.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    """Pre-norm decoder block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_norm = RMSNorm(cfg.hidden, cfg.norm_eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_norm = RMSNorm(cfg.hidden, cfg.norm_eps)
        self.mlp = LlamaMLP(cfg)

    def forward(self, x, cos, sin, cache):
        x = x + self.self_attn(self.input_norm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_norm(x))


class Llama(nn.Module):
    """Llama decoder with an untied LM head.

    ``forward(input_ids)`` is prefill over the prompt. ``forward(input_ids, k0, v0, k1, v1,
    ...)`` is decode: each cache tensor is [batch, kv_heads, context, head_dim], already
    holding context-1 tokens plus a slot for the new one (a preallocated static cache, as
    in gpt-fast or TensorRT-LLM), so the profiler sees the whole cache read by attention
    and only the new token's K/V written. Logits are computed for the last position only,
    as serving engines do; returns [batch, 1, vocab].
    """

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.hidden, cfg.vocab_size, bias=False)

    def _angles(self, start: int, length: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dim = self.cfg.head_dim
        # theta^(-2i/dim) via exp, and integer aranges cast to float: on meta, scalar ** tensor
        # and float aranges take a Python reference path that imports torch._dynamo (seconds).
        exponents = torch.arange(0, dim, 2, device=like.device).to(torch.float32) / dim
        inv_freq = torch.exp(exponents * -math.log(self.cfg.rope_theta))
        positions = torch.arange(start, start + length, device=like.device).to(torch.float32)
        angles = torch.outer(positions, inv_freq)
        angles = torch.cat((angles, angles), -1)
        return angles.cos(), angles.sin()

    def forward(self, input_ids: torch.Tensor, *kv_cache: torch.Tensor) -> torch.Tensor:
        if kv_cache and len(kv_cache) != 2 * self.cfg.layers:
            raise ValueError(f"expected {2 * self.cfg.layers} cache tensors, got {len(kv_cache)}")
        seq = input_ids.shape[1]
        start = kv_cache[0].shape[2] - seq if kv_cache else 0
        x = self.embed_tokens(input_ids)
        cos, sin = self._angles(start, seq, x)
        for i, layer in enumerate(self.layers):
            cache = (kv_cache[2 * i], kv_cache[2 * i + 1]) if kv_cache else None
            x = layer(x, cos, sin, cache)
        return self.lm_head(self.norm(x[:, -1:]))


def count_params_formula(cfg: LlamaConfig) -> int:
    """Closed-form parameter count, used by tests as the independent check."""
    kv = cfg.kv_heads * cfg.head_dim
    per_layer = 2 * cfg.hidden * cfg.hidden + 2 * cfg.hidden * kv + 3 * cfg.hidden * cfg.intermediate + 2 * cfg.hidden
    return 2 * cfg.vocab_size * cfg.hidden + cfg.layers * per_layer + cfg.hidden

