"""ONNX files as a model source: exported zoo models agree with the torch profile, hand-built
graphs give hand-computed counts, quantized graphs state their precision, bad input is one line.

Models are exported here with plain ``torch.onnx.export`` (TorchScript exporter and the default
dynamo exporter, one with external data). Their parameters are perturbed first: exporters share
one initializer between bit-identical tensors (the fresh models' all-zero biases and all-one
norm weights), which a trained model never has.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from advisor.errors import InputError
from advisor.models.onnx_source import load_onnx
from advisor.profiling.aggregate import by_module
from advisor.profiling.onnx_graph import count_graph

TOLERANCE = 0.01  # issue 9: MACs and parameters within 1% of the torch profile


def _perturbed(module: torch.nn.Module) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.01)
    return module.eval()


def _export(module: torch.nn.Module, shape: list[int], path: Path, *, dynamo: bool, **kwargs) -> Path:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(shape),), str(path), dynamo=dynamo, **kwargs)
    return path


def _torch_profile(name: str):
    from advisor.models import load_model
    from advisor.profiling.counter import count
    from advisor.workload import Workload

    return count(load_model(Workload(model=name)))


def _small_vit() -> torch.nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
                             num_classes=10)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Zoo models exported both ways (resnet18 by dynamo with external data)."""
    import torchvision

    from advisor.models.yolo import build_yolov5

    root = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    models = {
        "resnet18": (torchvision.models.resnet18(), [1, 3, 224, 224]),
        "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small(), [1, 3, 224, 224]),
        "yolov5n": (build_yolov5("n"), [1, 3, 640, 640]),
    }
    files: dict[str, Path] = {}
    for name, (module, shape) in models.items():
        module = _perturbed(module)
        files[f"{name}-ts"] = _export(module, shape, root / f"{name}-ts.onnx", dynamo=False,
                                      input_names=["images"], dynamic_axes={"images": {0: "batch"}})
        files[f"{name}-dynamo"] = _export(module, shape, root / f"{name}-dynamo.onnx", dynamo=True,
                                          external_data=name == "resnet18")
    return files


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "yolov5n"])
@pytest.mark.parametrize("exporter", ["ts", "dynamo"])
def test_exported_zoo_models_match_the_torch_profile(exported: dict[str, Path], name: str, exporter: str) -> None:
    reference = _torch_profile(name)
    profile = count_graph(load_onnx(exported[f"{name}-{exporter}"], batch=1))
    assert profile.unsupported_ops == []
    assert abs(profile.macs / reference.macs - 1) <= TOLERANCE
    assert abs(profile.params / reference.params - 1) <= TOLERANCE
    assert profile.input_shape == reference.input_shape


def test_resnet18_counts_exactly_its_published_macs(exported: dict[str, Path]) -> None:
    # torchvision's model card: resnet18 1.81 GFLOPS (their "FLOPS" are MACs); the torch
    # counter gives 1,814,073,344 (tests/test_published_counts.py)
    for exporter in ("ts", "dynamo"):
        assert count_graph(load_onnx(exported[f"resnet18-{exporter}"], batch=1)).macs == 1_814_073_344


def test_batch_norm_folding_is_stated(exported: dict[str, Path]) -> None:
    for exporter in ("ts", "dynamo"):
        profile = count_graph(load_onnx(exported[f"resnet18-{exporter}"], batch=1))
        assert any("batch norm folded into 20 convolutions" in n for n in profile.notes)
        # folding drops BN scale and shift (2 x 4,800 channels), adds 20 conv biases (4,800)
        assert profile.params == _torch_profile("resnet18").params - 4_800


def test_external_data_is_never_read(exported: dict[str, Path], tmp_path: Path) -> None:
    source = exported["resnet18-dynamo"]
    data = source.with_name(source.name + ".data")
    assert data.is_file() and data.stat().st_size > 40_000_000  # the weights really are external
    alone = tmp_path / source.name
    alone.write_bytes(source.read_bytes())  # the graph without its data file
    assert count_graph(load_onnx(alone)).params == count_graph(load_onnx(source)).params


