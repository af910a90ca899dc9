"""What a quantization scheme costs beyond narrower bytes, per kernel.

Why: a low-bit scheme is not only "fewer bytes". Real runtimes (see docs/predictor.md,
section 2, "Scheme costs"):

* read the KV cache at its own dtype, which is not the weight scheme's (``kv_cache_reads``);
* keep some layers at 16-bit (the LM head under vLLM and TensorRT-LLM): those read 16-bit
  weights and compute at the activation precision (``float_layer_indices``);
* quantize each matmul's input in a kernel of its own in some runtimes (vLLM W8A8,
  llama.cpp CUDA's q8_1 blocks): an extra pass over the activations (``quantize_kernels``);
* dequantize low-bit weights inside mixed-input GEMMs (Marlin, tinygemm, ggml mmvq):
  ALU work per weight, repeated for every block of rows of the product (``dequant_flops``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from advisor.domain.specs import Fusion
from advisor.precision import BYTES_PER_ELEMENT, SchemeSpec
from advisor.predict.constants import QuantizationConstants
from advisor.predict.kernels import Kernel
from advisor.profiling.types import Category


def kv_cache_reads(kernels: list[Kernel], kv_cache_elems: int) -> list[int]:
    """KV-cache elements each kernel reads (decode profiles).

    The profile counts the cache as ordinary inputs of the attention products (the products
    of two activations); the cache is all but the query, so it is spread over those kernels in
    proportion to their inputs, never more than a kernel reads."""
    reads = [0] * len(kernels)
    if kv_cache_elems <= 0:
        return reads
    attention = [i for i, k in enumerate(kernels) if k.activation_matmul and k.input_elems > 0]
    total = sum(kernels[i].input_elems for i in attention)
    if not total:
        return reads
    for i in attention:
        reads[i] = min(kernels[i].input_elems, round(kv_cache_elems * kernels[i].input_elems / total))
    return reads


def _weighted_matmuls(kernels: list[Kernel]) -> list[int]:
    return [i for i, k in enumerate(kernels) if k.matmul and k.scheme_weight_elems > 0]


def float_layer_indices(kernels: list[Kernel], fusion: Fusion, spec: SchemeSpec) -> set[int]:
    """Kernels a runtime keeps at 16-bit under a quantized scheme (``fusion.float_layers``)."""
    if spec.family == "float" or not fusion.float_layers:
        return set()
    weighted = _weighted_matmuls(kernels)
    if not weighted:
        return set()
    chosen = set()
    if "first" in fusion.float_layers:
        chosen.add(weighted[0])
    if "last" in fusion.float_layers:
        chosen.add(weighted[-1])
    return chosen


def _dequantized_copy(k: Kernel, spec: SchemeSpec) -> list[Kernel]:
    """A weight-dequantize kernel (reads the low-bit weights, writes them at 2 bytes; 2
    operations per weight: convert, scale) and the GEMM on that 16-bit copy: it reads 2-byte
    weights and dequantizes nothing itself (``scheme_weight_elems`` 0: no ``dequant_flops``)."""
    n = k.scheme_weight_elems
    dequant = Kernel(
        name=k.name, kind="dequantize_weight", category=Category.elementwise, ops=[],
        flops=2 * n, weight_elems=0, input_elems=n, output_elems=n, parallel_work=n, gemm_mnk=None,
        fixed_bytes=n * (spec.weight_bytes + BYTES_PER_ELEMENT[spec.float_dtype]),
    )
    width = BYTES_PER_ELEMENT[spec.float_dtype]
    ops = [op.model_copy(update={"stored_weight_bytes": op.weight_elems * width})
           if getattr(op, "stored_weight_bytes", None) is None and op.weight_elems else op for op in k.ops]
    return [dequant, replace(k, ops=ops)]


def quantize_kernels(kernels: list[Kernel], fusion: Fusion, spec: SchemeSpec, skip: set[int]) -> list[Kernel]:
    """``kernels`` with a quantize kernel before every quantized matmul whose runtime runs it
    separately (``fusion.activation_quantize_kernels`` lists the scheme's family), and, where
    the runtime sends GEMMs of more than ``fusion.weight_dequantize_min_rows`` rows to a 16-bit
    GEMM on dequantized weights, the dequantize kernel and that GEMM in place of the
    mixed-input one (``_dequantized_copy``).

    The quantize kernel reads the matmul's activation input at the model's float width (the
    runtime keeps activations in 16-bit between layers), writes it at 1 byte per element (int8/fp8/q8_1 blocks; the per-row or per-block scales are under
    3% of that) and does 2 operations per element (scale, round)."""
    quantize = spec.family in fusion.activation_quantize_kernels
    min_rows = fusion.weight_dequantize_min_rows if spec.weight_only else None
    if not quantize and min_rows is None:
        return kernels
    out: list[Kernel] = []
    for i, k in enumerate(kernels):
        low_bit = k.matmul and k.scheme_weight_elems > 0 and i not in skip
        if low_bit and min_rows is not None and k.gemm_mnk is not None and k.gemm_mnk[0] > min_rows:
            out.extend(_dequantized_copy(k, spec))
            continue
        if quantize and low_bit and k.input_elems > 0:
            n = k.input_elems
            out.append(Kernel(
                name=k.name, kind="quantize_input", category=Category.elementwise, ops=[],
                flops=2 * n, weight_elems=0, input_elems=n, output_elems=n, parallel_work=n, gemm_mnk=None,
                fixed_bytes=n * (BYTES_PER_ELEMENT[spec.float_dtype] + 1.0),
            ))
        out.append(k)
    return out


def dequant_flops(kernel: Kernel, spec: SchemeSpec, c: QuantizationConstants) -> float:
    """ALU operations a mixed-input GEMM spends turning low-bit weights into its compute type.

    Each weight is unpacked, offset and scaled (``dequant_ops_per_weight``) once for every
    block of ``dequant_rows_per_pass`` rows of the product (the tile rows sharing the
    dequantized weights in registers/shared memory)."""
    if not spec.weight_only or not kernel.matmul or kernel.scheme_weight_elems == 0:
        return 0.0
    rows = kernel.gemm_mnk[0] if kernel.gemm_mnk else 1
    passes = max(1, math.ceil(rows / c.dequant_rows_per_pass))
    return float(kernel.scheme_weight_elems) * c.dequant_ops_per_weight * passes
