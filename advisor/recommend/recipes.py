"""Deployment recipes (`recommend --recipe`): for a ranked candidate, the commands that build
and run it with its framework at its precision.

Every flag and keyword here is one the tool documents (checked against its docs when written,
tests/test_recipes.py parses each recipe against those names):

* trtexec (TensorRT): ``--onnx --saveEngine --shapes --fp16 --bf16 --fp8 --int8 --best --noTF32
  --calib`` (docs.nvidia.com TensorRT "trtexec" command-line reference);
* ``vllm serve``: ``--dtype --quantization --kv-cache-dtype --tensor-parallel-size
  --max-model-len`` (docs.vllm.ai, Engine Arguments);
* llama.cpp: ``llama-quantize IN.gguf OUT.gguf TYPE`` and ``llama-server -m --ctx-size
  --n-gpu-layers --cache-type-k --cache-type-v`` (llama.cpp tools/quantize and tools/server README);
* ONNX Runtime: ``onnxruntime.quantization.quantize_static`` / ``quantize_dynamic`` and the
  TensorRT execution provider's ``trt_fp16_enable`` / ``trt_int8_enable`` options
  (onnxruntime.ai, Quantize ONNX models; TensorRT EP);
* OpenVINO: ``openvino.convert_model``, ``openvino.save_model(compress_to_fp16=)``,
  ``nncf.quantize(model, nncf.Dataset(...))``, ``nncf.compress_weights(mode=)`` (docs.openvino.ai,
  Basic Quantization Flow; Weight Compression);
* PyTorch: ``torch.compile(mode="max-autotune" | "reduce-overhead")`` and torchao's
  ``quantize_`` with ``Int8WeightOnlyConfig``, ``Int4WeightOnlyConfig``,
  ``Int8DynamicActivationInt8WeightConfig``, ``Float8DynamicActivationFloat8WeightConfig``
  (docs.pytorch.org/ao, torchao.quantization);
* TensorRT-LLM: ``examples/quantization/quantize.py --model_dir --output_dir --dtype --qformat
  {fp8,int8_sq,int4_awq,int8_wo,int4_wo,full_prec} --kv_cache_dtype {int8,fp8} --tp_size``
  (NVIDIA/TensorRT-LLM examples/quantization/quantize.py argparse); ``trtllm-build --checkpoint_dir
  --output_dir --max_batch_size --max_input_len --max_seq_len`` (tensorrt_llm/commands/build.py;
  nvidia.github.io/TensorRT-LLM/commands/trtllm-build.html); ``trtllm-serve MODEL --tokenizer
  --backend tensorrt --max_batch_size --max_seq_len --tp_size`` (tensorrt_llm/commands/serve.py);
* ncnn: ``pnnx model.pt inputshape=[..] fp16=0|1`` (Tencent/ncnn tools/pnnx/README.md, TorchScript
  path ``torch.jit.trace(...).save``); ``ncnnoptimize in.param in.bin out.param out.bin FLAG`` (flag 0:
  fp32 storage, 1/65536: fp16; tools/ncnnoptimize.cpp); ``ncnn2table ... mean= norm= shape=[w,h,c]
  pixel= thread= method=kl|aciq`` and ``ncnn2int8 in.param in.bin out.param out.bin table``
  (docs/how-to-use-and-FAQ/quantized-int8-inference.md); python ``ncnn.Net``, ``net.opt.use_fp16_storage``,
  ``use_fp16_arithmetic``, ``load_param``, ``load_model``, ``create_extractor``, ``ex.input``,
  ``ex.extract`` (ncnn python/README.md and its examples);
* TFLite: ``ai_edge_torch.convert(model, sample_inputs)``, ``.export(path)`` and PT2E quantization with
  ``ai_edge_torch.quantize.pt2e_quantizer.PT2EQuantizer``, ``get_symmetric_quantization_config(
  is_per_channel=, is_dynamic=)``, ``QuantConfig(pt2e_quantizer=)``, ``prepare_pt2e``/``convert_pt2e
  (fold_quantize=False)``, ``torch.export.export(...).module()`` for PyTorch 2.6+ (google-ai-edge/
  ai-edge-torch docs/pytorch_converter/README.md, Quantization); ``benchmark_model --graph --num_threads
  --use_xnnpack --xnnpack_force_fp16 --use_gpu --gpu_precision_loss_allowed`` (tensorflow
  tensorflow/lite/tools/benchmark/README.md);
* Edge TPU: ``edgetpu_compiler --out_dir DIR model.tflite`` writes ``model_edgetpu.tflite``
  (coral.ai/docs/edgetpu/compiler, Table 1);
* Core ML: ``ct.convert(traced, inputs=[ct.TensorType(name=, shape=)], convert_to="mlprogram",
  compute_precision=ct.precision.FLOAT16|FLOAT32, minimum_deployment_target=ct.target.iOSnn)``
  (apple.github.io/coremltools coremltools.converters.convert; New Conversion Options);
  ``cto.coreml.OpLinearQuantizerConfig(mode="linear_symmetric")``, ``OptimizationConfig(global_config=)``,
  ``linear_quantize_weights(model, config=)``, ``cto.coreml.experimental.OpActivationLinearQuantizerConfig``
  and ``linear_quantize_activations(model, config, sample_data)`` (docs-guides opt-quantization-api);
  4-bit per-block ``dtype="int4", granularity="per_block", block_size=32`` (iOS 18, coremltools 8
  OpLinearQuantizerConfig; constexpr_blockwise_shift_scale in the linear_quantize_weights reference);
* ExecuTorch: ``to_edge_transform_and_lower(torch.export.export(m, inputs), partitioner=
  [XnnpackPartitioner()]).to_executorch()``, ``write_to_file``, ``XNNPACKQuantizer``,
  ``get_symmetric_quantization_config(is_per_channel=True)``, ``set_global``, ``prepare_pt2e``,
  ``convert_pt2e`` (pytorch/executorch docs/source/backends-xnnpack.md: fp32/fp16 activations, 8-bit;
  weight-only quantization is not supported on XNNPACK);
* MNN: ``MNNConvert -f ONNX --modelFile --MNNModel --bizCode --fp16 --weightQuantBits`` (alibaba/MNN
  docs/tools/convert.md) and ``quantized.out origin.mnn quan.mnn config.json`` with the JSON keys
  format/mean/normal/width/height/path/used_image_num/feature_quantize_method/weight_quantize_method
  (docs/tools/quant.md);
* TVM: ``tvmc compile --target --input-shapes --output --mixed-precision
  --mixed-precision-calculation-type --mixed-precision-acc-type FILE`` and ``tvmc run --device
  --fill-mode --print-time`` (apache/tvm python/tvm/driver/tvmc/compiler.py, transform.py, runner.py).

Hailo (hailort) has no recipe: the Dataflow Compiler's documentation is behind Hailo's developer-zone
login, so its commands could not be checked. A framework without a recipe here gets an empty one that
says so; nothing is invented.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from advisor.domain.candidates import Candidate

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.recommend.types import RecommendRequest


class RecipeStep(BaseModel):
    """One command (``shell``: a command line) or snippet (``python``) and what it does."""

    kind: Literal["shell", "python"]
    text: str
    purpose: str


class Recipe(BaseModel):
    framework: str
    precision: str
    steps: list[RecipeStep] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _sh(*argv: str, purpose: str) -> RecipeStep:
    return RecipeStep(kind="shell", text=shlex.join(argv), purpose=purpose)


def _py(code: str, purpose: str) -> RecipeStep:
    return RecipeStep(kind="python", text=code.strip() + "\n", purpose=purpose)


def _stem(model: str) -> str:
    """A file-name stem for the model: "hf:Qwen/Qwen2.5-7B" -> "Qwen2.5-7B", "a/b.onnx" -> "b"."""
    name = model.removeprefix("hf:").rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".onnx", ".gguf", ".safetensors", ".pt2"):
        name = name.removesuffix(suffix)
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.split(":")[-1]) or "model"


def _shape(c: Candidate) -> str:
    return "x".join(str(d) for d in c.input_shape) if c.input_shape else "1x3x224x224"


def _dims(c: Candidate) -> str:
    """The input shape as Python call arguments: "1, 3, 224, 224"."""
    return ", ".join(str(d) for d in c.input_shape) or "1, 3, 224, 224"


def _onnx_export(c: Candidate, onnx_path: str) -> RecipeStep:
    if c.model.endswith(".onnx"):
        return _sh("cp", c.model, onnx_path, purpose="the model is already ONNX")
    dims = ", ".join(str(d) for d in c.input_shape) or "1, 3, 224, 224"
    return _py(f"""
