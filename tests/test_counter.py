"""The counter against hand-computed counts, exact to the unit.

Every expected number below is worked out by hand from the layer's shapes and the
conventions in docs/counting.md (MACs of matmul-class ops; FLOPs = 2 x MACs + 1 per bias add,
1 per elementwise op, softmax 5/element...; bytes = elements x width of the scheme).
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advisor.models.spec import ModelSpec
from advisor.profiling.aggregate import by_module
from advisor.profiling.counter import count
from advisor.profiling.types import Category, Profile


def profile_of(module: nn.Module, *inputs: torch.Tensor, device: str = "meta") -> Profile:
    first = next(module.parameters(), None)
    if first is not None and first.device.type != device:
        module = module.to(device)
    module.eval()
    shape = list(inputs[0].shape)
    return count(ModelSpec(name=type(module).__name__, module=module, args=inputs, input_shape=shape, device=device))


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, device="meta")


def only(profile: Profile, category: Category):
    ops = [o for o in profile.ops if o.category == category]
    assert len(ops) == 1, [o.op for o in profile.ops]
    return ops[0]


def test_conv_exact() -> None:
    with torch.device("meta"):
        conv = nn.Conv2d(3, 8, 3, padding=1)
    p = profile_of(conv, meta(1, 3, 16, 16))
    op = only(p, Category.matmul)
    # 16x16x8 = 2048 outputs, each a 3x3x3 = 27-long dot product; + 1 bias add per output
    assert (op.macs, op.flops) == (2048 * 27, 2 * 2048 * 27 + 2048) == (55_296, 112_640)
    assert (op.weight_elems, op.input_elems, op.output_elems) == (8 * 27 + 8, 3 * 256, 2048)
    assert op.gemm_mnk == (256, 8, 27) and not op.depthwise
    assert op.output_shape == [1, 8, 16, 16] and op.parallel_work == 2048
    assert p.params == 224
    assert (p.bytes_read("fp32"), p.bytes_written("fp32")) == ((224 + 768) * 4, 2048 * 4) == (3968, 8192)
    assert (p.bytes_read("int8"), p.bytes_written("int8")) == (992, 2048)
    assert p.intensity("fp32") == pytest.approx(112_640 / (3968 + 8192))


def test_depthwise_conv_exact() -> None:
    with torch.device("meta"):
        conv = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
    p = profile_of(conv, meta(1, 8, 16, 16))
    op = only(p, Category.matmul)
    assert (op.macs, op.flops) == (2048 * 9, 2 * 2048 * 9) == (18_432, 36_864)
    assert op.depthwise and op.gemm_mnk == (16 * 16 * 8, 1, 9)
    assert (op.weight_elems, op.input_elems, op.output_elems) == (72, 2048, 2048)
    assert (p.bytes_read("fp32"), p.bytes_written("fp32")) == (8480, 8192)
    assert (p.bytes_read("int8"), p.bytes_written("int8")) == (2120, 2048)


def test_linear_exact() -> None:
    with torch.device("meta"):
        linear = nn.Linear(64, 32)
    p = profile_of(linear, meta(4, 64))
    op = only(p, Category.matmul)
    assert op.op == "aten.addmm"
    assert (op.macs, op.flops) == (4 * 32 * 64, 2 * 8192 + 4 * 32) == (8192, 16_512)
    # the transposed weight the GEMM reads is a view of the parameter: still a weight read
    assert (op.weight_elems, op.input_elems, op.output_elems) == (2048 + 32, 256, 128)
    assert op.gemm_mnk == (4, 32, 64)
    assert (p.bytes_read("fp32"), p.bytes_written("fp32")) == (9344, 512)
    assert (p.bytes_read("int8"), p.bytes_written("int8")) == (2336, 128)
    # weight-only schemes: int8 / int4 weights, fp16 activations
    assert p.bytes_read("w8a16") == 2080 * 1 + 256 * 2
    # w4a16 stores one fp16 scale per group of 128 weights (configs/quantization.yaml)
    assert p.bytes_read("w4a16") == 2080 * (0.5 + 2 / 128) + 256 * 2
    assert p.bytes_read("fp16") == p.bytes_read("bf16") == 9344 / 2


class SDPA(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_sdpa_exact_on_fused_and_reference_paths(device: str) -> None:
    """CPU runs the fused flash kernel; on meta torch would decompose it, counted as one op too."""
    q, k, v = (torch.randn(1, 2, 8, 16, device=device) for _ in range(3))
    p = profile_of(SDPA(), q, k, v, device=device)
    scores = 2 * 8 * 8
    assert p.macs == scores * 16 * 2 == 4096  # QK^T and AV
    # 2 per MAC + scaling q and k (256 each) + softmax 5 per score
    assert p.flops == 2 * 4096 + 256 + 256 + 5 * scores == 9344
    assert not p.unsupported_ops
    op = only(p, Category.matmul)
    assert op.op == {"cpu": "aten._scaled_dot_product_flash_attention_for_cpu", "meta": "aten.scaled_dot_product_attention"}[device]
    assert (op.input_elems, op.output_elems, op.weight_elems) == (768, 256, 0)
    assert (p.bytes_read("fp32"), p.bytes_written("fp32")) == (3072, 1024)
    assert (p.bytes_read("int8"), p.bytes_written("int8")) == (768, 256)


class SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_multihead_attention_block_exact(device: str) -> None:
    """CPU under no_grad takes aten._native_multi_head_attention; meta the unfused path."""
    module = SelfAttention()
    p = profile_of(module, torch.randn(1, 10, 32, device=device), device=device)
    # in-projection 10x96x32, QK^T and AV 4 heads x 10x10x8 each, out-projection 10x32x32
    assert p.macs == 10 * 96 * 32 + 2 * 4 * 10 * 10 * 8 + 10 * 32 * 32 == 47_360
    # + bias adds (10x96 + 10x32) + scale q, k (320 each) + softmax 5 x 400 scores
    assert p.flops == 2 * 47_360 + 1280 + 640 + 2000 == 98_640
    assert p.params == 96 * 32 + 96 + 32 * 32 + 32
    if device == "cpu":
        assert [o.op for o in p.ops if o.category != Category.view] == ["aten._native_multi_head_attention"]


def test_elementwise_exact() -> None:
    class AddRelu(nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.relu_(x + y)

    p = profile_of(AddRelu(), meta(2, 3, 4, 5), meta(2, 3, 4, 5))
    add, relu = [o for o in p.ops if o.category == Category.elementwise]
    assert (add.op, add.flops, add.macs, add.input_elems, add.output_elems) == ("aten.add", 120, 0, 240, 120)
    # in place: reads and writes its operand
    assert (relu.op, relu.flops, relu.input_elems, relu.output_elems) == ("aten.relu_", 120, 120, 120)
    assert (p.bytes_read("fp32"), p.bytes_written("fp32")) == (360 * 4, 240 * 4)
    assert (p.bytes_read("int8"), p.bytes_written("int8")) == (360, 240)
    assert p.macs == 0 and p.flops == 240


def test_activation_and_norm_conventions() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.BatchNorm2d(4), nn.SiLU(), nn.GELU(), nn.LayerNorm(5), nn.Softmax(-1))
    p = profile_of(model, meta(2, 4, 3, 5))
    flops = {o.module_path: o.flops for o in p.ops if o.category != Category.view}
    n = 120
    assert flops == {"0": 2 * n + 5 * 4, "1": 5 * n, "2": 5 * n, "3": 8 * n + 2 * 24, "4": 5 * n}


def test_transformer_encoder_exact_under_no_grad() -> None:
    """The case FlopCounterMode reports as 0: fused _transformer_encoder_layer_fwd on CPU."""
    for device in ("cpu", "meta"):
        with torch.device(device):
            layer = nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True)
            encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
            x = torch.randn(1, 128, 256)
        p = profile_of(encoder, x, device=device)
        # per layer: QKV 128x768x256 + QK^T/AV 2x4x128x128x64 + out 128x256x256 + FFN 2x128x1024x256
        assert p.macs == 4 * (128 * 768 * 256 + 2 * 4 * 128 * 128 * 64 + 128 * 256 * 256 + 2 * 128 * 1024 * 256)
        assert p.macs == 436_207_616
        assert not p.unsupported_ops
    fused = [o.op for o in p.ops]  # the meta run
    assert "aten.bmm" in fused


def test_quantized_dynamic_linear_is_counted() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        model = torch.ao.quantization.quantize_dynamic(nn.Sequential(nn.Linear(64, 32)), {nn.Linear}, dtype=torch.qint8)
        p = profile_of(model, torch.randn(4, 64), device="cpu")
    op = only(p, Category.matmul)
    assert op.op == "quantized.linear_dynamic"
    assert (op.macs, op.flops) == (8192, 16_512)
    assert op.weight_elems == 2080 and op.stored_weight_bytes == 2048 * 1 + 32 * 4  # int8 weight, fp32 bias
    assert p.params == 2080
    # packed weights stay int8 whatever scheme the report uses; activations follow the scheme
    assert p.bytes_read("fp32") == 2176 + 256 * 4
    assert p.bytes_read("fp16") == 2176 + 256 * 2


def test_unsupported_ops_are_reported_never_zero() -> None:
    class Bessel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.special.bessel_j0(self.inner(x)) + torch.special.bessel_j0(x)

    p = profile_of(Bessel(), meta(3, 4))
    [u] = p.unsupported_ops
    assert (u.op, u.count, u.modules) == ("aten.special_bessel_j0", 2, [""])
    assert [o.op for o in p.ops if o.category != Category.view] == ["aten.add"]


def test_module_attribution_leaves_no_hooks() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * 2  # the multiply is the block's own op

    with torch.device("meta"):
        model = nn.Sequential(Block(), Block())
    p = profile_of(model, meta(1, 4, 8, 8))
    paths = [(o.op, o.module_path, o.module_type) for o in p.ops if o.category != Category.view]
    assert paths == [
        ("aten.convolution", "0.conv", "Conv2d"), ("aten.mul", "0", "Block"),
        ("aten.convolution", "1.conv", "Conv2d"), ("aten.mul", "1", "Block"),
    ]
    from torch.nn.modules import module as module_impl

    assert not module_impl._global_forward_hooks and not module_impl._global_forward_pre_hooks
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_shared_weights_counted_once_and_inputs_are_not_weights() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(8, 8, bias=False)
            self.b = nn.Linear(8, 8, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x)) @ w

    with torch.device("meta"):
        tied = Tied()
    p = profile_of(tied, meta(2, 8), meta(8, 3))
    assert p.params == 64
    mm = [o for o in p.ops if o.category == Category.matmul]
    assert [(o.weight_elems, o.input_elems) for o in mm] == [(64, 16), (64, 16), (0, 16 + 24)]


def test_by_module_rolls_up_to_the_totals() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
    p = profile_of(model, meta(2, 3, 16, 16))
    [root] = by_module(p, 0)
    assert (root.flops, root.macs, root.params) == (p.flops, p.macs, p.params)
    assert root.bytes_read("int8") == p.bytes_read("int8") and root.bytes_written("fp16") == p.bytes_written("fp16")
    depth1 = by_module(p, 1)
    assert [r.path for r in depth1] == ["0", "2"]  # Flatten is a view: free, left out
    assert sum(r.macs for r in depth1) == p.macs and sum(r.params for r in depth1) == p.params
    leaves = by_module(p, None)
    assert [(r.path, r.type) for r in leaves] == [("0.0", "Conv2d"), ("0.1", "ReLU"), ("2", "Linear")]
    assert leaves[0].output_shape == [2, 8, 14, 14] and leaves[0].params == 8 * 27 + 8


def test_meta_results_match_torch_kernels() -> None:
    """The shape-only fast path gives the same records as torch's own meta kernels."""
    from torchvision.models import get_model

    with torch.device("meta"):
        models = [get_model("mobilenet_v3_small", weights=None), get_model("swin_t", weights=None)]
    for model in models:
        spec = ModelSpec(name="m", module=model.eval(), args=(meta(2, 3, 224, 224),), input_shape=[2, 3, 224, 224])
        fast, slow = count(spec), count(spec, meta_shortcuts=False)
        assert [o.model_dump() for o in fast.ops] == [o.model_dump() for o in slow.ops]


