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
  (docs.pytorch.org/ao, torchao.quantization).

A framework without a recipe here gets an empty one that says so; nothing is invented.
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
    return Recipe(framework=c.framework, precision=c.precision, notes=notes, steps=[
        _onnx_export(c, onnx_path),
        _sh(*argv, purpose=f"build and time the {c.precision} engine"),
    ])


# -- ONNX Runtime ---------------------------------------------------------------------------

ORT_PROVIDERS = {"onnxruntime-cpu": "CPUExecutionProvider", "onnxruntime-cuda": "CUDAExecutionProvider",
                 "onnxruntime-tensorrt": "TensorrtExecutionProvider"}


def _onnxruntime(c: Candidate, stem: str) -> Recipe:
    onnx_path = f"{stem}.onnx"
    provider = ORT_PROVIDERS[c.framework]
    steps = [_onnx_export(c, onnx_path)]
    run_path = onnx_path
    notes: list[str] = []
    if c.precision == "int8":
        run_path = f"{stem}_int8.onnx"
        steps.append(_py(f"""
import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class Calibration(CalibrationDataReader):
    def __init__(self, samples):
        self.samples = iter(samples)

    def get_next(self):
        sample = next(self.samples, None)
        return None if sample is None else {{"input": sample}}


samples = [np.random.rand({', '.join(str(d) for d in c.input_shape) or '1, 3, 224, 224'}).astype(np.float32)
           for _ in range(8)]  # replace with ~100-500 real, preprocessed inputs
quantize_static({onnx_path!r}, {run_path!r}, Calibration(samples), quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
""", "quantize weights and activations to int8 (static, QDQ) from calibration inputs"))
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