import torch

model = ...  # your {c.model}, with its trained weights, in eval mode
example = torch.randn({dims})
torch.onnx.export(model.eval(), (example,), {onnx_path!r}, input_names=["input"], opset_version=17)
""", f"export {c.model} to ONNX at input {_shape(c)}")


# -- TensorRT -------------------------------------------------------------------------------

TRTEXEC_PRECISION_FLAGS: dict[str, tuple[str, ...]] = {
    "fp32": ("--noTF32",), "tf32": (), "fp16": ("--fp16",), "bf16": ("--bf16",), "fp8": ("--fp8", "--fp16"),
    "int8": ("--int8", "--fp16"),
}


def _tensorrt(c: Candidate, stem: str) -> Recipe:
    onnx_path, engine = f"{stem}.onnx", f"{stem}_{c.precision}.engine"
    flags = TRTEXEC_PRECISION_FLAGS.get(c.precision)
    if flags is None:
        return _none(c, f"trtexec has no {c.precision} mode")
    argv = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine}", f"--shapes=input:{_shape(c)}", *flags]
    notes = ["--shapes names the ONNX input 'input' as exported above; use your graph's input name"]
    if c.precision == "int8":
        argv.append("--calib=calibration.cache")
        notes.append("int8 needs a calibration cache built from ~500 representative inputs (TensorRT's "
                     "IInt8EntropyCalibrator2 writes calibration.cache), or an ONNX graph with Q/DQ nodes "
                     "(then drop --calib); --best instead of --int8 --fp16 lets TensorRT pick per layer")
        notes.append("keep --fp16 next to --int8: the layers TensorRT keeps out of INT8 otherwise run in fp32 "
                     "(NVIDIA/TensorRT#3754; torch2trt's int8_mode without fp16_mode on a Jetson AGX Xavier: "
                     "AlexNet 3.14 ms in INT8 against 1.91 ms in fp16, VGG-11 6.47 against 5.70 ms; "
                     "benchmarks/data/published.yaml, waggle-torch2trt-agx)")
    return Recipe(framework=c.framework, precision=c.precision, notes=notes, steps=[
        _onnx_export(c, onnx_path),
        _sh(*argv, purpose=f"build and time the {c.precision} engine"),
    ])


# -- ONNX Runtime ---------------------------------------------------------------------------

ORT_PROVIDERS = {"onnxruntime-cpu": "CPUExecutionProvider", "onnxruntime-cuda": "CUDAExecutionProvider",
                 "onnxruntime-tensorrt": "TensorrtExecutionProvider"}


def _ort_static_int8(c: Candidate, onnx_path: str, out_path: str) -> RecipeStep:
    """ONNX Runtime static QDQ int8 quantization (also the way into TVM's pre-quantized import)."""
    return _py(f"""
import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class Calibration(CalibrationDataReader):
    def __init__(self, samples):
        self.samples = iter(samples)

    def get_next(self):
        sample = next(self.samples, None)
        return None if sample is None else {{"input": sample}}


samples = [np.random.rand({_dims(c)}).astype(np.float32)
           for _ in range(8)]  # replace with ~100-500 real, preprocessed inputs
quantize_static({onnx_path!r}, {out_path!r}, Calibration(samples), quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
""", "quantize weights and activations to int8 (static, QDQ) from calibration inputs")


def _onnxruntime(c: Candidate, stem: str) -> Recipe:
    onnx_path = f"{stem}.onnx"
    provider = ORT_PROVIDERS[c.framework]
    steps = [_onnx_export(c, onnx_path)]
    run_path = onnx_path
    notes: list[str] = []
    if c.precision == "int8":
        run_path = f"{stem}_int8.onnx"
        steps.append(_ort_static_int8(c, onnx_path, run_path))
    elif c.precision == "w8a16":
        run_path = f"{stem}_w8.onnx"
        steps.append(_py(f"""
from onnxruntime.quantization import QuantType, quantize_dynamic

quantize_dynamic({onnx_path!r}, {run_path!r}, weight_type=QuantType.QInt8)
""", "quantize the weights to int8 (activations are quantized on the fly)"))
        notes.append("quantize_dynamic stores int8 weights and quantizes activations at run time; "
                     "ONNX Runtime has no pure weight-only int8 path for Conv")
    elif c.precision in ("fp16", "bf16", "fp8", "w4a16", "tf32") and c.framework != "onnxruntime-tensorrt":
        if c.precision == "fp16":
            run_path = f"{stem}_fp16.onnx"
            steps.append(_py(f"""
import onnx
from onnxconverter_common import float16

model = onnx.load({onnx_path!r})
onnx.save(float16.convert_float_to_float16(model, keep_io_types=True), {run_path!r})
""", "convert the graph to fp16 (inputs and outputs stay fp32)"))
        else:
            notes.append(f"no ONNX Runtime recipe for {c.precision} here yet; see onnxruntime.ai quantization docs")
    options = ""
    if c.framework == "onnxruntime-tensorrt":
        if c.precision == "fp16":
            options = ', {"trt_fp16_enable": True}'
        elif c.precision == "int8":
            options = ', {"trt_int8_enable": True, "trt_fp16_enable": True}'
    providers = f'[("{provider}"{options})]' if options else f'["{provider}"]'
    steps.append(_py(f"""
import onnxruntime as ort

session = ort.InferenceSession({run_path!r}, providers={providers})
""", f"run it with {provider}"))
    return Recipe(framework=c.framework, precision=c.precision, steps=steps, notes=notes)


# -- OpenVINO -------------------------------------------------------------------------------


def _openvino(c: Candidate, stem: str) -> Recipe:
    onnx_path = f"{stem}.onnx"
    out = f"{stem}_{c.precision}.xml"
    body = {
        "fp32": f"ov.save_model(model, {out!r}, compress_to_fp16=False)",
        "fp16": f"ov.save_model(model, {out!r}, compress_to_fp16=True)",
        "int8": ("calibration = nncf.Dataset(samples)  # ~300 real, preprocessed inputs\n"
                 f"ov.save_model(nncf.quantize(model, calibration), {out!r})"),
        "w8a16": f"ov.save_model(nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM), {out!r})",
        "w4a16": f"ov.save_model(nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT4_SYM), {out!r})",
    }.get(c.precision)
    if body is None:
        return _none(c, f"OpenVINO has no {c.precision} path here")
    dims = ", ".join(str(d) for d in c.input_shape) or "1, 3, 224, 224"
    code = f"""
import numpy as np
import nncf
import openvino as ov

model = ov.convert_model({onnx_path!r})
samples = [np.random.rand({dims}).astype(np.float32) for _ in range(8)]  # replace with real inputs
{body}
compiled = ov.Core().compile_model({out!r}, "CPU")
"""
    return Recipe(framework=c.framework, precision=c.precision, steps=[
        _onnx_export(c, onnx_path), _py(code, f"convert to OpenVINO IR at {c.precision} and compile it")])


# -- PyTorch --------------------------------------------------------------------------------

TORCHAO_CONFIGS = {"int8": "Int8DynamicActivationInt8WeightConfig", "w8a16": "Int8WeightOnlyConfig",
                   "w4a16": "Int4WeightOnlyConfig", "fp8": "Float8DynamicActivationFloat8WeightConfig"}
TORCH_DTYPES = {"fp32": "torch.float32", "tf32": "torch.float32", "fp16": "torch.float16", "bf16": "torch.bfloat16"}
COMPILE_MODES = {"torch-compile": "max-autotune", "pytorch-cudagraphs": "reduce-overhead"}


def _pytorch(c: Candidate, device: str) -> Recipe:
    lines = ["import torch", ""]
    quant = TORCHAO_CONFIGS.get(c.precision)
    if quant:
        lines.insert(1, f"from torchao.quantization import {quant}, quantize_")
    dims = ", ".join(str(d) for d in c.input_shape) or "1, 3, 224, 224"
    dtype = TORCH_DTYPES.get(c.precision, "torch.bfloat16")
    lines += [f"model = ...  # your {c.model}, with its trained weights",
              f"model = model.eval().to({device!r}, {dtype})"]
    if c.precision == "tf32":
        lines.append("torch.backends.cuda.matmul.allow_tf32 = True")
    if quant:
        lines.append(f"quantize_(model, {quant}())")
    if c.framework in COMPILE_MODES:
        lines.append(f"model = torch.compile(model, mode={COMPILE_MODES[c.framework]!r})")
    lines += [f"example = torch.randn({dims}, device={device!r}, dtype={dtype})",
              "with torch.inference_mode():", "    model(example)  # the first calls compile; time the later ones"]
    notes = [] if not quant else [f"{c.precision} through torchao ({quant}) quantizes nn.Linear layers only"]
    purpose = {"torch-compile": "compile with max-autotune", "pytorch-cudagraphs": "compile with CUDA graphs "
               "(reduce-overhead)"}.get(c.framework, "run eagerly")
    return Recipe(framework=c.framework, precision=c.precision, notes=notes,
                  steps=[_py("\n".join(lines), f"{purpose} at {c.precision}")])


# -- LLM servers ----------------------------------------------------------------------------

VLLM_QUANTIZATION = {"fp8": "fp8", "w4a16": "awq", "int8": "compressed-tensors", "w8a16": "compressed-tensors"}
VLLM_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}