def test_dynamic_batch_is_set_by_batch_or_input_shape(exported: dict[str, Path]) -> None:
    path = exported["resnet18-ts"]
    one = count_graph(load_onnx(path, batch=1))
    four = count_graph(load_onnx(path, batch=4))
    assert four.macs == 4 * one.macs and four.input_shape == [4, 3, 224, 224]
    assert count_graph(load_onnx(path, input_shape="2x3x224x224")).macs == 2 * one.macs
    assert count_graph(load_onnx(path, input_shape="3x224x224", batch=2)).macs == 2 * one.macs


def test_dynamic_dimension_left_unset_names_the_input(exported: dict[str, Path]) -> None:
    with pytest.raises(InputError, match=r"input 'images' has a dynamic dimension 'batch'.*--input-shape"):
        load_onnx(exported["resnet18-ts"])


def test_fixed_dimension_cannot_be_changed(exported: dict[str, Path]) -> None:
    with pytest.raises(InputError, match=r"fixed batch of 1.*re-export"):
        load_onnx(exported["resnet18-dynamo"], batch=8)
    with pytest.raises(InputError, match=r"fixed dimension 2 of 224"):
        load_onnx(exported["resnet18-dynamo"], input_shape="1x3x320x320")


def test_per_layer_tree_follows_node_names(exported: dict[str, Path]) -> None:
    for exporter in ("ts", "dynamo"):
        profile = count_graph(load_onnx(exported[f"resnet18-{exporter}"], batch=1))
        rows = {r.path: r for r in by_module(profile, 1)}
        assert {"layer1", "layer2", "layer3", "layer4", "fc"} <= set(rows)
        assert rows["fc"].params == 512 * 1000 + 1000
        assert rows["fc"].macs == 512 * 1000
        assert sum(r.params for r in rows.values()) == profile.params
        # a conv whose batch norm the exporter folded is still named after the conv
        leaves = {r.path: r for r in by_module(profile, None)}
        assert leaves["layer1.0.conv1"].macs == 64 * 56 * 56 * 64 * 9


@pytest.mark.parametrize("exporter", ["ts", "dynamo"])
def test_small_vit_matches_the_torch_profile(tmp_path: Path, exporter: str) -> None:
    from advisor.models.spec import ModelSpec
    from advisor.profiling.counter import count

    torch.manual_seed(0)
    module = _perturbed(_small_vit())
    reference = count(ModelSpec(name="vit", module=module, args=(torch.randn(1, 3, 32, 32),),
                                input_shape=[1, 3, 32, 32], device="cpu"))
    path = _export(module, [1, 3, 32, 32], tmp_path / "vit.onnx", dynamo=exporter == "dynamo")
    profile = count_graph(load_onnx(path))
    assert profile.unsupported_ops == []
    assert profile.macs == reference.macs
    assert abs(profile.params / reference.params - 1) <= TOLERANCE


def test_opset_11_export(tmp_path: Path) -> None:
    # opset 11 has no HardSwish: the exporter decomposes it
    import torchvision

    torch.manual_seed(0)
    module = _perturbed(torchvision.models.mobilenet_v3_small())
    path = _export(module, [1, 3, 224, 224], tmp_path / "mnv3-11.onnx", dynamo=False, opset_version=11)
    model = onnx.load(str(path), load_external_data=False)
    assert model.opset_import[0].version == 11
    assert "HardSwish" not in {n.op_type for n in model.graph.node}
    reference = _torch_profile("mobilenet_v3_small")
    profile = count_graph(load_onnx(path))
    assert profile.unsupported_ops == []
    assert profile.macs == reference.macs
    assert abs(profile.params / reference.params - 1) <= TOLERANCE


