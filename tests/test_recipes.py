"""Deployment recipes (`recommend --recipe`): each command is parsed against the flags its tool
documents, each Python snippet with ast, and the parsed values must say what the candidate is
(precision flag, input shape, KV-cache dtype, context length).

The parsers below are written from the tools' documentation, not from advisor's code:
trtexec --help (TensorRT docs), vLLM "Engine Arguments", llama.cpp tools/quantize and
tools/server READMEs, ONNX Runtime quantization API, OpenVINO/NNCF and torch.compile docs; for the
later frameworks each parser's docstring or comment names its source (TensorRT-LLM quantize.py /
trtllm-build / trtllm-serve, pnnx and ncnn int8 docs, TFLite benchmark_model README, Coral compiler
page, MNN convert/quant docs, tvmc's argparse).
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
from pathlib import Path

import pytest
import yaml

from advisor.domain.candidates import Candidate
from advisor.recommend.recipes import Recipe, recipe_for
from advisor.recommend.types import RecommendRequest

from factories_predict import cache_zoo_profile, run_cli

PUBLISHED = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "published.yaml"


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
        # why --fp16 rides along: the note's figures are the published rows it cites
        (why,) = [n for n in recipe.notes if n.startswith("keep --fp16 next to --int8")]
        rows = {r["id"]: r["measured"] for r in yaml.safe_load(PUBLISHED.read_text())["rows"]}
        for model, name in (("alexnet", "AlexNet"), ("vgg11", "VGG-11")):
            int8, fp16 = rows[f"waggle-agx-{model}-trt-int8"], rows[f"waggle-agx-{model}-trt-fp16"]
            assert int8 > fp16
            assert f"{name} {int8:.2f}" in why and f"{fp16:.2f}" in why
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


# -- frameworks added later: each parser lists the flags its tool documents -------------------


def trtllm_quantize_parser() -> argparse.ArgumentParser:
    """NVIDIA/TensorRT-LLM examples/quantization/quantize.py (its argparse)."""
    p = _Parser(prog="quantize.py", allow_abbrev=False)
    for flag in ("--model_dir", "--output_dir", "--calib_dataset"):
        p.add_argument(flag)
    p.add_argument("--dtype", choices=["auto", "float16", "bfloat16", "float32"])
    p.add_argument("--qformat", choices=["nvfp4", "fp8", "int8_sq", "int4_awq", "w4a8_awq", "int8_wo", "int4_wo",
                                         "full_prec"])
    p.add_argument("--kv_cache_dtype", choices=["int8", "fp8"])
    p.add_argument("--tp_size", type=int)
    return p


def trtllm_build_parser() -> argparse.ArgumentParser:
    """tensorrt_llm/commands/build.py; nvidia.github.io/TensorRT-LLM/commands/trtllm-build.html."""
    p = _Parser(prog="trtllm-build", allow_abbrev=False)
    for flag in ("--checkpoint_dir", "--output_dir"):
        p.add_argument(flag)
    for flag in ("--max_batch_size", "--max_input_len", "--max_seq_len", "--max_num_tokens"):
        p.add_argument(flag, type=int)
    return p


def trtllm_serve_parser() -> argparse.ArgumentParser:
    """tensorrt_llm/commands/serve.py (click options)."""
    p = _Parser(prog="trtllm-serve", allow_abbrev=False)
    p.add_argument("model")
    p.add_argument("--tokenizer")
    p.add_argument("--backend", choices=["pytorch", "tensorrt", "trt", "_autodeploy"])
    for flag in ("--max_batch_size", "--max_seq_len", "--tp_size"):
        p.add_argument(flag, type=int)
    return p


def _key_values(argv: list[str], documented: set[str]) -> dict[str, str]:
    """key=value tools (pnnx, ncnn2table): every key must be one the tool documents."""
    pairs = dict(a.split("=", 1) for a in argv)
    assert set(pairs) <= documented, set(pairs) - documented
    return pairs


#: pnnx README "PNNX command line options" (Tencent/ncnn tools/pnnx/README.md)
PNNX_KEYS = {"pnnxparam", "pnnxbin", "pnnxpy", "pnnxonnx", "ncnnparam", "ncnnbin", "ncnnpy", "fp16", "optlevel",
             "device", "inputshape", "inputshape2", "customop", "moduleop"}
#: ncnn docs/how-to-use-and-FAQ/quantized-int8-inference.md
NCNN2TABLE_KEYS = {"mean", "norm", "shape", "pixel", "thread", "method"}


def benchmark_model_parser() -> argparse.ArgumentParser:
    """tensorflow/lite/tools/benchmark/README.md (bool flags take =true/false)."""
    p = _Parser(prog="benchmark_model", allow_abbrev=False)
    p.add_argument("--graph", required=True)
    p.add_argument("--num_threads", type=int)
    for flag in ("--use_xnnpack", "--xnnpack_force_fp16", "--use_gpu", "--gpu_precision_loss_allowed"):
        p.add_argument(flag, choices=["true", "false"])
    return p


def edgetpu_compiler_parser() -> argparse.ArgumentParser:
    """coral.ai/docs/edgetpu/compiler, Table 1."""
    p = _Parser(prog="edgetpu_compiler", allow_abbrev=False)
    p.add_argument("-o", "--out_dir")
    p.add_argument("-m", "--min_runtime_version")
    p.add_argument("model", nargs="+")
    return p


def mnnconvert_parser() -> argparse.ArgumentParser:
    """alibaba/MNN docs/tools/convert.md (MNNConvert usage)."""
    p = _Parser(prog="MNNConvert", allow_abbrev=False)
    p.add_argument("-f", "--framework", choices=["TF", "CAFFE", "ONNX", "TFLITE", "MNN", "TORCH", "JSON"])
    for flag in ("--modelFile", "--MNNModel", "--bizCode"):
        p.add_argument(flag)
    p.add_argument("--fp16", action="store_true")
    p.add_argument("--weightQuantBits", type=int, choices=range(2, 9))
    return p


def tvmc_parser() -> argparse.ArgumentParser:
    """apache/tvm python/tvm/driver/tvmc/compiler.py, transform.py and runner.py."""
    p = _Parser(prog="tvmc", allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True)
    compile_ = sub.add_parser("compile")
    for flag in ("--target", "--input-shapes", "--output"):
        compile_.add_argument(flag)
    compile_.add_argument("--mixed-precision", action="store_true")
    for flag in ("--mixed-precision-calculation-type", "--mixed-precision-acc-type"):
        compile_.add_argument(flag, choices=["float16", "float32"])
    compile_.add_argument("FILE")
    run = sub.add_parser("run")
    run.add_argument("--device", choices=["cpu", "cuda", "cl", "metal", "vulkan", "rocm", "micro"])
    run.add_argument("--fill-mode", choices=["zeros", "ones", "random"])
    run.add_argument("--print-time", action="store_true")
    run.add_argument("FILE")
    return p


def _shell(recipe: Recipe) -> dict[str, list[str]]:
    """Every shell step's argv (without the program), by program ("python x.py": by script)."""
    out = {}
    for step in recipe.steps:
        if step.kind == "shell":
            argv = shlex.split(step.text)
            key = argv[1] if argv[0] == "python" else argv[0]
            out[key] = argv[2:] if argv[0] == "python" else argv[1:]
    return out