def _checkpoint(model: str) -> str:
    """The Hugging Face checkpoint a server loads: the directory or hub id the model came from."""
    if model.startswith("hf:"):
        return model[3:]
    if "/" in model or model.startswith("."):
        return model
    return f"./{model}"  # a zoo name: the directory of its Hugging Face checkpoint


def _vllm(c: Candidate, request: RecommendRequest | None) -> Recipe:
    argv = ["vllm", "serve", _checkpoint(c.model)]
    notes = []
    if c.precision in VLLM_DTYPE:
        argv += ["--dtype", VLLM_DTYPE[c.precision]]
    elif c.precision in VLLM_QUANTIZATION:
        argv += ["--quantization", VLLM_QUANTIZATION[c.precision]]
        if c.precision != "fp8":
            notes.append(f"{c.precision} in vLLM loads a checkpoint quantized beforehand (AWQ for w4a16, "
                         "llm-compressor's compressed-tensors for int8/w8a16); fp8 is quantized at load time")
    else:
        return _none(c, f"vLLM has no {c.precision} mode")
    kv = request.kv_cache if request is not None else None
    if kv and kv.startswith("fp8"):
        argv += ["--kv-cache-dtype", "fp8"]
    argv += ["--tensor-parallel-size", "1"]
    length = _context_length(request)
    if length:
        argv += ["--max-model-len", str(length)]
    notes.append("--tensor-parallel-size 1: one device, as predicted here; `advisor plan` sizes multi-device serving")
    return Recipe(framework=c.framework, precision=c.precision, notes=notes,
                  steps=[_sh(*argv, purpose="serve it with an OpenAI-compatible API")])


