"""Deployment recipes (`recommend --recipe`): each command is parsed against the flags its tool
documents, each Python snippet with ast, and the parsed values must say what the candidate is
(precision flag, input shape, KV-cache dtype, context length).

The parsers below are written from the tools' documentation, not from advisor's code:
trtexec --help (TensorRT docs), vLLM "Engine Arguments", llama.cpp tools/quantize and
tools/server READMEs, ONNX Runtime quantization API, OpenVINO/NNCF and torch.compile docs.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex

import pytest

from advisor.domain.candidates import Candidate
from advisor.recommend.recipes import Recipe, recipe_for
from advisor.recommend.types import RecommendRequest

from factories_predict import cache_zoo_profile, run_cli


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # an unknown flag or a bad value fails the test, not exit
        raise AssertionError(message)


def trtexec_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="trtexec", allow_abbrev=False)
    for flag in ("--onnx", "--saveEngine", "--shapes", "--calib", "--minShapes", "--optShapes", "--maxShapes"):
        p.add_argument(flag)
    for flag in ("--fp16", "--bf16", "--fp8", "--int8", "--best", "--noTF32"):
        p.add_argument(flag, action="store_true")
    return p


def vllm_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vllm serve", allow_abbrev=False)
    p.add_argument("model")
    p.add_argument("--dtype", choices=["auto", "half", "float16", "bfloat16", "float", "float32"])
    p.add_argument("--quantization", choices=["aqlm", "awq", "fp8", "gptq", "gptq_marlin", "marlin", "bitsandbytes",
                                              "compressed-tensors", "gguf"])
    p.add_argument("--kv-cache-dtype", choices=["auto", "fp8", "fp8_e5m2", "fp8_e4m3"])
    p.add_argument("--tensor-parallel-size", type=int)
    p.add_argument("--max-model-len", type=int)
    return p


GGUF_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S",
              "Q5_K_M", "Q6_K", "Q8_0", "F16", "BF16", "F32"]
CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"]


def llama_quantize_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="llama-quantize", allow_abbrev=False)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("type", choices=GGUF_TYPES)
    return p


def llama_server_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="llama-server", allow_abbrev=False)
    p.add_argument("-m", "--model", required=True)
    p.add_argument("-c", "--ctx-size", type=int)
    p.add_argument("-ngl", "--n-gpu-layers", type=int)
    p.add_argument("-ctk", "--cache-type-k", choices=CACHE_TYPES)
    p.add_argument("-ctv", "--cache-type-v", choices=CACHE_TYPES)
    return p


def convert_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="convert_hf_to_gguf.py", allow_abbrev=False)
    p.add_argument("model")
    p.add_argument("--outtype", choices=["f32", "f16", "bf16", "q8_0", "auto"])
    p.add_argument("--outfile")
    return p


def _candidate(framework: str, precision: str, model: str = "yolov5s", shape=(1, 3, 640, 640), phase=None) -> Candidate:
    return Candidate(rank=1, model=model, precision=precision, framework=framework, latency_ms=1.0,
                     throughput_per_s=1.0, bound="compute", memory_mb=1.0, input_shape=list(shape), phase=phase)


def _commands(recipe: Recipe) -> dict[str, argparse.Namespace]:
    """Every shell step parsed with its tool's documented flags, by program name."""
    parsers = {"trtexec": trtexec_parser, "llama-quantize": llama_quantize_parser, "llama-server": llama_server_parser}
    parsed = {}
    for step in recipe.steps:
        if step.kind != "shell":
            continue
        argv = shlex.split(step.text)
        if argv[:2] == ["vllm", "serve"]:
            parsed["vllm"] = vllm_parser().parse_args(argv[2:])
        elif argv[:2] == ["python", "convert_hf_to_gguf.py"]:
            parsed["convert"] = convert_parser().parse_args(argv[2:])
        elif argv[0] == "cp":
            continue
        else:
            parsed[argv[0]] = parsers[argv[0]]().parse_args(argv[1:])
    return parsed


