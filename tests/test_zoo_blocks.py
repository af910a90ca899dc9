"""Building blocks of the hand-written zoo models checked against independent references."""

from __future__ import annotations

import subprocess
import sys

import torch
from torch import nn

from advisor.models.meta import on_meta
from advisor.models.transformers import BertConfig, BertLayer, Llama, LlamaConfig, RMSNorm, _rotary


def test_bert_layer_matches_torch_transformer_encoder_layer() -> None:
    """BERT's post-norm layer is nn.TransformerEncoderLayer(gelu, post-norm) with the same weights."""
    torch.manual_seed(0)
    cfg = BertConfig(hidden=64, heads=4, intermediate=128, layers=1)
    ours = BertLayer(cfg).eval()
    ref = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu", layer_norm_eps=1e-12,
                                     batch_first=True, norm_first=False).eval()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([ours.query.weight, ours.key.weight, ours.value.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([ours.query.bias, ours.key.bias, ours.value.bias]))
        ref.self_attn.out_proj.load_state_dict(ours.attn_out.state_dict())
        ref.linear1.load_state_dict(ours.intermediate.state_dict())
        ref.linear2.load_state_dict(ours.output.state_dict())
        ref.norm1.load_state_dict(ours.attn_norm.state_dict())
        ref.norm2.load_state_dict(ours.out_norm.state_dict())
        x = torch.randn(2, 10, 64)
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def test_rms_norm_matches_functional_reference() -> None:
    torch.manual_seed(0)
    norm = RMSNorm(32, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(32))
        x = torch.randn(3, 7, 32)
        torch.testing.assert_close(norm(x), nn.functional.rms_norm(x, (32,), norm.weight, eps=1e-5))


def test_rotary_scores_depend_only_on_relative_position() -> None:
    """RoPE's defining property: <R(m) q, R(n) k> is a function of m - n."""
    torch.manual_seed(0)
    model = Llama(LlamaConfig(hidden=64, layers=1, heads=4, kv_heads=4, intermediate=32, vocab_size=10))
    q, k = torch.randn(16), torch.randn(16)
    like = torch.empty(0)

    def score(m: int, n: int) -> torch.Tensor:
        cos_m, sin_m = model._angles(m, 1, like)
        cos_n, sin_n = model._angles(n, 1, like)
        return (_rotary(q, cos_m[0], sin_m[0]) * _rotary(k, cos_n[0], sin_n[0])).sum()

    torch.testing.assert_close(score(3, 1), score(103, 101))
    torch.testing.assert_close(score(0, 0), (q * k).sum())
    assert not torch.allclose(score(3, 1), score(1, 3))


def test_meta_build_skips_initialisers_but_cpu_build_runs_them() -> None:
    with on_meta():
        meta = nn.Linear(4, 4)
        cpu = nn.Linear(4, 4, device="cpu")
    assert meta.weight.device.type == "meta"
    assert cpu.weight.device.type == "cpu" and float(cpu.weight.detach().abs().sum()) > 0  # initialised


def test_building_zoo_models_never_imports_dynamo() -> None:
    """Building these models on meta stays clear of torch._dynamo (seconds to import)."""
    code = (
        "import sys, torch\n"
        "from advisor.models import load_model\n"
        "from advisor.workload import Workload\n"
        "for name, kw in (('llama-70b', {'phase': 'decode', 'context': 64}), ('yolov8n', {}), ('bert-base', {})):\n"
        "    spec = load_model(Workload(model=name, **kw))\n"
        "assert 'torch._dynamo' not in sys.modules, 'dynamo imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
