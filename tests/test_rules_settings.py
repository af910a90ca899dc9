"""The rules' typed thresholds: code defaults equal configs/rules.yaml, bad values are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.config import CONFIG_DIR
from advisor.errors import InputError
from advisor.rules.registry import RULE_NAMES, rules_config
from advisor.rules.settings import RulesConfig

SHIPPED = CONFIG_DIR / "rules.yaml"


def _plain(value):
    """YAML lists and code tuples compare equal; ints and floats by value."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_every_default_is_the_value_the_shipped_yaml_sets() -> None:
    shipped = yaml.safe_load(SHIPPED.read_text())["rules"]
    defaults = RulesConfig().model_dump()
    assert set(shipped) == set(defaults) == set(RULE_NAMES)
    for rule, block in shipped.items():
        # every setting the code knows is written out in the YAML, with the same value
        assert set(block) == set(defaults[rule]), rule
        for key, value in block.items():
            assert _plain(defaults[rule][key]) == _plain(value), f"{rule}.{key}"


def test_the_shipped_file_loads_to_the_defaults() -> None:
    assert rules_config(SHIPPED) == RulesConfig()


def test_memory_warning_threshold_is_the_yaml_value() -> None:
    # the code said 0.8 while the shipped YAML (what ran) said 0.9
    assert RulesConfig().memory_fit.warn_fraction == 0.9
    assert rules_config(SHIPPED).memory_fit.usable("jetson-like-unknown-class") == 0.9
    assert rules_config(SHIPPED).memory_fit.usable("edge_gpu_soc") == 0.75


def test_a_partial_file_gets_the_defaults_for_what_it_leaves_out(tmp_path: Path) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("rules:\n  memory_fit: {warn_fraction: 0.5}\n  depthwise_int8:\n")
    loaded = rules_config(cfg)
    assert loaded.memory_fit.warn_fraction == 0.5
    assert loaded.memory_fit.usable_fraction == RulesConfig().memory_fit.usable_fraction
    assert loaded.depthwise_int8 == RulesConfig().depthwise_int8
    assert loaded.npu_fallback.cpu_slowdown == 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  memory_fit: {warn_fractoin: 0.5}\n", r"rules\.memory_fit\.warn_fractoin: unknown setting"),
        ("rules:\n  memory_fit: {warn_fraction: lots}\n", r"rules\.memory_fit\.warn_fraction: "),
        ("rules:\n  memory_fit: {usable_fraction: {gpu: 0.5}}\n", r"'gpu' is not a device class"),
        ("rules:\n  depthwise_int8: {enabled: yes please}\n", r"rules\.depthwise_int8\.enabled: expected true or false"),
        ("rules:\n  npu_fallback: [a, b]\n", r"rules\.npu_fallback: expected a mapping"),
    ],
)
def test_bad_values_name_the_file_and_the_setting(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        rules_config(cfg)
    assert str(cfg) in str(info.value)