def _imports(recipe: Recipe) -> set[str]:
    """Every "from M import N" / "import M" in the Python steps, as "M.N" / "M"."""
    names = set()
    for step in recipe.steps:
        if step.kind == "python":
            for node in ast.walk(ast.parse(step.text)):
                if isinstance(node, ast.ImportFrom):
                    names |= {f"{node.module}.{a.name}" for a in node.names}
                elif isinstance(node, ast.Import):
                    names |= {a.name for a in node.names}
    return names


NEW_FRAMEWORKS = ("tensorrt-llm", "ncnn", "tflite-xnnpack", "tflite-gpu", "tflite-edgetpu", "tvm", "coreml",
                  "executorch", "mnn")


def _yaml_support() -> list[tuple[str, str, str]]:
    """(framework, device class, precision) for every support row of the new frameworks' YAMLs."""
    import yaml

    root = Path(__file__).resolve().parents[1] / "hardware_db" / "frameworks"
    rows = []
    for name in NEW_FRAMEWORKS:
        data = yaml.safe_load((root / f"{name}.yaml").read_text())
        rows += sorted({(name, row["device_class"], row["precision"]) for row in data["support"]})
    return rows


@pytest.mark.parametrize(("framework", "device_class", "precision"), _yaml_support())
def test_every_supported_precision_has_a_recipe(framework, device_class, precision) -> None:
    llm = framework == "tensorrt-llm"
    c = _candidate(framework, precision, "llama-7b" if llm else "resnet50", (1, 1) if llm else (1, 3, 224, 224))
    recipe = recipe_for(c, None, device_class)
    assert recipe.steps, recipe.notes
    for step in recipe.steps:
        if step.kind == "python":
            ast.parse(step.text)
    shell = _shell(recipe)
    parsers = {"examples/quantization/quantize.py": trtllm_quantize_parser, "trtllm-build": trtllm_build_parser,
               "trtllm-serve": trtllm_serve_parser, "benchmark_model": benchmark_model_parser,
               "edgetpu_compiler": edgetpu_compiler_parser, "MNNConvert": mnnconvert_parser, "tvmc": tvmc_parser}
    for program, argv in shell.items():
        if program in parsers:
            parsers[program]().parse_args(argv)
        elif program == "pnnx":
            _key_values(argv[1:], PNNX_KEYS)
        elif program == "ncnn2table":
            _key_values(argv[4:], NCNN2TABLE_KEYS)
        else:
            assert program in {"ncnnoptimize", "ncnn2int8", "quantized.out"}, program


