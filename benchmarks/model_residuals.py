"""Is the error within one campaign a property of the model, or of the campaign? A diagnostic.

    python benchmarks/model_residuals.py      # seconds once benchmarks/fit.py cached the profiles

The prediction intervals stay wide because, within one campaign (one board, build and
settings), the roofline model's error varies from model to model (docs/predictor.md, section
12). If that scatter were noise of the campaign, nothing but a wider interval could cover it. If
it is a property of the model on that board and framework, a second campaign that timed the same
models on the same board with the same framework and precision shows the same pattern, and a
structural fix to the predictor (one that treats those models' kernels differently) could
remove it on boards no one has timed.

For every (platform, framework, precision) that two or more sources timed on at least
``MIN_SHARED`` common models, from the uncorrected predictions of benchmarks.fit.predict_rows
(no fitted figure in between), it prints each model's measured / predicted per source, the
correlation of the two sources' log ratios over the shared models, and how much of each source's
scatter the other source's ratio for the same model explains (1 - var(log a - log b) / (var(log a)
+ var(log b)): 1 when the two campaigns see the same per-model error, 0 when unrelated).

It is a diagnostic, not a report: nothing it prints is used by the predictor.
"""

from __future__ import annotations

import collections
import itertools
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import narrowest_window  # noqa: E402
from benchmarks.fit import model_name, predict_rows  # noqa: E402

#: fewest models two sources must share on one platform, framework and precision to be compared
MIN_SHARED = 5

#: (platform, framework, precision)
Setting = tuple[str, str, str]


@dataclass(frozen=True)
class Agreement:
    """Two sources' log(measured / predicted) over the models both timed in one setting."""

    sources: tuple[str, str]
    models: tuple[str, ...]
    log_ratios: tuple[tuple[float, float], ...]  # per model: (first source, second source)

    @property
    def correlation(self) -> float:
        a, b = zip(*self.log_ratios)
        return statistics.correlation(a, b)

    @property
    def shared_share(self) -> float:
        """1 - var(a - b) / (var(a) + var(b)): the share of the two scatters that is common to both."""
        a, b = zip(*self.log_ratios)
        spread = statistics.pvariance(a) + statistics.pvariance(b)
        return 1 - statistics.pvariance([x - y for x, y in self.log_ratios]) / spread if spread else 0.0

    def transfer(self, per_model: bool) -> list[float]:
        """log(measured / predicted) of each source's models once predicted with the OTHER
        source's figure: its ratio for the same model (``per_model``), or its median ratio over
        the shared models (one figure for the platform, as a per-platform correction is)."""
        a, b = zip(*self.log_ratios)
        if per_model:
            return [x - y for x, y in self.log_ratios] + [y - x for x, y in self.log_ratios]
        return [x - statistics.median(b) for x in a] + [y - statistics.median(a) for y in b]


def median_error(log_ratios: Sequence[float]) -> float:
    """Median |predicted / measured - 1| of residuals log(measured / predicted)."""
    return statistics.median(abs(math.exp(-x) - 1) for x in log_ratios)


def window_80(log_ratios: Sequence[float]) -> float:
    """The narrowest measured / predicted window holding 80% of the residuals (high / low),
    placed after seeing them (80% rounded up, as docs/accuracy.md's per-source own spread)."""
    return narrowest_window([math.exp(x) for x in log_ratios], max(1, math.ceil(0.8 * len(log_ratios))))


def agreements(ratios: dict[Setting, dict[str, dict[str, float]]]) -> dict[Setting, list[Agreement]]:
    """Every pair of sources with >= MIN_SHARED common models in a setting. ``ratios[setting]
    [source][model]`` is measured / predicted (the geometric mean over that model's rows)."""
    out: dict[Setting, list[Agreement]] = {}
    for setting, by_source in sorted(ratios.items()):
        for first, second in itertools.combinations(sorted(by_source), 2):
            models = tuple(sorted(by_source[first].keys() & by_source[second].keys()))
            if len(models) >= MIN_SHARED:
                logs = tuple((math.log(by_source[first][m]), math.log(by_source[second][m])) for m in models)
                out.setdefault(setting, []).append(Agreement((first, second), models, logs))
    return out


def published_ratios() -> dict[Setting, dict[str, dict[str, float]]]:
    """Uncorrected measured / predicted of the published whole-call rows, by setting, source and
    model (geometric mean when a source timed a model more than once there)."""
    logs: dict[Setting, dict[str, dict[str, list[float]]]] = collections.defaultdict(
        lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
    preds, _ = predict_rows()
    for p in preds:
        if p.row["metric"] != "kernel_ms":
            setting = (p.row["platform"], p.row["framework"], p.row["precision"])
            logs[setting][p.source][model_name(p.row)].append(math.log(p.measured_ms / p.predicted_ms))
    return {setting: {src: {m: math.exp(statistics.fmean(v)) for m, v in models.items()} for src, models in by_source.items()}
            for setting, by_source in logs.items()}


def table(agreement: Agreement) -> list[str]:
    first, second = agreement.sources
    lines = [f"| model | {first} | {second} |", "|---|---:|---:|"]
    lines += [f"| {m} | {math.exp(a):.2f} | {math.exp(b):.2f} |" for m, (a, b) in zip(agreement.models, agreement.log_ratios)]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    found = agreements(published_ratios())
    print("Uncorrected measured / predicted per model, for sources that timed the same models on one")
    print("platform with one framework and precision.\n")
    for (platform, framework, precision), pairs in found.items():
        for agreement in pairs:
            print(f"{platform} / {framework} / {precision}: {len(agreement.models)} shared models")
            print(f"  correlation {agreement.correlation:+.2f}, share of the scatter common to both "
                  f"{agreement.shared_share:.0%}")
            print("  each source predicted with the other's figures:")
            for per_model, what in ((False, "median ratio (one figure)"), (True, "ratio for the same model")):
                residuals = agreement.transfer(per_model)
                print(f"    {what:26s} median |error| {median_error(residuals):5.1%}, 80% of the models within "
                      f"{window_80(residuals):.2f}x")
            print()
            print("\n".join(table(agreement)) + "\n")
    if not found:
        print(f"no two sources share {MIN_SHARED} models on one platform, framework and precision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
