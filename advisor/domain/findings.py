"""What a rule (or a user's budget) says about one candidate, kept as structure.

A ``Finding`` names the rule, the action it asks for, a sentence for people and the figures
behind it (``details``). The sentences shown to people ("message [rule]") are derived here,
at rendering time, never parsed back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal["exclude", "penalty", "warning"]
EXCLUDE: Action = "exclude"
PENALTY: Action = "penalty"
WARNING: Action = "warning"
ACTIONS: tuple[str, ...] = (EXCLUDE, PENALTY, WARNING)


class Finding(BaseModel):
    """One rule's verdict on one candidate.

    ``source`` tells a rule of configs/rules.yaml from a user's constraint (--max-latency-ms):
    only rule findings cite their rule name in the sentence people read.
    """

    rule: str
    action: Action
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    penalty: float = 1.0  # latency multiplier for "penalty"
    source: Literal["rule", "constraint"] = "rule"

    @property
    def cited(self) -> str:
        """The sentence with the rule that said it: "message [rule]" (constraints: the message)."""
        return self.message if self.source == "constraint" else f"{self.message} [{self.rule}]"

    @property
    def excludes(self) -> bool:
        return self.action == EXCLUDE


def excluded(findings: list[Finding]) -> bool:
    return any(f.excludes for f in findings)


def penalty_factor(findings: list[Finding]) -> float:
    """The product of every penalty's latency multiplier."""
    factor = 1.0
    for f in findings:
        if f.action == PENALTY:
            factor *= f.penalty
    return factor
