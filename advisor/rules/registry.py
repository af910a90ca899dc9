"""The registry of named rules and their evaluation against one candidate.

Rules live in a fixed tuple (no import-time registration); configs/rules.yaml switches each
on or off and holds its thresholds (typed in advisor.rules.settings). ``$ADVISOR_RULES_CONFIG``
points at another file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from advisor.config import config_path, load_yaml
from advisor.domain.findings import ACTIONS, Finding, excluded, penalty_factor
from advisor.errors import InputError, unknown_name
from advisor.rules import hardware, memory, model_precision, npu, quantization, support
from advisor.rules.base import Rule, RuleContext
from advisor.rules.settings import RulesConfig

__all__ = ["RULES", "RULE_NAMES", "evaluate", "excluded", "penalty_factor", "rules_config", "rules_config_path"]

RULES: tuple[Rule, ...] = (
    Rule("framework_device_class", support.framework_device_class),
    Rule("npu_runtime", support.npu_runtime),
    Rule("model_family", support.model_family, frozenset({"profile"})),
    Rule("model_precision", model_precision.model_precision, frozenset({"profile"})),
    Rule("precision_support", support.precision_support),
    Rule("hardware_precision", hardware.hardware_precision),
    Rule("int8_calibration", quantization.int8_calibration),
    Rule("depthwise_int8", quantization.depthwise_int8, frozenset({"profile"})),
    Rule("low_bit_small_model", quantization.low_bit_small_model, frozenset({"profile"})),
    Rule("npu_fallback", npu.npu_fallback, frozenset({"profile"})),
    Rule("memory_fit", memory.memory_fit, frozenset({"prediction"})),
)
RULE_NAMES = tuple(r.name for r in RULES)


def rules_config_path() -> Path:
    return config_path("rules.yaml", "ADVISOR_RULES_CONFIG")


@lru_cache(maxsize=4)
def _load(path: str) -> RulesConfig:
    data = load_yaml(Path(path))
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise InputError(f"{path}: expected a 'rules' mapping")
    for name, settings in rules.items():
        if name not in RULE_NAMES:
            raise InputError(f"{path}: {unknown_name('rule', str(name), RULE_NAMES)}")
        if settings is not None and not isinstance(settings, dict):
            raise InputError(f"{path}: rules.{name}: expected a mapping")
    try:
        return RulesConfig.model_validate({name: settings or {} for name, settings in rules.items()})
    except ValidationError as exc:
        raise InputError(f"{path}: {_field_error(exc)}") from None


def _field_error(exc: ValidationError) -> str:
    """"rules.<rule>.<key>: what is wrong", naming the value where that helps."""
    err = exc.errors()[0]
    where = "rules." + ".".join(str(p) for p in err["loc"])
    if err["type"] == "literal_error":
        return f"{where}: '{err['input']}' is not one of {', '.join(ACTIONS)}"
    if err["type"] == "bool_type":
        return f"{where}: expected true or false"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown setting"
    return f"{where}: {err['msg']}"


def rules_config(path: Path | None = None) -> RulesConfig:
    """Settings per rule; rules missing from the file are on with the defaults."""
    return _load(str(path or rules_config_path()))


def evaluate(ctx: RuleContext, config: RulesConfig | None = None, *, stage: str = "all") -> list[Finding]:
    """Findings of every enabled rule whose inputs the context has.

    Stages let the recommender filter cheaply before it predicts: ``"support"`` runs the rules
    that need neither profile nor prediction, ``"profile"`` those that need the profile only,
    ``"prediction"`` those that need the prediction, ``"all"`` every rule whose inputs are there.
    """
    config = rules_config() if config is None else config
    found: list[Finding] = []
    for rule in RULES:
        settings = config.for_rule(rule.name)
        if not settings.enabled or not _in_stage(rule, stage):
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
