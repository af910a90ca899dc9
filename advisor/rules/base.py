"""What a rule sees and returns.

A rule is a plain function ``(ctx, settings) -> list[Finding]``; ``settings`` is its typed
block of configs/rules.yaml (advisor.rules.settings). Rules that need the predicted memory or
the profile say so (``needs``) so the recommender runs the cheap support rules before
predicting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from advisor.domain.findings import EXCLUDE, PENALTY, WARNING, Action, Finding
from advisor.domain.specs import FrameworkSpec, PlatformSpec
from advisor.predict.types import Prediction
from advisor.profiling.types import Profile

__all__ = ["EXCLUDE", "PENALTY", "WARNING", "Rule", "RuleContext", "RuleFunc", "finding"]


@dataclass(frozen=True)
class RuleContext:
    platform: PlatformSpec
    framework: FrameworkSpec
    scheme: str
    model: str = ""
    profile: Profile | None = None
    prediction: Prediction | None = None


RuleFunc = Callable[[RuleContext, Any], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    func: RuleFunc
    needs: frozenset[str] = frozenset()  # subset of {"profile", "prediction"}

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()


def finding(
    rule: str, action: Action, message: str, penalty: float = 1.0, **details: Any
) -> list[Finding]:
    """A rule's single finding, with the figures behind it as ``details``."""
    return [Finding(rule=rule, action=action, message=message, penalty=penalty, details=details)]
