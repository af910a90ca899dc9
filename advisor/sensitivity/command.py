"""`advisor sensitivity`: measure, price the suggestion on a target, store, show.

Progress bars go to stderr (one per pass), so ``--format json`` keeps stdout clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from advisor.errors import InputError
from advisor.sensitivity.analysis import Tracker, no_progress
from advisor.sensitivity.report import SensitivityReport, Suggestion
from advisor.sensitivity.run import SensitivityOptions

if TYPE_CHECKING:
    from rich.progress import Progress

    from advisor.db.store import Store
    from advisor.workload import Workload

T = TypeVar("T")


class RichTracker:
    """One rich progress bar per pass (reference, per layer, per scheme...), on stderr."""

    def __init__(self, progress: Progress):
        self.progress = progress

    def __call__(self, items: Iterable[T], description: str, total: int) -> Iterator[T]:
        task = self.progress.add_task(description, total=total)
        for item in items:
            yield item
            self.progress.advance(task)


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)  # gone when done: errors stay one line


def price_suggestion(store: Store, workload: Workload, suggestion: Suggestion, *, target: str,
                     framework: str, scheme: str) -> Suggestion:
    """Predicted latency with every layer in ``scheme`` and with the suggested layers in fp16:
    the per-kernel difference (fp16 minus scheme) of the kept layers is added to the all-quantized
    latency. Kernels are named by their main op's module path, as the sensitivity layers are."""
    from advisor.predict.api import predict_case

    quantized = predict_case(store, workload, target=target, precision=scheme, framework=framework).prediction
    suggestion.baseline_latency_ms = quantized.latency_ms
    if not suggestion.keep_16bit:
        suggestion.latency_ms = suggestion.baseline_latency_ms
        return suggestion
    half = predict_case(store, workload, target=target, precision="fp16", framework=framework).prediction
    kept = set(suggestion.keep_16bit)
    fp16_times = {k.name: k.time_ms for k in half.layers if k.name in kept}
    extra = sum(fp16_times[k.name] - k.time_ms for k in quantized.layers if k.name in fp16_times)
    suggestion.latency_ms = quantized.latency_ms + extra
    return suggestion


def measure(
    store: Store | None,
    workload: Workload | None,
    weights: Path,
    options: SensitivityOptions,
    *,
    target: str | None = None,
    framework: str | None = None,
    save: bool = True,
    allow_code: bool = True,
    track: Tracker = no_progress,
) -> SensitivityReport:
    """Analyse, price the suggestion on ``target``, store the report under the weights' hash:
    what the command and POST /v1/sensitivity share. ``store`` may be None only when neither
    pricing nor saving is asked for."""
    from advisor.sensitivity.files import content_hash, resolve_weights
    from advisor.sensitivity.render import to_json
    from advisor.sensitivity.run import analyse_data_free, analyse_model
    from advisor.sensitivity.schemes import get_scheme

    options.check()
    if target is not None and framework is None:
        raise InputError("--target needs --framework to price the suggestion (e.g. --framework tensorrt)")
    if options.method != "data-free" and workload is None:
        raise InputError("--model is required unless --method data-free")
    if target is not None and store is not None:
        store.get_platform(target)  # unknown ids fail now, before minutes of analysis
        store.get_framework(framework)
    resolved = resolve_weights(Path(weights))  # the index is read once, here
    sha = content_hash(resolved, track)
    if options.method == "data-free":
        report = analyse_data_free(resolved, options, model=workload.model if workload else "", track=track)
    else:
        from advisor.models import load_model

        spec = load_model(workload, allow_code=allow_code)
        report = analyse_model(spec, resolved, options, track=track)
    report.weights_sha256 = sha
    if target is not None and store is not None and report.suggestion is not None and workload is not None:
        scheme = get_scheme(report.suggestion.scheme, group_size=options.group_size).predictor_scheme
        price_suggestion(store, workload, report.suggestion, target=target, framework=framework, scheme=scheme)
    if save and store is not None:
        store.put_sensitivity_report(sha, workload.model if workload else "", report.method,
                                     to_json(report, per_layer=True))
    return report


def run_sensitivity(
    workload: Workload | None,
    weights: Path,
    options: SensitivityOptions,
    *,
    target: str | None = None,
    framework: str | None = None,
    per_layer: bool = False,
    top: int = 10,
    fmt: str = "table",
    save: bool = True,
) -> SensitivityReport:
    """The command: measure with progress bars on stderr, then print."""
    from advisor.sensitivity.render import print_table, to_json, to_markdown

    store = None
    if target is not None or save:
        from advisor.db.store import open_store

        store = open_store()
    with _progress() as progress:
        report = measure(store, workload, weights, options, target=target, framework=framework, save=save,
                         track=RichTracker(progress))
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    if fmt == "json":
        print(to_json(report, per_layer))
    elif fmt == "markdown":
        print(to_markdown(report, per_layer=per_layer, top=top))
    else:
        print_table(report, per_layer=per_layer, top=top)
    return report