def _context_length(request: RecommendRequest | None) -> int | None:
    if request is None:
        return None
    return max((v for v in (request.context, request.seq_len) if v), default=None)


GGUF_TYPES = {"q8_0": "Q8_0", "q6_k": "Q6_K", "q5_k_m": "Q5_K_M", "q4_k_m": "Q4_K_M", "q4_0": "Q4_0",
              "int8": "Q8_0", "w8a16": "Q8_0", "w4a16": "Q4_K_M"}
LLAMA_CACHE_TYPES = {"fp16": "f16", "bf16": "bf16", "fp32": "f32", "int8": "q8_0", "q8_0": "q8_0", "int4": "q4_0"}


def _llama_cpp(c: Candidate, request: RecommendRequest | None, on_gpu: bool) -> Recipe:
    stem = _stem(c.model)
    steps: list[RecipeStep] = []
    if c.model.endswith(".gguf"):
        source = c.model
    else:
        source = f"{stem}-f16.gguf"
        steps.append(_sh("python", "convert_hf_to_gguf.py", _checkpoint(c.model), "--outtype", "f16",
                         "--outfile", source, purpose="convert the Hugging Face checkpoint to GGUF (llama.cpp repo)"))
    served = source
    if c.precision in GGUF_TYPES:
        served = f"{stem}-{GGUF_TYPES[c.precision]}.gguf"
        steps.append(_sh("llama-quantize", source, served, GGUF_TYPES[c.precision],
                         purpose=f"quantize the weights to {GGUF_TYPES[c.precision]}"))
    elif c.precision not in ("fp16", "bf16", "fp32"):
        return _none(c, f"llama.cpp has no {c.precision} type")
    argv = ["llama-server", "-m", served, "--ctx-size", str(_context_length(request) or 4096)]
    if on_gpu:
        argv += ["--n-gpu-layers", "999"]
    kv = request.kv_cache if request is not None else None
    if kv in LLAMA_CACHE_TYPES:
        argv += ["--cache-type-k", LLAMA_CACHE_TYPES[kv], "--cache-type-v", LLAMA_CACHE_TYPES[kv]]
    steps.append(_sh(*argv, purpose="serve it (OpenAI-compatible HTTP API)"))
    return Recipe(framework=c.framework, precision=c.precision, steps=steps)


# -- TensorRT-LLM ---------------------------------------------------------------------------

TRTLLM_QFORMAT = {"fp8": "fp8", "int8": "int8_sq", "w4a16": "int4_awq", "w8a16": "int8_wo"}
TRTLLM_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
TRTLLM_KV_CACHE = {"fp8": "fp8", "int8": "int8"}


