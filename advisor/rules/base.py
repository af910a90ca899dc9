"""What a rule sees and returns.

A rule is a plain function ``(ctx, settings) -> list[RuleFinding]``; ``settings`` is its
block from configs/rules.yaml (thresholds). Rules that need the predicted memory or the
profile say so (``needs``) so the recommender runs the cheap support rules before predicting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from advisor.domain.specs import FrameworkSpec, PlatformSpec
from advisor.predict.types import Prediction
from advisor.profiling.types import Profile
from advisor.recommend.types import RuleFinding

EXCLUDE, PENALTY, WARNING = "exclude", "penalty", "warning"


@dataclass(frozen=True)
class RuleContext:
    platform: PlatformSpec
    framework: FrameworkSpec
    scheme: str
    model: str = ""
    profile: Profile | None = None
    prediction: Prediction | None = None


RuleFunc = Callable[[RuleContext, dict[str, Any]], list[RuleFinding]]


@dataclass(frozen=True)
class Rule:
    name: str
    func: RuleFunc
    needs: frozenset[str] = frozenset()  # subset of {"profile", "prediction"}

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()


def finding(rule: str, action: str, reason: str, penalty: float = 1.0) -> list[RuleFinding]:
    return [RuleFinding(rule=rule, action=action, reason=reason, penalty=penalty)]
