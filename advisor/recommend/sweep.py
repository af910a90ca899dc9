"""recommend over several targets and batch sizes at once, instead of a shell loop.

``--target a --target b`` and ``--batch 1,8,32`` used to keep only the last value. Here each
(target, batch) is recommended as usual and the answers are merged into one ranking:

* ``optimize="latency"``: every (target, batch, candidate), fastest first;
* ``optimize="throughput"``: per target x model x scheme x framework the batch with the most
  items/s whose latency meets ``--max-latency-ms`` (recommend already dropped the others),
  highest throughput first. Without ``--batch`` the batches tried are powers of two up to 256.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from advisor.domain.candidates import Candidate, Exclusion
from advisor.finite_json import dumps
from advisor.recommend.engine import recommend
from advisor.display import megabytes, ms_range, rate, sig3
from advisor.recommend.render import precision_cell, throughput_header
from advisor.recommend.types import RecommendRequest

if TYPE_CHECKING:
    from advisor.db.store import Store
    from advisor.workload import Workload

Optimize = Literal["latency", "throughput"]
#: batches tried by --optimize throughput when --batch is not given
THROUGHPUT_BATCHES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class SweepCandidate(Candidate):
    """A candidate with the target and batch it was predicted at."""

    target: str
    batch: int | None


class SweepExclusion(Exclusion):
    target: str
    batch: int | None


class Sweep(BaseModel):
    targets: list[str]
    batches: list[int | None]
    optimize: Optimize
    candidates: list[SweepCandidate]
    excluded: list[SweepExclusion] = Field(default_factory=list)


def sweep(store: Store, request: RecommendRequest, targets: list[str], batches: list[int | None],
          optimize: Optimize = "latency", allow_code: bool = True) -> Sweep:
    """Recommend at every (target, batch) and merge; ``request.top`` applies to the merged list."""
    if optimize == "throughput" and batches == [None]:
        batches = list(THROUGHPUT_BATCHES)
    found: list[SweepCandidate] = []
    dropped: list[SweepExclusion] = []
    for target in dict.fromkeys(targets):
        for batch in dict.fromkeys(batches):
            asked = request.model_copy(update={"target": target, "batch": batch, "top": None})
            rec = recommend(store, asked, allow_code=allow_code)
            found += [SweepCandidate(**dict(c), target=rec.target, batch=batch) for c in rec.candidates]
            dropped += [SweepExclusion(model=e.model, precision=e.precision, framework=e.framework,
                                       findings=e.findings, target=rec.target, batch=batch) for e in rec.excluded]
    if optimize == "throughput":
        best: dict[tuple[str, str, str, str], SweepCandidate] = {}
        for c in found:
            key = (c.target, c.model, c.precision, c.framework)
            if key not in best or c.throughput_per_s > best[key].throughput_per_s:
                best[key] = c
        ranked = sorted(best.values(), key=lambda c: (-c.throughput_per_s, c.target, c.model, c.framework, c.precision))
    else:
        ranked = sorted(found, key=lambda c: (c.latency_ms, c.target, c.batch or 0, c.model, c.framework, c.precision))
    ranked = [c.model_copy(update={"rank": i + 1}) for i, c in enumerate(ranked)]
    if request.top is not None:
        ranked = ranked[: request.top]
    return Sweep(targets=list(dict.fromkeys(targets)), batches=list(dict.fromkeys(batches)), optimize=optimize,
                 candidates=ranked, excluded=dropped)


def to_json(result: Sweep, explain: bool = False) -> str:
    data = result.model_dump(mode="json")
    if not explain:
        for c in data["candidates"]:
            c.pop("rules", None)
    return dumps(data, "recommendation", indent=2)  # NaN/Infinity: one line naming the field


def _batch(value: int | None) -> str:
    return "-" if value is None else str(value)


def to_markdown(result: Sweep, explain: bool = False) -> str:  # noqa: ARG001 - same signature as render
    lines = [f"# Recommendation for {', '.join(result.targets)} (by {result.optimize})", ""]
    if result.candidates:
        unit = throughput_header(result.candidates)
        lines += [f"| rank | target | batch | model | framework | precision | latency ms | {unit} | bound | "
                  "memory |", "|---|---|---|---|---|---|---|---|---|---|"]
        for c in result.candidates:
            lines.append(f"| {c.rank} | {c.target} | {_batch(c.batch)} | {c.model} | {c.framework} | "
                         f"{precision_cell(c)} | {sig3(c.latency_ms)} | {sig3(c.throughput_per_s)} | {c.bound} | "
                         f"{megabytes(c.memory_mb)} |")
    else:
        lines.append("No candidate meets the constraints.")
    return "\n".join(lines) + "\n"


def print_table(result: Sweep, explain: bool = False) -> None:  # noqa: ARG001
    from advisor.display import Column, fitted_table, print_lines
    from advisor.display import console as fitting_console

    console = fitting_console()
    if not result.candidates:
        print_lines(console, [f"no candidate meets the constraints on {', '.join(result.targets)} "
                              f"({len(result.excluded)} excluded; --format json lists why)"])
        return
    best = result.candidates[0]
    print_lines(console, [f"best by {result.optimize}: {best.model} {best.framework} {precision_cell(best)} on "
                          f"{best.target} at batch {_batch(best.batch)}: "
                          f"{ms_range(best.latency_ms, best.latency_ms_low, best.latency_ms_high, say_side=True)}, "
                          f"{rate(best.throughput_per_s, best.throughput_unit)}"], style="bold")
    several_models = len({c.model for c in result.candidates}) > 1
    columns = [Column("#", "right"), Column("target"), Column("batch", "right"),
               Column("model", shrink=True, min_width=10) if several_models else None, Column("framework"),
               Column("precision"), Column("latency ms", "right"),
               Column(throughput_header(result.candidates), "right"),
               Column("bound", priority=2), Column("memory", "right", priority=1)]
    rows = []
    for c in result.candidates:
        row = [str(c.rank), c.target, _batch(c.batch), c.model, c.framework, precision_cell(c), sig3(c.latency_ms),
               sig3(c.throughput_per_s), c.bound, megabytes(c.memory_mb)]
        rows.append([cell for cell, col in zip(row, columns) if col is not None])
    console.print(fitted_table([col for col in columns if col is not None], rows, console.width))


def parse_batches(value: str | None) -> list[int | None]:
    """"8" -> [8]; "1,8,32" -> [1, 8, 32]; None -> [None] (the model's own batch)."""
    from advisor.errors import InputError

    if value is None:
        return [None]
    try:
        batches = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        batches = []
    if not batches or min(batches) < 1:
        raise InputError(f"--batch '{value}': expected a positive batch size or a list like 1,8,32")
    return list(dict.fromkeys(batches))


def run_sweep(workload: Workload, *, models: list[str], targets: list[str], batches: list[int | None],
              optimize: Optimize, max_latency_ms: float | None = None, min_throughput: float | None = None,
              max_memory_mb: float | None = None, frameworks: str | None = None, precisions: str | None = None,
              top: int | None = None, explain: bool = False, fmt: str = "table") -> None:
    """`advisor recommend` with several targets or batches, or --optimize throughput: the same
    options as run_recommend, one merged ranking."""
    from advisor.db.store import open_store
    from advisor.errors import ConstraintNotMet
    from advisor.recommend.command import build_request

    request = build_request(workload, models=models, target=targets[0], max_latency_ms=max_latency_ms,
                            min_throughput=min_throughput, max_memory_mb=max_memory_mb, frameworks=frameworks,
                            precisions=precisions, top=top)
    result = sweep(open_store(readonly=True), request, targets, batches, optimize)
    if fmt == "json":
        print(to_json(result, explain))
    elif fmt == "markdown":
        print(to_markdown(result, explain), end="")
    else:
        print_table(result, explain)
    if not result.candidates:
        raise ConstraintNotMet(f"no candidate meets the constraints on {', '.join(result.targets)}")