def _tensorrt_llm(c: Candidate, request: RecommendRequest | None) -> Recipe:
    """HF checkpoint -> quantize.py (ModelOpt) checkpoint -> trtllm-build engine -> trtllm-serve."""
    if c.precision not in TRTLLM_QFORMAT and c.precision not in TRTLLM_DTYPE:
        return _none(c, f"TensorRT-LLM's quantize.py has no {c.precision} format")
    stem, source = _stem(c.model), _checkpoint(c.model)
    checkpoint, engine = f"{stem}-ckpt-{c.precision}", f"{stem}-engine-{c.precision}"
    argv = ["python", "examples/quantization/quantize.py", "--model_dir", source, "--output_dir", checkpoint]
    notes = []
    if c.precision in TRTLLM_QFORMAT:
        argv += ["--qformat", TRTLLM_QFORMAT[c.precision]]
        if c.precision != "w8a16":
            notes.append("quantize.py calibrates on --calib_dataset (default cnn_dailymail from the Hugging Face "
                         "hub): pass a local dataset directory where the hub is unreachable")
        if c.precision == "w4a16":
            notes.append("w4a16 is AWQ (int4_awq, groups of --awq_block_size 128); int4_wo is plain INT4 "
                         "weight-only without activation-aware scaling")
    else:
        argv += ["--qformat", "full_prec", "--dtype", TRTLLM_DTYPE[c.precision]]
    kv = request.kv_cache if request is not None else None
    if kv in TRTLLM_KV_CACHE:
        argv += ["--kv_cache_dtype", TRTLLM_KV_CACHE[kv]]
    elif kv not in (None, "fp16", "bf16", "fp32"):
        notes.append(f"quantize.py's --kv_cache_dtype offers int8 and fp8 only, not {kv}")
    tp = ["--tp_size", str(c.tensor_parallel)] if c.tensor_parallel > 1 else []
    batch = (request.batch if request is not None and request.batch else None) or (c.input_shape or [1])[0]
    max_seq = _context_length(request) or 4096
    max_input = request.seq_len if request is not None and request.seq_len else max_seq
    return Recipe(framework=c.framework, precision=c.precision, notes=notes, steps=[
        _sh(*argv, *tp, purpose=f"convert the checkpoint to TensorRT-LLM at {c.precision} (TensorRT-LLM repo)"),
        _sh("trtllm-build", "--checkpoint_dir", checkpoint, "--output_dir", engine, "--max_batch_size",
            str(batch), "--max_input_len", str(max_input), "--max_seq_len", str(max_seq),
            purpose="build the engine for this batch and sequence length"),
        _sh("trtllm-serve", engine, "--tokenizer", source, "--backend", "tensorrt", "--max_batch_size",
            str(batch), "--max_seq_len", str(max_seq), *tp,
            purpose="serve the engine (OpenAI-compatible API; releases before 1.0 take no --backend)"),
    ])


# -- ncnn -----------------------------------------------------------------------------------

NCNN_PRECISIONS = ("fp32", "fp16", "int8")


def _ncnn(c: Candidate, stem: str) -> Recipe:
    """TorchScript -> pnnx -> ncnn param/bin; int8 through ncnnoptimize, ncnn2table and ncnn2int8."""
    if c.precision not in NCNN_PRECISIONS:
        return _none(c, f"ncnn has no {c.precision} mode (bf16 is storage only)")
    shape = list(c.input_shape) or [1, 3, 224, 224]
    param, weights = f"{stem}.ncnn.param", f"{stem}.ncnn.bin"
    steps = [
        _py(f"""
import torch

model = ...  # your {c.model}, with its trained weights
torch.jit.trace(model.eval(), torch.rand({_dims(c)})).save({stem + '.pt'!r})
""", f"trace {c.model} to TorchScript at input {_shape(c)}"),
        _sh("pnnx", f"{stem}.pt", f"inputshape=[{','.join(str(d) for d in shape)}]",
            f"fp16={int(c.precision == 'fp16')}", purpose=f"convert to ncnn ({param}, {weights})"),
    ]
    notes = ["pnnx names the ncnn blobs in0/out0; ncnn runs one image (c, h, w): a batch is that many calls"]
    if c.precision == "int8":
        opt_param, opt_bin = f"{stem}-opt.param", f"{stem}-opt.bin"
        param, weights = f"{stem}-int8.param", f"{stem}-int8.bin"
        w, h, ch = (shape[-1], shape[-2], shape[-3]) if len(shape) >= 3 else (224, 224, 3)
        steps += [
            _sh("ncnnoptimize", f"{stem}.ncnn.param", f"{stem}.ncnn.bin", opt_param, opt_bin, "0",
                purpose="fuse layers, fp32 storage (the int8 tools start from fp32)"),
            _sh("ncnn2table", opt_param, opt_bin, "imagelist.txt", f"{stem}.table", "mean=[104,117,123]",
                "norm=[0.017,0.017,0.017]", f"shape=[{w},{h},{ch}]", "pixel=BGR", "thread=4", "method=kl",
                purpose="calibrate activation scales (KL) over the images listed in imagelist.txt"),
            _sh("ncnn2int8", opt_param, opt_bin, param, weights, f"{stem}.table",
                purpose="write the int8 model"),
        ]
        notes.append("imagelist.txt lists calibration images, one path a line (find images/ -type f > "
                     "imagelist.txt; ncnn suggests the validation set); mean/norm/pixel are the docs' "
                     "example: use your model's preprocessing")
    fp16 = c.precision == "fp16"
    steps.append(_py(f"""
import ncnn
import numpy as np

net = ncnn.Net()
net.opt.use_fp16_storage = {fp16}
net.opt.use_fp16_arithmetic = {fp16}
net.load_param({param!r})
net.load_model({weights!r})
with net.create_extractor() as ex:
    ex.input("in0", ncnn.Mat(np.random.rand({', '.join(str(d) for d in shape[1:])}).astype(np.float32)).clone())
    ret, out = ex.extract("out0")
""", f"run it with ncnn's Python binding at {c.precision}"))
    return Recipe(framework=c.framework, precision=c.precision, steps=steps, notes=notes)


