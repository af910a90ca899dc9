"""onnxruntime's int8 non-GEMM nodes are priced at the fp32 vector figure they were measured
against, whatever int8 vector peak the platform has (advisor.predict.kernels.Kernel.priced_at).

Why: the per-element costs in QUANTIZED_NODE_OPS are time x fp32 vector figure; on a CPU with
an int8 dot-product peak (VNNI) pricing them at that peak made every QLinearAdd/Sigmoid/im2col
~10x too cheap."""

from __future__ import annotations

import pytest

from advisor.domain.specs import Fusion
from advisor.predict.engine import predict
from advisor.predict.kernels import QUANTIZED_NODE_OPS
from factories_predict import SRC, cpu, framework, peak, pointwise, profile


def _ort_like():
    fw = framework("ort-like", classes=("cpu",), per_kernel_us=0.0, per_call_us=0.0, precisions=("fp32", "int8"))
    fusion = Fusion(bn_folding=True, epilogue_fusion=True, attention_fusion=False, elementwise_fusion=False,
                    quantized_unfused=["add"], source=SRC)
    return fw.model_copy(update={"fusion": fusion})


def test_a_quantized_add_takes_the_fp32_vector_time_not_the_int8_peak() -> None:
    fp32_tflops, int8_tflops = 0.1, 1.6
    base = cpu(fp32=fp32_tflops, bandwidth=1e6)  # bandwidth far away: compute decides
    platform = base.model_copy(update={"vector_peaks": {**base.vector_peaks, "int8": peak(int8_tflops, "vector")}})
    n = 1 << 20  # large: the vector utilisation is 1 on 4 cores
    prof = profile([pointwise(n, op="aten.add", inputs=2)])
    pred = predict(prof, platform, _ort_like(), "int8")
    [layer] = [lay for lay in pred.layers if lay.kind == "qlinear_add"]
    expected_ms = QUANTIZED_NODE_OPS["qlinear_add"] * n / (fp32_tflops * 1e12) * 1e3
    assert layer.compute_ms == pytest.approx(expected_ms, rel=1e-6)
    # the same add in an fp32 model is an ordinary kernel at its own FLOPs (1 per element)
    fp32_layer = predict(prof, platform, _ort_like(), "fp32").layers[0]
    assert fp32_layer.compute_ms == pytest.approx(n / (fp32_tflops * 1e12) * 1e3, rel=1e-6)
