"""`advisor profile`: count a model and print totals, per-layer rows, JSON or CSV."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.precision import storage

if TYPE_CHECKING:
    from advisor.workload import Workload

#: Show a spinner only for models that take longer than this (most profile in well under it).
SPINNER_AFTER_S = 1.0


@contextmanager
def spinner_after(delay_s: float, message: str) -> Iterator[None]:
    """A rich spinner on stderr that appears only if the body runs longer than ``delay_s``.

    rich is imported only when the spinner is actually shown, keeping fast runs lean.
    """
    lock = threading.Lock()
    state: dict[str, Any] = {"status": None, "done": False}

    def start() -> None:
        if not sys.stderr.isatty():
            return
        from rich.console import Console

        with lock:
            if not state["done"]:
                state["status"] = Console(stderr=True).status(message)
                state["status"].start()

    timer = threading.Timer(delay_s, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["status"] is not None:
                state["status"].stop()


def run_profile(
    workload: Workload,
    *,
    precision: str,
    per_layer: bool,
    depth: int | None,
    strict: bool,
    fmt: str,
) -> None:
    """Profile ``workload`` and write the report to stdout; warnings go to stderr.

    ``--depth`` implies per-layer rows rolled up to that depth. ``--strict`` turns ops
    without a formula into an InputError (exit 2) instead of a warning. Counted afresh each
    time: `advisor profile` reads no database.
    """
    storage(precision)  # an unknown precision fails before any model is built
    from advisor.profiling import render
    from advisor.profiling.aggregate import by_module
    from advisor.profiling.api import count_workload

    with spinner_after(SPINNER_AFTER_S, f"profiling {workload.model}"):
        profile = count_workload(workload)
    warning = render.unsupported_warning(profile)
    if warning and strict:
        raise InputError(f"--strict: {warning}")
    if warning:
        print(f"advisor: warning: {warning}", file=sys.stderr)
    layered = per_layer or depth is not None
    if fmt == "json":
        print(render.to_json(profile, by_module(profile, depth), precision))
    elif fmt == "csv":
        print(render.to_csv(by_module(profile, depth if layered else 0), precision), end="")
    else:
        render.print_table(profile, by_module(profile, depth) if layered else None, precision)