def _calls(recipe: Recipe) -> dict[str, list[ast.Call]]:
    """Every call in the Python steps (each must parse), by its dotted name."""
    calls: dict[str, list[ast.Call]] = {}
    for step in recipe.steps:
        if step.kind == "python":
            for node in ast.walk(ast.parse(step.text)):
                if isinstance(node, ast.Call):
                    calls.setdefault(ast.unparse(node.func), []).append(node)
    return calls


def _kw(call: ast.Call, name: str):
    return next(ast.literal_eval(k.value) if not isinstance(k.value, ast.Attribute) else ast.unparse(k.value)
                for k in call.keywords if k.arg == name)


@pytest.mark.parametrize(("precision", "flags"), [("fp16", {"fp16"}), ("int8", {"int8", "fp16"}),
                                                  ("fp32", {"noTF32"}), ("bf16", {"bf16"})])
def test_trtexec_flags(precision, flags) -> None:
    recipe = recipe_for(_candidate("tensorrt", precision))
    args = _commands(recipe)["trtexec"]
    on = {f for f in ("fp16", "bf16", "fp8", "int8", "best", "noTF32") if getattr(args, f)}
    assert on == flags
    assert args.shapes == "input:1x3x640x640" and args.onnx == "yolov5s.onnx"
    assert (args.calib is not None) == (precision == "int8")
    if precision == "int8":
        assert any("calibration" in n for n in recipe.notes)
    export = _calls(recipe)["torch.onnx.export"][0]
    assert ast.literal_eval(export.args[2]) == "yolov5s.onnx"
    assert [ast.literal_eval(a) for a in _calls(recipe)["torch.randn"][0].args] == [1, 3, 640, 640]


def test_vllm_serve_arguments() -> None:
    request = RecommendRequest(models=["hf:Qwen/Qwen2.5-7B"], target="h100-sxm", phase="decode", context=4096,
                               kv_cache="fp8")
    fp8 = _commands(recipe_for(_candidate("vllm", "fp8", "hf:Qwen/Qwen2.5-7B", (1, 1), "decode"), request))["vllm"]
    assert fp8.model == "Qwen/Qwen2.5-7B" and fp8.quantization == "fp8" and fp8.kv_cache_dtype == "fp8"
    assert fp8.tensor_parallel_size == 1 and fp8.max_model_len == 4096
    bf16 = _commands(recipe_for(_candidate("vllm", "bf16", "llama-7b", (1, 1), "decode"), None))["vllm"]
    assert bf16.dtype == "bfloat16" and bf16.quantization is None and bf16.kv_cache_dtype is None
    awq = recipe_for(_candidate("vllm", "w4a16", "llama-7b", (1, 1), "decode"), None)
    assert _commands(awq)["vllm"].quantization == "awq" and any("quantized beforehand" in n for n in awq.notes)


def test_llama_quantize_and_server() -> None:
    request = RecommendRequest(models=["llama-7b"], target="rtx-4090", phase="decode", context=2048, kv_cache="int8")
    recipe = recipe_for(_candidate("llama-cpp", "q4_k_m", "llama-7b", (1, 1), "decode"), request, "desktop_gpu")
    parsed = _commands(recipe)
    assert parsed["convert"].outtype == "f16" and parsed["convert"].outfile == "llama-7b-f16.gguf"
    assert (parsed["llama-quantize"].input, parsed["llama-quantize"].type) == ("llama-7b-f16.gguf", "Q4_K_M")
    server = parsed["llama-server"]
    assert server.model == parsed["llama-quantize"].output == "llama-7b-Q4_K_M.gguf"
    assert server.ctx_size == 2048 and server.n_gpu_layers == 999
    assert server.cache_type_k == server.cache_type_v == "q8_0"
    on_cpu = _commands(recipe_for(_candidate("llama-cpp", "q8_0", "m.gguf", (1, 1), "decode"), None, "cpu"))
    assert "convert" not in on_cpu and on_cpu["llama-quantize"].input == "m.gguf"
    assert on_cpu["llama-server"].n_gpu_layers is None