@pytest.mark.parametrize(("precision", "qformat", "dtype"), [
    ("fp8", "fp8", None), ("int8", "int8_sq", None), ("w4a16", "int4_awq", None), ("w8a16", "int8_wo", None),
    ("bf16", "full_prec", "bfloat16"), ("fp16", "full_prec", "float16")])
def test_tensorrt_llm_quantize_build_serve(precision, qformat, dtype) -> None:
    request = RecommendRequest(models=["llama-7b"], target="h100-sxm", phase="decode", context=8192, batch=16,
                               kv_cache="fp8")
    shell = _shell(recipe_for(_candidate("tensorrt-llm", precision, "llama-7b", (16, 1), "decode"), request))
    quant = trtllm_quantize_parser().parse_args(shell["examples/quantization/quantize.py"])
    assert (quant.qformat, quant.dtype, quant.kv_cache_dtype) == (qformat, dtype, "fp8")
    assert quant.model_dir == "./llama-7b" and quant.tp_size is None
    build = trtllm_build_parser().parse_args(shell["trtllm-build"])
    assert build.checkpoint_dir == quant.output_dir
    assert (build.max_batch_size, build.max_input_len, build.max_seq_len) == (16, 8192, 8192)
    serve = trtllm_serve_parser().parse_args(shell["trtllm-serve"])
    assert serve.model == build.output_dir and serve.tokenizer == quant.model_dir
    assert (serve.backend, serve.max_batch_size, serve.max_seq_len) == ("tensorrt", 16, 8192)


def test_tensorrt_llm_prefill_split_and_kv_limits() -> None:
    request = RecommendRequest(models=["hf:meta-llama/Llama-2-70b-hf"], target="h100-sxm", phase="prefill",
                               seq_len=2048, kv_cache="int4")
    c = _candidate("tensorrt-llm", "fp8", "hf:meta-llama/Llama-2-70b-hf", (1, 2048), "prefill")
    c.tensor_parallel = 2
    recipe = recipe_for(c, request)
    shell = _shell(recipe)
    quant = trtllm_quantize_parser().parse_args(shell["examples/quantization/quantize.py"])
    assert quant.model_dir == "meta-llama/Llama-2-70b-hf" and quant.tp_size == 2 and quant.kv_cache_dtype is None
    assert any("--kv_cache_dtype offers int8 and fp8 only, not int4" in n for n in recipe.notes)
    build = trtllm_build_parser().parse_args(shell["trtllm-build"])
    assert (build.max_input_len, build.max_seq_len) == (2048, 2048)
    assert trtllm_serve_parser().parse_args(shell["trtllm-serve"]).tp_size == 2
    assert recipe_for(_candidate("tensorrt-llm", "tf32", "llama-7b", (1, 1))).notes[0].startswith("no recipe")


def test_ncnn_pnnx_and_int8_tools() -> None:
    recipe = recipe_for(_candidate("ncnn", "int8", "resnet50", (1, 3, 224, 320)), None, "cpu")
    shell = _shell(recipe)
    pnnx = _key_values(shell["pnnx"][1:], PNNX_KEYS)
    assert shell["pnnx"][0] == "resnet50.pt" and pnnx == {"inputshape": "[1,3,224,320]", "fp16": "0"}
    assert shell["ncnnoptimize"] == ["resnet50.ncnn.param", "resnet50.ncnn.bin", "resnet50-opt.param",
                                     "resnet50-opt.bin", "0"]
    table = _key_values(shell["ncnn2table"][4:], NCNN2TABLE_KEYS)
    assert table["shape"] == "[320,224,3]" and table["method"] in {"kl", "aciq"}  # [w,h,c]
    assert shell["ncnn2int8"] == ["resnet50-opt.param", "resnet50-opt.bin", "resnet50-int8.param",
                                  "resnet50-int8.bin", "resnet50.table"]
    calls = _calls(recipe)
    assert ast.literal_eval(calls["net.load_param"][0].args[0]) == "resnet50-int8.param"
    assert ast.literal_eval(calls["torch.jit.trace(model.eval(), torch.rand(1, 3, 224, 320)).save"][0].args[0]) \
        == "resnet50.pt"
    fp16 = recipe_for(_candidate("ncnn", "fp16", "resnet50", (1, 3, 224, 224)), None, "cpu")
    assert _key_values(_shell(fp16)["pnnx"][1:], PNNX_KEYS)["fp16"] == "1" and "ncnn2int8" not in _shell(fp16)
    assert "net.opt.use_fp16_storage = True" in fp16.steps[-1].text