# -- TFLite (XNNPACK, GPU delegate, Edge TPU) -----------------------------------------------


def _ai_edge_torch_convert(c: Candidate, tflite_path: str, int8: bool) -> RecipeStep:
    head = f"""
import ai_edge_torch
import torch

model = ...  # your {c.model}, with its trained weights
sample_inputs = (torch.randn({_dims(c)}),)
"""
    if not int8:
        return _py(head + f"""edge_model = ai_edge_torch.convert(model.eval(), sample_inputs)
edge_model.export({tflite_path!r})
""", f"convert {c.model} to TFLite (float weights) with ai-edge-torch")
    return _py(head.replace("import torch\n", """import torch
from ai_edge_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
from ai_edge_torch.quantize.quant_config import QuantConfig
from torch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e
""") + f"""config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
quantizer = PT2EQuantizer().set_global(config)
prepared = prepare_pt2e(torch.export.export(model.eval(), sample_inputs).module(), quantizer)
for sample in [sample_inputs] * 8:  # replace with ~100-500 real, preprocessed inputs
    prepared(*sample)
quantized = convert_pt2e(prepared, fold_quantize=False)
edge_model = ai_edge_torch.convert(quantized, sample_inputs,
                                  quant_config=QuantConfig(pt2e_quantizer=quantizer))
edge_model.export({tflite_path!r})
""", "quantize weights and activations to int8 (PT2E, calibrated) and convert to TFLite")


def _tflite(c: Candidate, stem: str) -> Recipe:
    gpu = c.framework == "tflite-gpu"
    supported = ("fp32", "fp16") if gpu else ("fp32", "fp16", "int8")
    if c.precision not in supported:
        why = "the GPU delegate has no int8 math (quantized models are dequantized to float)" if gpu else ""
        return _none(c, why or f"TFLite's XNNPACK delegate has no {c.precision} mode")
    tflite_path = f"{stem}_{c.precision}.tflite"
    argv = ["benchmark_model", f"--graph={tflite_path}"]
    if gpu:
        argv += ["--use_gpu=true", f"--gpu_precision_loss_allowed={'true' if c.precision == 'fp16' else 'false'}"]
    else:
        argv += ["--num_threads=4", "--use_xnnpack=true"]
        if c.precision == "fp16":
            argv.append("--xnnpack_force_fp16=true")
    notes = []
    if c.precision == "fp16":
        notes.append("fp16 here is a runtime choice on a float model: " + (
            "the GPU delegate's precision-loss-allowed mode" if gpu else
            "XNNPACK's forced fp16 inference (Armv8.2 FP16 cores)"))
    if c.precision == "int8":
        notes.append("is_dynamic=False calibrates static int8 activations; ai-edge-torch's README example uses "
                     "is_dynamic=True (dynamic range: int8 weights, float activations)")
    if not gpu:
        notes.append("--num_threads=4: set it to the cores you give the model")
    return Recipe(framework=c.framework, precision=c.precision, notes=notes, steps=[
        _ai_edge_torch_convert(c, tflite_path, c.precision == "int8"),
        _sh(*argv, purpose="time it with TFLite's benchmark_model"),
    ])


def _edgetpu(c: Candidate, stem: str) -> Recipe:
    if c.precision != "int8":
        return _none(c, "the Edge TPU runs fully 8-bit quantized models only")
    tflite_path = f"{stem}_int8.tflite"
    return Recipe(framework=c.framework, precision=c.precision, steps=[
        _ai_edge_torch_convert(c, tflite_path, True),
        _sh("edgetpu_compiler", "--out_dir", "edgetpu", tflite_path,
            purpose=f"compile for the Edge TPU (writes edgetpu/{stem}_int8_edgetpu.tflite and a .log)"),
    ], notes=["the compiler maps ops up to the first unsupported one; the rest run on the CPU: read the "
              ".log it writes for what stayed off the TPU; run the model with the Edge TPU runtime (libedgetpu)"])


# -- Core ML --------------------------------------------------------------------------------

COREML_TARGETS = {"fp32": "iOS16", "fp16": "iOS16", "w8a16": "iOS16", "int8": "iOS17", "w4a16": "iOS18"}


