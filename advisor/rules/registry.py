"""The registry of named rules and their evaluation against one candidate.

Rules live in a fixed tuple (no import-time registration); configs/rules.yaml switches each
on or off and holds its thresholds. ``$ADVISOR_RULES_CONFIG`` points at another file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from advisor.errors import InputError, unknown_name
from advisor.predict.constants import config_path, load_yaml
from advisor.recommend.types import RuleFinding
from advisor.rules import hardware, memory, npu, quantization, support
from advisor.rules.base import EXCLUDE, PENALTY, WARNING, Rule, RuleContext

RULES: tuple[Rule, ...] = (
    Rule("framework_device_class", support.framework_device_class),
    Rule("npu_runtime", support.npu_runtime),
    Rule("model_family", support.model_family, frozenset({"profile"})),
    Rule("precision_support", support.precision_support),
    Rule("hardware_precision", hardware.hardware_precision),
    Rule("int8_calibration", quantization.int8_calibration),
    Rule("depthwise_int8", quantization.depthwise_int8, frozenset({"profile"})),
    Rule("low_bit_small_model", quantization.low_bit_small_model, frozenset({"profile"})),
    Rule("npu_fallback", npu.npu_fallback, frozenset({"profile"})),
    Rule("memory_fit", memory.memory_fit, frozenset({"prediction"})),
)
RULE_NAMES = tuple(r.name for r in RULES)
ACTIONS = (EXCLUDE, PENALTY, WARNING)
#: settings whose value is an action
ACTION_KEYS = frozenset({"action", "cpu_fp16_without_arith"})


def rules_config_path() -> Path:
    return config_path("rules.yaml", "ADVISOR_RULES_CONFIG")


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict[str, Any]]:
    data = load_yaml(Path(path))
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise InputError(f"{path}: expected a 'rules' mapping")
    out: dict[str, dict[str, Any]] = {}
    for name, settings in rules.items():
        if name not in RULE_NAMES:
            raise InputError(f"{path}: {unknown_name('rule', str(name), RULE_NAMES)}")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise InputError(f"{path}: rules.{name}: expected a mapping")
        if not isinstance(settings.get("enabled", True), bool):
            raise InputError(f"{path}: rules.{name}.enabled: expected true or false")
        for key, value in settings.items():
            if key in ACTION_KEYS:
                if value not in ACTIONS:
                    raise InputError(f"{path}: rules.{name}.{key}: '{value}' is not one of {', '.join(ACTIONS)}")
        out[name] = settings
    return out


def rules_config(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Settings per rule name; rules missing from the file are on with defaults."""
    return _load(str(path or rules_config_path()))


def evaluate(
    ctx: RuleContext, config: dict[str, dict[str, Any]] | None = None, *, stage: str = "all"
) -> list[RuleFinding]:
    """Findings of every enabled rule whose inputs the context has.

    Stages let the recommender filter cheaply before it predicts: ``"support"`` runs the rules
    that need neither profile nor prediction, ``"profile"`` those that need the profile only,
    ``"prediction"`` those that need the prediction, ``"all"`` every rule whose inputs are there.
    """
    config = rules_config() if config is None else config
    found: list[RuleFinding] = []
    for rule in RULES:
        settings = config.get(rule.name, {})
        if not settings.get("enabled", True) or not _in_stage(rule, stage):
            continue
        if "profile" in rule.needs and ctx.profile is None:
            continue
        if "prediction" in rule.needs and ctx.prediction is None:
            continue
        new = rule.func(ctx, settings)
        found.extend(new)
        if rule.name in ("framework_device_class", "npu_runtime") and excluded(new):
            break  # nothing else matters for a framework that does not run on the device
    return found


def _in_stage(rule: Rule, stage: str) -> bool:
    if stage == "support":
        return not rule.needs
    if stage == "profile":
        return rule.needs == frozenset({"profile"})
    if stage == "prediction":
        return "prediction" in rule.needs
    return True


def excluded(findings: list[RuleFinding]) -> bool:
    return any(f.action == EXCLUDE for f in findings)


def penalty_factor(findings: list[RuleFinding]) -> float:
    factor = 1.0
    for f in findings:
        if f.action == PENALTY:
            factor *= f.penalty
    return factor