@pytest.mark.parametrize(("framework", "precision", "flags"), [
    ("tflite-xnnpack", "fp32", {"use_xnnpack": "true", "xnnpack_force_fp16": None}),
    ("tflite-xnnpack", "fp16", {"use_xnnpack": "true", "xnnpack_force_fp16": "true"}),
    ("tflite-xnnpack", "int8", {"use_xnnpack": "true", "xnnpack_force_fp16": None}),
    ("tflite-gpu", "fp16", {"use_gpu": "true", "gpu_precision_loss_allowed": "true"}),
    ("tflite-gpu", "fp32", {"use_gpu": "true", "gpu_precision_loss_allowed": "false"})])
def test_tflite_convert_and_benchmark(framework, precision, flags) -> None:
    recipe = recipe_for(_candidate(framework, precision, "resnet50", (1, 3, 224, 224)), None, "cpu")
    bench = benchmark_model_parser().parse_args(_shell(recipe)["benchmark_model"])
    assert bench.graph == f"resnet50_{precision}.tflite"
    assert {k: getattr(bench, k) for k in flags} == flags
    calls, imports = _calls(recipe), _imports(recipe)
    assert ast.literal_eval(calls["edge_model.export"][0].args[0]) == bench.graph
    assert [ast.literal_eval(a) for a in calls["torch.randn"][0].args] == [1, 3, 224, 224]
    if precision == "int8":
        assert {"ai_edge_torch.quantize.pt2e_quantizer.PT2EQuantizer", "ai_edge_torch.quantize.quant_config.QuantConfig",
                "torch.ao.quantization.quantize_pt2e.prepare_pt2e"} <= imports
        config = calls["get_symmetric_quantization_config"][0]
        assert _kw(config, "is_per_channel") is True and _kw(config, "is_dynamic") is False
        assert _kw(calls["convert_pt2e"][0], "fold_quantize") is False
    else:
        assert "prepare_pt2e" not in calls and "ai_edge_torch.convert" in calls
    assert recipe_for(_candidate("tflite-gpu", "int8"), None, "mobile_soc").notes[0].startswith("no recipe")


def test_edgetpu_compiles_the_int8_model() -> None:
    recipe = recipe_for(_candidate("tflite-edgetpu", "int8", "mobilenet_v2", (1, 3, 224, 224)), None, "npu")
    compiler = edgetpu_compiler_parser().parse_args(_shell(recipe)["edgetpu_compiler"])
    assert compiler.model == ["mobilenet_v2_int8.tflite"] and compiler.out_dir == "edgetpu"
    assert ast.literal_eval(_calls(recipe)["edge_model.export"][0].args[0]) == "mobilenet_v2_int8.tflite"
    assert recipe_for(_candidate("tflite-edgetpu", "fp16"), None, "npu").steps == []


@pytest.mark.parametrize(("precision", "compute", "target", "weights"), [
    ("fp32", "FLOAT32", "iOS16", None), ("fp16", "FLOAT16", "iOS16", None),
    ("w8a16", "FLOAT16", "iOS16", {"mode": "linear_symmetric"}),
    ("w4a16", "FLOAT16", "iOS18", {"mode": "linear_symmetric", "dtype": "int4", "granularity": "per_block",
                                   "block_size": 32}),
    ("int8", "FLOAT16", "iOS17", {"mode": "linear_symmetric"})])
