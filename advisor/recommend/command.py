"""`advisor recommend`: build the request, rank, render; exit 1 when constraints leave nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import ConstraintNotMet, InputError
from advisor.options import split_names
from advisor.recommend.types import RecommendRequest

if TYPE_CHECKING:
    from advisor.workload import Workload


def build_request(workload: Workload, *, models: list[str], target: str, max_latency_ms: float | None,
                  min_throughput: float | None, max_memory_mb: float | None, frameworks: str | None,
                  precisions: str | None, top: int | None) -> RecommendRequest:
    """The request the CLI options describe (0 for a limit: none); a bad value is an InputError
    naming its option."""
    from pydantic import ValidationError

    try:
        return RecommendRequest.of(
            workload, models=models, target=target, max_latency_ms=max_latency_ms or None,
            min_throughput=min_throughput or None, max_memory_mb=max_memory_mb or None,
            frameworks=split_names("empty list", frameworks), precisions=split_names("empty list", precisions), top=top,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"--{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']}") from None


def run_recommend(
    workload: Workload,
    *,
    models: list[str],
    target: str,
    max_latency_ms: float | None = None,
    min_throughput: float | None = None,
    max_memory_mb: float | None = None,
    frameworks: str | None = None,
    precisions: str | None = None,
    top: int | None = None,
    explain: bool = False,
    fmt: str = "table",
    weights: Path | None = None,
    recipe: bool = False,
) -> None:
    """Rank ``models`` at ``workload``'s shape and phase (the CLI builds it from the first model)."""
    from advisor.db.store import open_store
    from advisor.recommend import render
    from advisor.recommend.engine import recommend

    request = build_request(workload, models=models, target=target, max_latency_ms=max_latency_ms,
                            min_throughput=min_throughput, max_memory_mb=max_memory_mb, frameworks=frameworks,
                            precisions=precisions, top=top)
    db = open_store(readonly=True)
    rec = recommend(db, request)
    if weights is not None:
        from advisor.recommend.accuracy import with_accuracy

        rec = with_accuracy(rec, db, weights)
    names = {fw.id: fw.name for fw in db.list_frameworks()}
    shown = top or render.DEFAULT_SHOWN
    recipes = None
    if recipe:
        from advisor.recommend.recipes import recipes_for

        recipes = recipes_for(rec.candidates, request, db.get_platform(rec.target).device_class)
    if fmt == "json":
        print(render.to_json(rec, explain, recipes))
    elif fmt == "markdown":
        print(render.to_markdown(rec, explain, shown, names, recipes), end="")
    else:
        render.print_table(rec, explain, shown, names, recipes)
    if not rec.candidates:
        raise ConstraintNotMet(f"no candidate for {target} meets the constraints ({len(rec.excluded)} excluded)")