def test_onnxruntime_static_and_dynamic_quantization() -> None:
    static = _calls(recipe_for(_candidate("onnxruntime-cpu", "int8")))
    call = static["quantize_static"][0]
    documented = {"model_input", "model_output", "calibration_data_reader", "quant_format", "op_types_to_quantize",
                  "per_channel", "reduce_range", "activation_type", "weight_type", "nodes_to_quantize",
                  "nodes_to_exclude", "use_external_data_format", "calibrate_method", "extra_options"}
    assert {k.arg for k in call.keywords} <= documented
    assert _kw(call, "quant_format") == "QuantFormat.QDQ" and _kw(call, "weight_type") == "QuantType.QInt8"
    session = static["ort.InferenceSession"][0]
    assert ast.literal_eval(session.args[0]) == ast.literal_eval(call.args[1]) == "yolov5s_int8.onnx"
    assert _kw(session, "providers") == ["CPUExecutionProvider"]
    dynamic = _calls(recipe_for(_candidate("onnxruntime-cpu", "w8a16")))["quantize_dynamic"][0]
    assert {k.arg for k in dynamic.keywords} <= {"weight_type", "per_channel", "reduce_range", "op_types_to_quantize"}
    trt = _calls(recipe_for(_candidate("onnxruntime-tensorrt", "fp16")))["ort.InferenceSession"][0]
    assert _kw(trt, "providers") == [("TensorrtExecutionProvider", {"trt_fp16_enable": True})]


@pytest.mark.parametrize(("precision", "call", "mode"), [("int8", "nncf.quantize", None),
                                                       ("w4a16", "nncf.compress_weights", "INT4_SYM"),
                                                       ("w8a16", "nncf.compress_weights", "INT8_ASYM")])
def test_openvino_nncf(precision, call, mode) -> None:
    calls = _calls(recipe_for(_candidate("openvino", precision), None, "cpu"))
    assert call in calls and "ov.convert_model" in calls and "ov.save_model" in calls
    if mode:
        assert _kw(calls[call][0], "mode") == f"nncf.CompressWeightsMode.{mode}"
    else:
        assert ast.unparse(calls[call][0].args[1]) == "calibration" and "nncf.Dataset" in calls


@pytest.mark.parametrize(("framework", "mode"), [("torch-compile", "max-autotune"),
                                                 ("pytorch-cudagraphs", "reduce-overhead"), ("pytorch", None)])
def test_torch_compile_mode(framework, mode) -> None:
    calls = _calls(recipe_for(_candidate(framework, "fp16")))
    if mode is None:
        assert "torch.compile" not in calls
    else:
        assert _kw(calls["torch.compile"][0], "mode") == mode
        assert mode in {"default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"}
    w4 = _calls(recipe_for(_candidate(framework, "w4a16")))
    assert "Int4WeightOnlyConfig" in w4 and "quantize_" in w4


def test_a_framework_without_recipe_says_so() -> None:
    recipe = recipe_for(_candidate("hailort", "int8"), None, "npu")
    assert recipe.steps == [] and recipe.notes[0].startswith("no recipe")


def test_cli_recipe_in_table_and_json(db, isolated_db) -> None:
    cache_zoo_profile(db, "yolov5s")
    out = run_cli("recommend", "--model", "yolov5s", "--target", "jetson-nano", "--top", "2", "--recipe", "-f", "json")
    assert out.returncode == 0, out.stderr
    candidates = json.loads(out.stdout)["candidates"]
    assert len(candidates) == 2 and all(c["recipe"]["framework"] == c["framework"] for c in candidates)
    trt = next(c for c in candidates if c["framework"] == "tensorrt")
    argv = next(shlex.split(s["text"]) for s in trt["recipe"]["steps"] if s["text"].startswith("trtexec"))
    assert trtexec_parser().parse_args(argv[1:]).fp16
    table = run_cli("recommend", "--model", "yolov5s", "--target", "jetson-nano", "--top", "1", "--recipe")
    assert table.returncode == 0 and "trtexec --onnx=yolov5s.onnx" in table.stdout
