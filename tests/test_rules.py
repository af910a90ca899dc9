"""Each rule on hand-built platforms/frameworks: what it excludes, warns about, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.domain.specs import PrecisionSupport
from advisor.errors import InputError
from advisor.predict.engine import predict
from advisor.rules.base import RuleContext
from advisor.rules.registry import RULE_NAMES, evaluate, excluded, penalty_factor, rules_config
from factories_predict import SRC, conv_op, cpu, framework, gemm_op, gpu, pointwise, profile


def actions(findings):
    return {(f.rule, f.action) for f in findings}


def test_every_rule_has_a_docstring_citing_its_fact() -> None:
    from advisor.rules.registry import RULES

    for rule in RULES:
        assert len(rule.doc) > 60, rule.name
        assert "Fact" in rule.doc, rule.name


def test_framework_must_run_on_the_device_class() -> None:
    ctx = RuleContext(platform=cpu(), framework=framework(id="gpu-only"), scheme="fp32")
    (f,) = evaluate(ctx)
    assert f.action == "exclude" and "gpu-only does not run on cpu devices like toy-cpu" in f.message


def test_int8_excluded_on_a_gpu_without_int8_names_the_missing_support() -> None:
    nano = gpu("jetson-nano", int8=None, cc="5.3", device_class="edge_gpu_soc")
    fw = framework(id="tensorrt")
    fw = fw.model_copy(update={"support": [
        PrecisionSupport(device_class="edge_gpu_soc", precision="fp16", source=SRC),
        PrecisionSupport(device_class="edge_gpu_soc", precision="int8", min_compute_capability="6.1",
                         excluded_platforms=["jetson-tx2"], source=SRC),
    ]})
    findings = evaluate(RuleContext(platform=nano, framework=fw, scheme="int8"))
    assert excluded(findings)
    reasons = " ".join(f.message for f in findings)
    assert "no int8 support" in reasons and "jetson-nano" in reasons
    assert "6.1" in reasons  # the support matrix condition is quoted
    assert not excluded(evaluate(RuleContext(platform=nano, framework=fw, scheme="fp16")))


def test_excluded_platform_in_support_entry() -> None:
    tx2 = gpu("jetson-tx2", int8=None, cc="6.2", device_class="edge_gpu_soc")
    fw = framework().model_copy(update={"support": [
        PrecisionSupport(device_class="edge_gpu_soc", precision="int8", min_compute_capability="6.1",
                         excluded_platforms=["jetson-tx2"], note="sm_62 has no int8 in TensorRT", source=SRC)]})
    (f, *_) = evaluate(RuleContext(platform=tx2, framework=fw, scheme="int8"))
    assert f.rule == "precision_support" and "jetson-tx2 is excluded" in f.message and "no int8 support" in f.message


@pytest.mark.parametrize(
    ("scheme", "cc", "needle"),
    [("fp8", "8.0", "Ada/Hopper"), ("bf16", "7.5", "Ampere"), ("tf32", "7.2", "Ampere")],
)
def test_precisions_need_the_right_generation(scheme: str, cc: str, needle: str) -> None:
    old = gpu("old-gpu", cc=cc)
    fw = framework(precisions=("fp8", "bf16", "tf32", "fp16"))
    findings = evaluate(RuleContext(platform=old, framework=fw, scheme=scheme))
    assert ("hardware_precision", "exclude") in actions(findings)
    assert any(needle in f.message for f in findings)


def test_fp8_allowed_on_hopper() -> None:
    h = gpu("h200", cc="9.0")
    h.matrix_peaks["fp8"] = h.matrix_peaks["int8"]
    fw = framework(precisions=("fp8",))
    assert not excluded(evaluate(RuleContext(platform=h, framework=fw, scheme="fp8")))


def test_fp16_on_a_cpu_without_fp16_arithmetic_warns() -> None:
    fw = framework(classes=("cpu",), precisions=("fp32", "fp16"))
    findings = evaluate(RuleContext(platform=cpu("raspberry-pi-4"), framework=fw, scheme="fp16"))
    assert actions(findings) == {("hardware_precision", "warning")}
    assert "no fp16 arithmetic" in findings[0].message
    assert evaluate(RuleContext(platform=cpu("pi5", features=["fp16_arith"]), framework=fw, scheme="fp16")) == []


def test_memory_fit_gives_both_sizes_in_gb() -> None:
    small = gpu("rtx-4090", capacity_gb=24, device_class="desktop_gpu")
    p = profile([gemm_op(1, 8192, 8192)], params=70_000_000_000)
    pred = predict(p, small, framework(), "fp16")
    findings = evaluate(RuleContext(platform=small, framework=framework(), scheme="fp16", profile=p, prediction=pred))
    (f,) = [f for f in findings if f.rule == "memory_fit"]
    assert f.action == "exclude"
    assert "140.0 GB" in f.message and "24 GB" in f.message
    # the same figures as structure: 70 G params x 2 bytes; desktop GPUs may use 0.9 of 24 GB
    assert f.details["need_gb"] == pytest.approx(140.0, rel=0.01)
    assert f.details["capacity_gb"] == 24 and f.details["usable_gb"] == pytest.approx(21.6)


def test_static_int8_needs_calibration_data() -> None:
    f = evaluate(RuleContext(platform=gpu(), framework=framework(int8_calibration="required"), scheme="int8"))
    assert ("int8_calibration", "warning") in actions(f)
    f = evaluate(RuleContext(platform=gpu(), framework=framework(int8_calibration="none"), scheme="int8"))
    assert ("int8_calibration", "warning") not in actions(f)


def test_depthwise_heavy_int8_warns_with_citation() -> None:
    ops = [conv_op(32, 32, 56, depthwise=True, path=f"dw{i}") for i in range(3)] + [conv_op(32, 64, 56)]
    p = profile(ops)
    f = evaluate(RuleContext(platform=gpu(), framework=framework(int8_calibration="none"), scheme="int8", profile=p))
    (w,) = [x for x in f if x.rule == "depthwise_int8"]
    assert "1806.08342" in w.message and "75%" in w.message
    dense = profile([conv_op(32, 64, 56)])
    assert not [x for x in evaluate(RuleContext(platform=gpu(), framework=framework(), scheme="int8", profile=dense))
                if x.rule == "depthwise_int8"]


def test_four_bit_weights_on_small_models_warn() -> None:
    p = profile([gemm_op(1, 1000, 1000)], params=7_000_000)
    f = evaluate(RuleContext(platform=gpu(), framework=framework(), scheme="w4a16", profile=p))
    (w,) = [x for x in f if x.rule == "low_bit_small_model"]
    assert "2212.09720" in w.message and "7.0 M" in w.message
    big = profile([gemm_op(1, 1000, 1000)], params=7_000_000_000)
    assert not [x for x in evaluate(RuleContext(platform=gpu(), framework=framework(), scheme="w4a16", profile=big))
                if x.rule == "low_bit_small_model"]


def test_edge_tpu_falls_back_after_first_unsupported_op() -> None:
    tpu_fw = framework(id="tflite-edgetpu", classes=("npu",), precisions=("int8",))
    tpu = gpu("coral-edge-tpu", device_class="npu").model_copy(update={"features": ["edgetpu"]})
    ops = [conv_op(3, 16, 112, path="stem"), pointwise(16 * 112 * 112, op="aten.gelu", path="act"),
           conv_op(16, 16, 112, path="body")]
    f = evaluate(RuleContext(platform=tpu, framework=tpu_fw, scheme="int8", profile=profile(ops)))
    (p,) = [x for x in f if x.rule == "npu_fallback"]
    assert p.action == "penalty" and "gelu" in p.message and "'act'" in p.message
    share = ops[2].macs / (ops[0].macs + ops[2].macs)
    assert p.penalty == pytest.approx(1 + share * 10)
    assert penalty_factor(f) == pytest.approx(p.penalty)


def test_rules_can_be_switched_off(tmp_path: Path) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("rules:\n  framework_device_class: {enabled: false}\n  precision_support: {enabled: false}\n")
    ctx = RuleContext(platform=cpu(), framework=framework(id="gpu-only"), scheme="fp32")
    assert evaluate(ctx, rules_config(cfg)) == []


def test_bad_rules_config_names_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("rules:\n  memory_fitt: {enabled: true}\n")
    with pytest.raises(InputError, match="unknown rule 'memory_fitt'.*memory_fit"):
        rules_config(cfg)
    cfg.write_text("rules:\n  hardware_precision: {cpu_fp16_without_arith: maybe}\n")
    with pytest.raises(InputError, match="cpu_fp16_without_arith: 'maybe'"):
        rules_config(cfg)


def test_registry_names_are_unique() -> None:
    assert len(set(RULE_NAMES)) == len(RULE_NAMES)


def test_npu_runs_only_its_vendor_runtime() -> None:
    coral = gpu("coral-edge-tpu", device_class="npu").model_copy(update={"features": ["edgetpu", "int8_only"]})
    hailo_rt = framework(id="hailort", classes=("npu",), precisions=("int8",))
    edgetpu_rt = framework(id="tflite-edgetpu", classes=("npu",), precisions=("int8",))
    (f,) = evaluate(RuleContext(platform=coral, framework=hailo_rt, scheme="int8"), stage="support")
    assert f.rule == "npu_runtime" and "hailo" in f.message
    assert not excluded(evaluate(RuleContext(platform=coral, framework=edgetpu_rt, scheme="int8"), stage="support"))


def test_llm_only_runtimes_and_weight_only_schemes_need_an_llm() -> None:
    cnn = profile([conv_op(3, 16, 32)])
    llm = profile([gemm_op(1, 4096, 4096)], phase="decode", context=128)
    vllm = framework(id="vllm")
    assert ("model_family", "exclude") in actions(evaluate(RuleContext(gpu(), vllm, "fp16", "cnn", profile=cnn)))
    assert ("model_family", "exclude") not in actions(evaluate(RuleContext(gpu(), vllm, "fp16", "llm", profile=llm)))
    assert ("model_family", "exclude") in actions(evaluate(RuleContext(gpu(), framework(), "w4a16", "cnn", profile=cnn)))
