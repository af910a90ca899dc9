"""Figures and tables for people: three significant figures with their unit, and rich tables
that fit the terminal (issue 14: "latency 78.256 ms" and 173-column tables told a reader more
digits than the model knows and wrapped mid-word).

Torch-free and cheap to import: `advisor hardware list` uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console

#: widest table a report aims for (standards: tables fit 100 columns)
MAX_WIDTH = 100


def sig3(x: float) -> str:
    """Three significant figures without an exponent: 1348 -> "1,350", 0.04567 -> "0.0457"."""
    rounded = float(f"{x:.3g}")
    if rounded == 0 or not math.isfinite(rounded):
        return f"{rounded:g}"
    return f"{rounded:,.{max(0, 2 - math.floor(math.log10(abs(rounded))))}f}"


def ms(value: float) -> str:
    return f"{sig3(value)} ms"


def p10_p90(low: float, high: float) -> str:
    """"59.8-164": a p10-p90 range; "" when there is none (``high`` 0, no interval known)."""
    return f"{sig3(low)}-{sig3(high)}" if high > 0 else ""


def ms_range(value: float, low: float = 0.0, high: float = 0.0, *, say_side: bool = False) -> str:
    """"78.1 ms (59.8-164)": the point and, when known, its p10-p90 range. With ``say_side``, a
    range wholly above or below the point says so ("0.440 ms (likely 0.561-2.14: setups like it
    ran slower than predicted)"): a biased class shifts the range off the figure, and a reader of
    the one-line answer would otherwise take the figure as the likely latency."""
    span = p10_p90(low, high)
    if not span:
        return ms(value)
    if say_side and (low > value or high < value):
        side = "slower" if low > value else "faster"
        return f"{ms(value)} (likely {span}: setups like it ran {side} than predicted)"
    return f"{ms(value)} ({span})"


def megabytes(value_mb: float) -> str:
    """Memory in MB below 1,000 MB, else GB: "27.6 MB", "139 GB"."""
    return f"{sig3(value_mb / 1000)} GB" if abs(value_mb) >= 1000 else f"{sig3(value_mb)} MB"


def count(value: float, unit: str = "") -> str:
    """Counts with an SI prefix: 7.24 M params, 16.5 GFLOPs."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{sig3(value / scale)} {prefix}{unit}".rstrip()
    return f"{sig3(value)} {unit}".rstrip()


def throughput_unit(phase: str | None, input_shape: Sequence[int] | None = None) -> str:
    """What a model's throughput counts: tokens for an LLM phase, images for an image input
    (N x C x H x W or more), sequences for a token-id input (N x L), items otherwise."""
    if phase:
        return "tok/s"
    rank = len(input_shape) if input_shape else 0
    if rank >= 4:
        return "img/s"
    if rank == 2:
        return "seq/s"
    return "items/s"


def rate(value: float, unit: str = "items/s") -> str:
    return f"{sig3(value)} {unit}"


# -- tables that fit ---------------------------------------------------------------------


def console(*, stderr: bool = False, file: IO[str] | None = None, width: int | None = None) -> Console:
    """A console as wide as the terminal; piped output is ``MAX_WIDTH`` wide unless COLUMNS says
    otherwise (``width`` overrides both); highlighting and emoji codes off, so names print as they are."""
    import os
    import sys

    from rich.console import Console

    if width is None and file is None and not os.environ.get("COLUMNS"):
        stream = sys.stderr if stderr else sys.stdout
        width = None if stream.isatty() else MAX_WIDTH
    return Console(stderr=stderr, file=file, width=width, highlight=False, soft_wrap=False, emoji=False)


@dataclass(frozen=True)
class Column:
    """A table column; ``priority`` 0 is never dropped, higher numbers are dropped first when
    the table does not fit. ``shrink`` columns are cut with an ellipsis before anything is
    dropped (names, notes); the others keep their full text."""

    header: str
    justify: Literal["left", "right"] = "left"
    priority: int = 0
    shrink: bool = False
    min_width: int = 6


def _needed(col: Column, cells: list[str]) -> int:
    return max([len(col.header)] + [len(c) for c in cells])