def test_profile_round_trips_through_json() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    p = profile_of(model, meta(1, 3, 32, 32))
    back = Profile.model_validate_json(p.model_dump_json())
    assert back == p and back.flops == p.flops and back.bytes_read("w4a16") == p.bytes_read("w4a16")


class DirectOp(nn.Module):
    """Calls one aten op directly, as an exported program or a CUDA run would reach it."""

    def __init__(self, call) -> None:
        super().__init__()
        self.call = call

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        out = self.call(q)
        return out[0] if isinstance(out, tuple) else out


aten = torch.ops.aten
SDPA_VARIANTS = {
    "aten._scaled_dot_product_flash_attention_for_cpu": lambda q: aten._scaled_dot_product_flash_attention_for_cpu(q, q, q),
    "aten._scaled_dot_product_flash_attention": lambda q: aten._scaled_dot_product_flash_attention(q, q, q),
    "aten._scaled_dot_product_efficient_attention": lambda q: aten._scaled_dot_product_efficient_attention(q, q, q, None, False),
    "aten._scaled_dot_product_cudnn_attention": lambda q: aten._scaled_dot_product_cudnn_attention(q, q, q, None, False),
    "aten._scaled_dot_product_fused_attention_overrideable": lambda q: aten._scaled_dot_product_fused_attention_overrideable(q, q, q),
}