# --------------------------------------------------------------------------- hand-built graphs


def _graph(nodes, inputs, outputs, initializers=(), opset=17, domains=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains)]
    return helper.make_model(graph, opset_imports=opsets)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def _f32(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_hand_built_graph_counts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.weight")
    bias = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "conv.bias")
    fc = numpy_helper.from_array(rng.standard_normal((256, 10)).astype(np.float32), "fc.weight")
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/act/Relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="/Flatten"),
        helper.make_node("MatMul", ["f", "fc.weight"], ["m"], name="/fc/MatMul"),
        helper.make_node("Softmax", ["m"], ["y"], name="/Softmax", axis=-1),
    ]
    path = _save(_graph(nodes, [_f32("x", ["N", 3, 8, 8])], [_f32("y", None)], [weight, bias, fc]),
                 tmp_path / "hand.onnx")
    profile = count_graph(load_onnx(path, batch=2))
    conv_macs = 2 * 4 * 8 * 8 * 3 * 3 * 3  # outputs x Cin x kernel area
    fc_macs = 2 * 10 * 256
    assert profile.macs == conv_macs + fc_macs
    conv_out = 2 * 4 * 8 * 8
    # 2 x MACs + bias add (1 per conv output) + ReLU (1 per element) + softmax (5 per element)
    assert profile.flops == 2 * (conv_macs + fc_macs) + conv_out + conv_out + 5 * 2 * 10
    assert profile.params == 4 * 27 + 4 + 2560
    conv = next(o for o in profile.ops if o.op == "onnx.Conv")
    assert (conv.weight_elems, conv.input_elems, conv.output_elems) == (112, 2 * 3 * 64, conv_out)
    assert conv.module_path == "conv" and conv.gemm_mnk == (2 * 64, 4, 27)
    flatten = next(o for o in profile.ops if o.op == "onnx.Flatten")
    assert flatten.category.value == "view" and flatten.output_elems == 0
    assert profile.native_precision is None


def test_unknown_op_is_listed_not_counted(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="/a/Relu"),
        helper.make_node("Mystery", ["r"], ["y"], name="/b/Mystery", domain="my.ops"),
    ]
    path = _save(_graph(nodes, [_f32("x", [1, 16])], [_f32("y", [1, 16])], domains=["my.ops"]), tmp_path / "u.onnx")
    profile = count_graph(load_onnx(path))
    assert [(u.op, u.count, u.modules) for u in profile.unsupported_ops] == [("my.ops.Mystery", 1, ["b"])]
    assert profile.flops == 16


def test_qlinear_matmul_graph(tmp_path: Path) -> None:
    """QOperator: QuantizeLinear -> QLinearMatMul (4x8 by 8x16 int8) -> DequantizeLinear."""
    scale = numpy_helper.from_array(np.array(0.1, dtype=np.float32), "s")
    zero = numpy_helper.from_array(np.array(0, dtype=np.uint8), "z")
    wzero = numpy_helper.from_array(np.array(0, dtype=np.int8), "wz")
    weight = numpy_helper.from_array(np.arange(128, dtype=np.int8).reshape(8, 16), "w")
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("QLinearMatMul", ["xq", "s", "z", "w", "s", "wz", "s", "z"], ["yq"], name="/proj/QLinearMatMul"),
        helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["y"]),
    ]
    path = _save(_graph(nodes, [_f32("x", [4, 8])], [_f32("y", [4, 16])], [scale, zero, wzero, weight]),
                 tmp_path / "q.onnx")
    profile = count_graph(load_onnx(path))
    assert profile.macs == 4 * 16 * 8
    assert profile.params == 128
    assert profile.native_precision == "int8"
    matmul = next(o for o in profile.ops if o.op == "onnx.QLinearMatMul")
    assert matmul.weight_elems == 128 and matmul.stored_weight_bytes == 128  # int8: 1 byte whatever the scheme
    assert any("QOperator" in n for n in profile.notes)