def _coreml(c: Candidate, stem: str) -> Recipe:
    target = COREML_TARGETS.get(c.precision)
    if target is None:
        return _none(c, f"coremltools has no {c.precision} path here")
    compute = "FLOAT32" if c.precision == "fp32" else "FLOAT16"
    lines = ["import coremltools as ct", "import coremltools.optimize as cto", "import numpy as np", "import torch",
             "", f"model = ...  # your {c.model}, with its trained weights",
             f"traced = torch.jit.trace(model.eval(), torch.rand({_dims(c)}))",
             f"mlmodel = ct.convert(traced, inputs=[ct.TensorType(name=\"input\", shape=({_dims(c)}))],",
             f"                     convert_to=\"mlprogram\", compute_precision=ct.precision.{compute},",
             f"                     minimum_deployment_target=ct.target.{target})"]
    if c.precision == "int8":
        lines += ["sample = np.random.rand(" + _dims(c) + ").astype(np.float32)",
                  "sample_data = [{\"input\": sample}] * 8  # replace with real, preprocessed inputs",
                  "activations = cto.coreml.OptimizationConfig(",
                  "    global_config=cto.coreml.experimental.OpActivationLinearQuantizerConfig(",
                  "        mode=\"linear_symmetric\"))",
                  "mlmodel = cto.coreml.experimental.linear_quantize_activations(mlmodel, activations, sample_data)"]
    if c.precision in ("int8", "w8a16"):
        lines += ["weights = cto.coreml.OptimizationConfig(",
                  "    global_config=cto.coreml.OpLinearQuantizerConfig(mode=\"linear_symmetric\"))",
                  "mlmodel = cto.coreml.linear_quantize_weights(mlmodel, config=weights)"]
    if c.precision == "w4a16":
        lines += ["weights = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(",
                  "    mode=\"linear_symmetric\", dtype=\"int4\", granularity=\"per_block\", block_size=32))",
                  "mlmodel = cto.coreml.linear_quantize_weights(mlmodel, config=weights)"]
    lines.append(f"mlmodel.save({stem + '_' + c.precision + '.mlpackage'!r})")
    notes = {"int8": ["W8A8 runs int8 on the Neural Engine of A17 Pro / M4 only; elsewhere it is dequantized"],
             "w8a16": ["weight-only: smaller and less memory traffic, the compute stays fp16"],
             "w4a16": ["4-bit per-block weights need iOS 18 / macOS 15; the compute stays fp16"]}.get(c.precision, [])
    return Recipe(framework=c.framework, precision=c.precision, notes=notes, steps=[
        _py("\n".join(lines), f"convert {c.model} to a Core ML ML program at {c.precision}")])


# -- ExecuTorch -----------------------------------------------------------------------------


def _executorch(c: Candidate, stem: str) -> Recipe:
    if c.precision not in ("fp32", "fp16", "int8"):
        return _none(c, f"ExecuTorch's XNNPACK backend has no {c.precision} mode (no weight-only quantization)")
    dtype = ", dtype=torch.float16" if c.precision == "fp16" else ""
    lines = ["import torch", "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner",
             "from executorch.exir import to_edge_transform_and_lower"]
    if c.precision == "int8":
        lines += ["from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer",
                  "from torch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e",
                  "from torch.ao.quantization.quantizer.xnnpack_quantizer import get_symmetric_quantization_config"]
    lines += ["", f"model = ...  # your {c.model}, with its trained weights",
              f"model = model.eval(){'.to(torch.float16)' if dtype else ''}",
              f"sample_inputs = (torch.randn({_dims(c)}{dtype}),)"]
    if c.precision == "int8":
        lines += ["quantizer = XNNPACKQuantizer()",
                  "quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))",
                  "prepared = prepare_pt2e(torch.export.export(model, sample_inputs).module(), quantizer)",
                  "for sample in [sample_inputs] * 8:  # replace with ~100-500 real, preprocessed inputs",
                  "    prepared(*sample)", "model = convert_pt2e(prepared)"]
    lines += ["program = to_edge_transform_and_lower(torch.export.export(model, sample_inputs),",
              "                                     partitioner=[XnnpackPartitioner()]).to_executorch()",
              f"with open({stem + '_' + c.precision + '_xnnpack.pte'!r}, \"wb\") as file:",
              "    program.write_to_file(file)"]
    notes = ["fp16: model and inputs are cast to torch.float16 before export; XNNPACK runs fp16 activations"]
    return Recipe(framework=c.framework, precision=c.precision, notes=notes if c.precision == "fp16" else [],
                  steps=[_py("\n".join(lines), f"export and lower {c.model} to XNNPACK at {c.precision}")])


# -- MNN ------------------------------------------------------------------------------------

MNN_CONVERT_FLAGS = {"fp32": (), "fp16": ("--fp16",), "w8a16": ("--weightQuantBits", "8"),
                     "w4a16": ("--weightQuantBits", "4"), "int8": ()}


def _mnn(c: Candidate, stem: str) -> Recipe:
    flags = MNN_CONVERT_FLAGS.get(c.precision)
    if flags is None:
        return _none(c, f"MNN has no {c.precision} mode")
    onnx_path = f"{stem}.onnx"
    converted = f"{stem}_fp32.mnn" if c.precision == "int8" else f"{stem}_{c.precision}.mnn"
    steps = [_onnx_export(c, onnx_path),
             _sh("MNNConvert", "-f", "ONNX", "--modelFile", onnx_path, "--MNNModel", converted, "--bizCode", "biz",
                 *flags, purpose="convert to MNN")]
    notes = {"fp16": ["--fp16 stores fp16 weights; fp16 arithmetic is the runtime's Precision_Low "
                      "(BackendConfig) on Armv8.2 CPUs"],
             "w8a16": ["--weightQuantBits stores int8 weights that are decoded to float at load: smaller file, "
                       "float speed (MNN's convert docs)"],
             "w4a16": ["--weightQuantBits stores 4-bit weights that are decoded to float at load: smaller file, "
                       "float speed (MNN's convert docs)"]}.get(c.precision, [])
    if c.precision == "int8":
        shape = list(c.input_shape) or [1, 3, 224, 224]
        steps += [_py(f"""
import json

config = {{"format": "RGB", "mean": [127.5, 127.5, 127.5],
          "normal": [0.00784314, 0.00784314, 0.00784314],
          "width": {shape[-1]}, "height": {shape[-2]}, "path": "calibration_images/", "used_image_num": 500,
          "feature_quantize_method": "KL", "weight_quantize_method": "MAX_ABS"}}
with open("quant_config.json", "w") as file:
    json.dump(config, file)
""", "write the calibration config (mean/normal: use your model's preprocessing)"),
                  _sh("quantized.out", converted, f"{stem}_int8.mnn", "quant_config.json",
                      purpose="quantize weights and activations to int8 (KL over ~100-1000 images)")]
        notes.append("quantized.out is built with -DMNN_BUILD_QUANTOOLS=ON")
    return Recipe(framework=c.framework, precision=c.precision, steps=steps, notes=notes)