#: characters a SIMPLE_HEAD table without edges, padding collapsed, adds per column: the padding
#: between two cells and the divider (one more column of slack is kept by ``fitted_table``)
_PER_COLUMN = 2


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, title: str | None = None):
    """A rich Table of ``rows`` that fits ``width`` characters: cells never wrap (too long a
    cell in a ``shrink`` column ends in an ellipsis) and, when even that does not fit, the
    columns with the highest ``priority`` number are left out."""
    from rich import box
    from rich.table import Table

    cells = [[row[i] for row in rows] for i in range(len(columns))]
    needed = [_needed(col, cells[i]) for i, col in enumerate(columns)]
    smallest = [min(needed[i], max(col.min_width, len(col.header))) if col.shrink else needed[i]
                for i, col in enumerate(columns)]
    keep = list(range(len(columns)))
    width -= 1  # slack
    while (sum(smallest[i] for i in keep) + _PER_COLUMN * len(keep) > width
           and any(columns[i].priority > 0 for i in keep)):
        keep.remove(max((i for i in keep if columns[i].priority > 0), key=lambda i: (columns[i].priority, i)))
    # a less important column goes before a more important one is cut short
    while sum(needed[i] for i in keep) + _PER_COLUMN * len(keep) > width:
        cut = [columns[i].priority for i in keep if columns[i].shrink and needed[i] > smallest[i]]
        spare_cols = [i for i in keep if columns[i].priority > min(cut, default=1 << 30)]
        if not cut or not spare_cols:
            break
        keep.remove(max(spare_cols, key=lambda i: (columns[i].priority, i)))
    # what is left after the fixed columns goes to the shrinkable ones, narrowest need first
    spare = width - _PER_COLUMN * len(keep) - sum(needed[i] for i in keep if not columns[i].shrink)
    widths = {i: needed[i] for i in keep}
    flexible = sorted((i for i in keep if columns[i].shrink), key=lambda i: needed[i])
    extra = spare - sum(smallest[i] for i in flexible)  # beyond each one's minimum, shared out
    for n, i in enumerate(flexible):
        grant = min(needed[i] - smallest[i], max(0, extra) // (len(flexible) - n))
        widths[i] = smallest[i] + grant
        extra -= grant
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=True)
    for i in keep:
        col = columns[i]
        table.add_column(col.header, justify=col.justify, no_wrap=True, overflow="ellipsis", width=widths[i])
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def print_lines(out: Console, lines: Sequence[str], style: str | None = None) -> None:
    """Sentences wrapped at word boundaries within the console's width; a wrapped line's
    continuation is indented two past its own indent, so it still reads as one item."""
    import textwrap

    for line in lines:
        lead = " " * (len(line) - len(line.lstrip(" ")))
        for part in textwrap.wrap(line, width=max(20, out.width), initial_indent="", subsequent_indent=lead + "  ",
                                  break_on_hyphens=False, drop_whitespace=True) or [""]:
            out.print(part, style=style, markup=False, highlight=False, crop=True, soft_wrap=False)


class StepProgress:
    """A progress bar over a known number of steps on stderr, redrawn only when a step starts:
    no refresh thread, which would preempt a benchmark's worker threads on a small machine
    (advisor.measure.calibrate measured a 40% lower GEMM rate with one). Disabled, it does
    nothing, so callers need no branches."""

    def __init__(self, label: str, total: int, enabled: bool, out: Console | None = None) -> None:
        self._progress = None
        self._task = None
        self._started = False
        if enabled and total > 0:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn(f"{label} " + "{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=out or console(stderr=True),
                                      auto_refresh=False, transient=False)
            self._task = self._progress.add_task("", total=total)

    def __enter__(self) -> StepProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def step(self, description: str) -> None:
        """The previous step is done; ``description`` starts."""
        if self._progress is None:
            return
        if self._started:
            self._progress.advance(self._task)
        self._started = True
        self._progress.update(self._task, description=description, refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._progress is None:
            return
        if exc[0] is None and self._started:
            self._progress.advance(self._task)
            self._progress.update(self._task, description="done", refresh=True)
        self._progress.stop()


def progress_wanted(quiet: bool) -> bool:
    """Progress bars go to a terminal only: never into a pipe, a log file or under --quiet."""
    import sys

    return not quiet and sys.stderr.isatty()
