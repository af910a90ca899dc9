"""What the rules say about one predicted combination, as notes on the prediction.

`advisor predict` (and POST /v1/predict) show every finding of every enabled rule first among
the prediction's warnings; the predictor itself knows nothing of the rules, so this sits
one layer above it.
"""

from __future__ import annotations

from advisor.predict.api import PredictedCase
from advisor.predict.types import Prediction
from advisor.rules.base import RuleContext
from advisor.rules.registry import evaluate
from advisor.rules.settings import RulesConfig


def with_rule_notes(case: PredictedCase, config: RulesConfig | None = None) -> Prediction:
    """The prediction with one warning per finding, "action: message [rule]", before its own."""
    ctx = RuleContext(
        platform=case.platform, framework=case.framework, scheme=case.scheme, model=case.workload.model,
        profile=case.profile, prediction=case.prediction,
    )
    notes = [f"{f.action}: {f.cited}" for f in evaluate(ctx, config)]
    return case.prediction.model_copy(update={"warnings": notes + case.prediction.warnings})