# -- TVM ------------------------------------------------------------------------------------

TVM_TARGETS = {"cpu": ("llvm", "cpu"), "mobile_soc": ("metal", "metal")}


def _tvm(c: Candidate, stem: str, device_class: str) -> Recipe:
    if c.precision not in ("fp32", "fp16", "int8"):
        return _none(c, f"TVM has no {c.precision} path here")
    target, device = TVM_TARGETS.get(device_class, ("cuda", "cuda"))
    onnx_path = f"{stem}.onnx"
    steps = [_onnx_export(c, onnx_path)]
    model_path = onnx_path
    notes = ["tvmc drives TVM's Relay flow, legacy since the Relax ('Unity') rewrite; use a Relay-era release"]
    if c.precision == "int8":
        model_path = f"{stem}_int8.onnx"
        steps.append(_ort_static_int8(c, onnx_path, model_path))
        notes.append("tvmc has no quantization option: it imports the pre-quantized (QDQ) ONNX graph")
    package = f"{stem}_{c.precision}.tar"
    shape = ",".join(str(d) for d in (c.input_shape or [1, 3, 224, 224]))
    mixed = (["--mixed-precision", "--mixed-precision-calculation-type", "float16", "--mixed-precision-acc-type",
              "float32"] if c.precision == "fp16" else [])
    steps += [_sh("tvmc", "compile", "--target", target, "--input-shapes", f"input:[{shape}]", "--output", package,
                  *mixed, model_path, purpose=f"compile for {target} at {c.precision}"),
              _sh("tvmc", "run", "--device", device, "--fill-mode", "random", "--print-time", package,
                  purpose="run and time it (random inputs)")]
    if c.precision == "fp16":
        notes.append("--mixed-precision converts conv2d and dense to fp16 (fp32 accumulation here)")
    return Recipe(framework=c.framework, precision=c.precision, steps=steps, notes=notes)


def _none(c: Candidate, why: str) -> Recipe:
    return Recipe(framework=c.framework, precision=c.precision,
                  notes=[f"no recipe: {why}; see {c.framework}'s own documentation"])


#: device classes whose frameworks run on a GPU (torch device "cuda", llama.cpp offload)
GPU_CLASSES = ("datacenter_gpu", "desktop_gpu", "edge_gpu_soc")


def recipe_for(c: Candidate, request: RecommendRequest | None = None, device_class: str = "datacenter_gpu") -> Recipe:
    """The commands that produce candidate ``c`` (see the module docstring for their sources)."""
    stem = _stem(c.model)
    on_gpu = device_class in GPU_CLASSES
    if c.framework == "tensorrt":
        return _tensorrt(c, stem)
    if c.framework in ORT_PROVIDERS:
        return _onnxruntime(c, stem)
    if c.framework == "openvino":
        return _openvino(c, stem)
    if c.framework in ("pytorch", "torch-compile", "pytorch-cudagraphs"):
        return _pytorch(c, "cuda" if on_gpu else "cpu")
    if c.framework == "vllm":
        return _vllm(c, request)
    if c.framework == "llama-cpp":
        return _llama_cpp(c, request, on_gpu)
    if c.framework == "tensorrt-llm":
        return _tensorrt_llm(c, request)
    if c.framework == "ncnn":
        return _ncnn(c, stem)
    if c.framework in ("tflite-xnnpack", "tflite-gpu"):
        return _tflite(c, stem)
    if c.framework == "tflite-edgetpu":
        return _edgetpu(c, stem)
    if c.framework == "coreml":
        return _coreml(c, stem)
    if c.framework == "executorch":
        return _executorch(c, stem)
    if c.framework == "mnn":
        return _mnn(c, stem)
    if c.framework == "tvm":
        return _tvm(c, stem, device_class)
    if c.framework == "hailort":
        return _none(c, "the Hailo Dataflow Compiler's documentation is behind Hailo's developer-zone login, "
                        "so advisor cannot cite its commands")
    return _none(c, f"advisor has no recipe for {c.framework} yet")


def recipes_for(candidates: list[Candidate], request: RecommendRequest | None = None,
                device_class: str = "datacenter_gpu") -> dict[int, Recipe]:
    """One recipe per ranked candidate, keyed by rank."""
    return {c.rank: recipe_for(c, request, device_class) for c in candidates}


def recipe_markdown(c: Candidate, recipe: Recipe) -> list[str]:
    lines = [f"### #{c.rank} {c.framework} {c.precision}", ""]
    for step in recipe.steps:
        lines += [f"{step.purpose}:", "", f"```{'bash' if step.kind == 'shell' else 'python'}",
                  step.text.rstrip("\n"), "```", ""]
    lines += [f"- {note}" for note in recipe.notes]
    return lines + [""] if recipe.notes else lines


def print_recipes(out: Console, candidates: list[Candidate], recipes: dict[int, Recipe]) -> None:
    """Commands print whole (copyable: never cut or folded by the table width)."""
    for c in candidates:
        recipe = recipes[c.rank]
        out.print(f"\n#{c.rank} {c.framework} {c.precision}", style="bold", markup=False)
        for step in recipe.steps:
            out.print(f"  # {step.purpose}", markup=False, style="dim")
            for line in step.text.rstrip("\n").splitlines():
                out.print(line if step.kind == "python" else f"  {line}", markup=False, soft_wrap=True)
        for note in recipe.notes:
            out.print(f"  note: {note}", markup=False)