@pytest.mark.parametrize("name", sorted(SDPA_VARIANTS))
def test_every_fused_sdpa_kernel_has_the_same_count(name: str) -> None:
    p = profile_of(DirectOp(SDPA_VARIANTS[name]), meta(1, 2, 8, 16))
    op = only(p, Category.matmul)
    assert op.op == name
    assert (op.macs, op.flops) == (4096, 9344)
    # q, k, v are one tensor here: read once; the logsumexp by-product is not counted as written
    assert (op.input_elems, op.output_elems) == (256, 256)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_causal_attention_same_on_both_paths(device: str) -> None:
    class Causal(nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return F.scaled_dot_product_attention(q, q, q, is_causal=True)

    p = profile_of(Causal(), torch.randn(1, 2, 8, 16, device=device), device=device)
    # dense count (masked scores still computed) + 1 FLOP per score for the mask
    assert (p.macs, p.flops) == (4096, 9344 + 128)


def test_fused_encoder_layer_and_mha_ops_match_the_unfused_count() -> None:
    """aten._transformer_encoder_layer_fwd / _native_multi_head_attention called directly on CPU."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True).eval()
    x = torch.randn(2, 10, 64)
    attn = layer.self_attn

    def encoder_op(t: torch.Tensor) -> torch.Tensor:
        return torch._transformer_encoder_layer_fwd(
            t, 64, 4, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight, attn.out_proj.bias,
            False, False, 1e-5, layer.norm1.weight, layer.norm1.bias, layer.norm2.weight, layer.norm2.bias,
            layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias, None, None,
        )

    def mha_op(t: torch.Tensor) -> torch.Tensor:
        return aten._native_multi_head_attention(
            t, t, t, 64, 4, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight, attn.out_proj.bias,
            None, False,
        )

    class Holder(nn.Module):
        def __init__(self, call) -> None:
            super().__init__()
            self.layer = layer
            self.call = call

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            out = self.call(t)
            return out[0] if isinstance(out, tuple) else out

    fused_layer = profile_of(Holder(encoder_op), x, device="cpu")
    fused_mha = profile_of(Holder(mha_op), x, device="cpu")
    assert [o.op for o in fused_layer.ops] == ["aten._transformer_encoder_layer_fwd"]
    assert [o.op for o in fused_mha.ops] == ["aten._native_multi_head_attention"]
    unfused_layer = profile_of(layer, x.to("meta"))
    unfused_mha = profile_of(SelfAttentionOf(attn), x.to("meta"))
    assert (fused_layer.macs, fused_layer.flops) == (unfused_layer.macs, unfused_layer.flops)
    assert (fused_mha.macs, fused_mha.flops) == (unfused_mha.macs, unfused_mha.flops)
    # weights are the layer's parameters, read once each
    assert fused_layer.ops[0].weight_elems == sum(p.numel() for p in layer.parameters())


class SelfAttentionOf(nn.Module):
    def __init__(self, attn: nn.MultiheadAttention) -> None:
        super().__init__()
        self.attn = attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


def test_attribution_survives_a_child_that_raises() -> None:
    class Fragile(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("not this path")

    class Robust(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fragile = Fragile()
            self.after = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:
                x = self.fragile(x)
            except ValueError:
                pass
            return self.after(x) + 1

    p = profile_of(Robust(), meta(2, 3))
    assert [(o.op, o.module_path) for o in p.ops] == [("aten.relu", "after"), ("aten.add", "")]