def test_onnxruntime_quantized_graphs(exported: dict[str, Path], tmp_path: Path) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_dynamic, quantize_static

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.batches = iter([{"x": rng.random((1, 3, 224, 224), dtype=np.float32)} for _ in range(2)])

        def get_next(self):
            return next(self.batches, None)

    source = exported["mobilenet_v3_small-dynamo"]
    float_profile = count_graph(load_onnx(source))
    for fmt, label in ((QuantFormat.QDQ, "QDQ"), (QuantFormat.QOperator, "QOperator")):
        target = tmp_path / f"{label}.onnx"
        with contextlib.redirect_stderr(io.StringIO()):
            quantize_static(str(source), str(target), Images(), quant_format=fmt)
        profile = count_graph(load_onnx(target))
        assert profile.unsupported_ops == [], label
        assert profile.native_precision == "int8", label
        assert profile.macs == float_profile.macs, label
        assert profile.params == float_profile.params, label
        assert any(label in n for n in profile.notes)
        convs = [o for o in profile.ops if o.category.value == "matmul" and o.weight_elems]
        # weights are stored int8 (1 byte per element), biases int32 (4 bytes per element)
        assert all(o.weight_elems <= o.stored_weight_bytes < 4 * o.weight_elems for o in convs), label
    dynamic = tmp_path / "dynamic.onnx"
    quantize_dynamic(str(exported["resnet18-ts"]), str(dynamic))
    profile = count_graph(load_onnx(dynamic, batch=1))
    assert profile.native_precision == "int8" and profile.unsupported_ops == []
    assert profile.macs == 1_814_073_344


# --------------------------------------------------------------------------- bad input and imports


def test_not_an_onnx_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("hello")
    with pytest.raises(InputError, match="bad.onnx: not an ONNX model"):
        load_onnx(bad)
    with pytest.raises(InputError, match="model file not found"):
        load_onnx(tmp_path / "missing.onnx")


def test_old_opset_is_refused(tmp_path: Path) -> None:
    path = _save(_graph([helper.make_node("Relu", ["x"], ["y"])], [_f32("x", [1, 4])], [_f32("y", [1, 4])], opset=9),
                 tmp_path / "old.onnx")
    with pytest.raises(InputError, match="opset 9 is older than 11"):
        load_onnx(path)


def test_onnx_route_does_not_import_torch(tmp_path: Path) -> None:
    path = _save(_graph([helper.make_node("Relu", ["x"], ["y"])], [_f32("x", [1, 4])], [_f32("y", [1, 4])]),
                 tmp_path / "tiny.onnx")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from advisor.models.onnx_source import load_onnx\n"
        "from advisor.profiling.onnx_graph import count_graph\n"
        f"p = count_graph(load_onnx(Path({str(path)!r})))\n"
        "assert p.flops == 4, p.flops\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_recommend_keeps_a_quantized_graph_at_its_precision(isolated_db: str, tmp_path: Path) -> None:
    test_qlinear_matmul_graph(tmp_path)  # writes q.onnx
    result = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "recommend", "--model", str(tmp_path / "q.onnx"), "--target",
         "xeon-8480", "-f", "json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["candidates"] and {c["precision"] for c in data["candidates"]} == {"int8"}
    reasons = [r for e in data["excluded"] if e["precision"] == "fp32" for r in e["reasons"]]
    assert any("stored as int8" in r and "[model_precision]" in r for r in reasons)