def test_coreml_convert_and_compress(precision, compute, target, weights) -> None:
    calls = _calls(recipe_for(_candidate("coreml", precision, "resnet50", (1, 3, 224, 224)), None, "mobile_soc"))
    convert = calls["ct.convert"][0]
    assert _kw(convert, "compute_precision") == f"ct.precision.{compute}"
    assert _kw(convert, "minimum_deployment_target") == f"ct.target.{target}"
    assert _kw(convert, "convert_to") == "mlprogram"
    tensor = calls["ct.TensorType"][0]
    assert _kw(tensor, "shape") == (1, 3, 224, 224) and _kw(tensor, "name") == "input"
    if weights is None:
        assert "cto.coreml.linear_quantize_weights" not in calls
    else:
        config = calls["cto.coreml.OpLinearQuantizerConfig"][0]
        # coremltools OpLinearQuantizerConfig keywords (coremltools.optimize.coreml config reference)
        assert {k.arg for k in config.keywords} <= {"mode", "dtype", "granularity", "block_size", "weight_threshold"}
        assert {k.arg: _kw(config, k.arg) for k in config.keywords} == weights
        assert "cto.coreml.linear_quantize_weights" in calls
    assert ("cto.coreml.experimental.linear_quantize_activations" in calls) == (precision == "int8")
    assert ast.literal_eval(calls["mlmodel.save"][0].args[0]) == f"resnet50_{precision}.mlpackage"


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_executorch_xnnpack_lowering(precision) -> None:
    recipe = recipe_for(_candidate("executorch", precision, "resnet50", (1, 3, 224, 224)), None, "cpu")
    calls, imports = _calls(recipe), _imports(recipe)
    assert {"executorch.exir.to_edge_transform_and_lower",
            "executorch.backends.xnnpack.partition.xnnpack_partitioner.XnnpackPartitioner"} <= imports
    lower = calls["to_edge_transform_and_lower"][0]
    assert ast.unparse(_kw_node(lower, "partitioner")) == "[XnnpackPartitioner()]"
    assert ("prepare_pt2e" in calls) == (precision == "int8") == ("XNNPACKQuantizer" in calls)
    randn = calls["torch.randn"][0]
    assert ("dtype" in {k.arg for k in randn.keywords}) == (precision == "fp16")
    assert "program.write_to_file" in calls
    assert recipe_for(_candidate("executorch", "w8a16"), None, "cpu").steps == []


def _kw_node(call: ast.Call, name: str) -> ast.expr:
    return next(k.value for k in call.keywords if k.arg == name)


@pytest.mark.parametrize(("precision", "fp16", "bits"), [("fp32", False, None), ("fp16", True, None),
                                                        ("w8a16", False, 8), ("w4a16", False, 4),
                                                        ("int8", False, None)])
def test_mnn_convert_and_quantize(precision, fp16, bits) -> None:
    recipe = recipe_for(_candidate("mnn", precision, "resnet50", (1, 3, 224, 224)), None, "cpu")
    shell = _shell(recipe)
    convert = mnnconvert_parser().parse_args(shell["MNNConvert"])
    assert (convert.framework, convert.modelFile, convert.fp16, convert.weightQuantBits) == \
        ("ONNX", "resnet50.onnx", fp16, bits)
    if precision == "int8":
        assert shell["quantized.out"] == [convert.MNNModel, "resnet50_int8.mnn", "quant_config.json"]
        config = ast.literal_eval(next(n.value for step in recipe.steps if step.kind == "python"
                                       for n in ast.walk(ast.parse(step.text))
                                       if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "config"))
        # alibaba/MNN docs/tools/quant.md: the JSON keys quantized.out reads
        assert set(config) <= {"format", "mean", "normal", "width", "height", "path", "used_image_num",
                               "feature_quantize_method", "weight_quantize_method", "feature_clamp_value",
                               "weight_clamp_value", "batch_size", "quant_bits"}
        assert (config["width"], config["height"], config["feature_quantize_method"]) == (224, 224, "KL")
    else:
        assert convert.MNNModel == f"resnet50_{precision}.mnn" and "quantized.out" not in shell


@pytest.mark.parametrize(("device_class", "precision", "target", "device"), [
    ("cpu", "fp32", "llvm", "cpu"), ("cpu", "int8", "llvm", "cpu"), ("desktop_gpu", "fp16", "cuda", "cuda"),
    ("mobile_soc", "fp16", "metal", "metal")])
def test_tvmc_compile_and_run(device_class, precision, target, device) -> None:
    recipe = recipe_for(_candidate("tvm", precision, "resnet50", (1, 3, 224, 224)), None, device_class)
    commands = [shlex.split(s.text) for s in recipe.steps if s.kind == "shell"]
    compile_, run = (tvmc_parser().parse_args(argv[1:]) for argv in commands)
    assert (compile_.command, compile_.target, compile_.input_shapes) == ("compile", target, "input:[1,3,224,224]")
    assert compile_.mixed_precision == (precision == "fp16")
    assert compile_.FILE == ("resnet50_int8.onnx" if precision == "int8" else "resnet50.onnx")
    assert (run.command, run.device, run.FILE, run.print_time) == ("run", device, compile_.output, True)
    assert ("quantize_static" in _calls(recipe)) == (precision == "int8")