def test_bench_runs_the_onnx_file_as_stored(tmp_path: Path) -> None:
    from advisor.measure.bench import BenchBudget, bench

    test_qlinear_matmul_graph(tmp_path)  # writes q.onnx
    budget = BenchBudget(budget_s=0.2, min_runs=3, max_runs=20, rel_ci=0.5, warmup_s=0.05, max_warmup_s=1.0)
    result = bench(str(tmp_path / "q.onnx"), "int8", "onnxruntime-cpu", budget=budget)
    assert result.precision == "int8" and result.input_shape == [4, 8] and result.latency_ms > 0
    with pytest.raises(InputError, match="runs at int8 as stored, not fp32"):
        bench(str(tmp_path / "q.onnx"), "fp32", "onnxruntime-cpu", budget=budget)
    with pytest.raises(InputError, match="bench runs ONNX files with onnxruntime-cpu"):
        bench(str(tmp_path / "q.onnx"), "fp32", "pytorch", budget=budget)


def test_predictions_agree_with_the_torch_model(exported: dict[str, Path], sqlite_db_url: str) -> None:
    """The predictor treats an exported graph like the torch model: batch norm folded by the
    exporter or by the framework, the same kernels, the same latency within 1%."""
    import json

    def latency(model: str) -> float:
        result = subprocess.run(
            [sys.executable, "-m", "advisor.cli", "predict", "--model", model, "--batch", "1", "--target",
             "jetson-orin-nano", "-p", "fp16", "-F", "tensorrt", "-f", "json"],
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["latency_ms"]

    reference = latency("resnet18")
    for exporter in ("ts", "dynamo"):
        assert abs(latency(str(exported[f"resnet18-{exporter}"])) / reference - 1) < 0.01, exporter


def test_attention_and_gemm_formulas(tmp_path: Path) -> None:
    """opset 23 Attention counted like torch's scaled-dot-product attention; Gemm with transB."""
    weight = numpy_helper.from_array(np.ones((32, 8), dtype=np.float32), "proj.weight")  # (N, K), transB
    nodes = [
        helper.make_node("Attention", ["q", "k", "v"], ["a"], name="/attn/Attention", is_causal=1),
        helper.make_node("Reshape", ["a", "shape"], ["flat"], name="/Reshape"),
        helper.make_node("Gemm", ["flat", "proj.weight"], ["y"], name="/proj/Gemm", transB=1),
    ]
    shape = numpy_helper.from_array(np.array([64, 8], dtype=np.int64), "shape")
    qkv = [_f32(n, [1, 4, 16, 8]) for n in "qkv"]
    path = _save(_graph(nodes, qkv, [_f32("y", None)], [weight, shape], opset=23), tmp_path / "attn.onnx")
    profile = count_graph(load_onnx(path))
    assert profile.unsupported_ops == []
    scores = 4 * 16 * 16
    attention_macs = scores * (8 + 8)  # QK^T and AV
    gemm_macs = 64 * 32 * 8
    assert profile.macs == attention_macs + gemm_macs
    # scale q and k (1 per element each), softmax 5 per score, causal mask 1 per score
    attention_flops = 2 * attention_macs + 2 * 4 * 16 * 8 + 5 * scores + scores
    assert profile.flops == attention_flops + 2 * gemm_macs
    assert profile.params == 256  # the int64 reshape target is not a parameter


def test_contrib_operator_with_other_semantics_is_not_guessed(tmp_path: Path) -> None:
    # com.microsoft Attention takes packed QKV weights: not ONNX's Attention, so it is listed
    value = helper.make_tensor_value_info
    nodes = [helper.make_node("Attention", ["x", "w", "b"], ["y"], name="/attn/Attention", domain="com.microsoft",
                              num_heads=2)]
    w = numpy_helper.from_array(np.ones((8, 24), dtype=np.float32), "w")
    b = numpy_helper.from_array(np.ones(24, dtype=np.float32), "b")
    path = _save(_graph(nodes, [_f32("x", [1, 4, 8])], [value("y", TensorProto.FLOAT, [1, 4, 8])], [w, b],
                        domains=["com.microsoft"]), tmp_path / "contrib.onnx")
    profile = count_graph(load_onnx(path))
    assert [u.op for u in profile.unsupported_ops] == ["com.microsoft.Attention"] and profile.macs == 0
