"""`advisor plan`: parse the options into a PlanRequest, plan, render; exit 1 when no plan
meets the objectives."""

from __future__ import annotations

from advisor.errors import ConstraintNotMet, InputError
from advisor.options import comma_list, split_names
from advisor.plan.types import PlanRequest


def parse_devices(value: str | None) -> list[int] | None:
    """"4" -> [4]; "1,2,4" -> [1, 2, 4]; "1-8" -> [1, 2, ..., 8]."""
    if value is None:
        return None
    counts: list[int] = []
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if low < 1 or high < low:
                    raise ValueError
                counts.extend(range(low, high + 1))
            else:
                counts.append(int(part))
    except ValueError:
        raise InputError(f"--devices '{value}': expected a count (4), a list (1,2,4) or a range (1-8)") from None
    if not counts or min(counts) < 1 or max(counts) > 1024:
        raise InputError(f"--devices '{value}': counts must be between 1 and 1024")
    return sorted(set(counts))


def parse_prices(values: list[str] | None) -> dict[str, float]:
    prices: dict[str, float] = {}
    for item in values or []:
        pid, sep, amount = item.partition("=")
        try:
            price = float(amount)
        except ValueError:
            price = -1.0
        if not sep or not pid.strip() or not 0 < price <= 1000:
            raise InputError(f"--price '{item}': expected ID=USD_PER_HOUR, e.g. h100-sxm=2.99 (0 < USD <= 1000)")
        prices[pid.strip()] = price
    return prices


def build_request(
    *, model: str, targets: list[str], devices: str | None, input_len: int, output_len: int,
    ttft_ms: float | None, tpot_ms: float | None, min_output_tokens_per_s: float | None,
    frameworks: str | None, precisions: str | None, kv_cache: str | None, prices: list[str] | None,
    concurrency: int | None = None,
) -> PlanRequest:
    from pydantic import ValidationError

    names = comma_list(targets)
    if not names:
        raise InputError("--target: give at least one platform id, or 'all'")
    if "all" in names:
        names = ["all"]
    for option, value in (("--input-len", input_len), ("--output-len", output_len)):
        if value is None or value < 1:
            raise InputError(f"{option} {value}: expected a positive number of tokens")
    for option, value in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms),
                          ("--min-output-tokens-per-s", min_output_tokens_per_s), ("--concurrency", concurrency)):
        if value is not None and value <= 0:
            raise InputError(f"{option} {value:g}: expected a positive number")
    try:
        return PlanRequest(
            model=model, targets=names, devices=parse_devices(devices), input_len=input_len, output_len=output_len,
            ttft_ms=ttft_ms, tpot_ms=tpot_ms, min_output_tokens_per_s=min_output_tokens_per_s,
            concurrency=concurrency, frameworks=split_names("--frameworks", frameworks),
            precisions=split_names("--precisions", precisions),
            kv_caches=split_names("--kv-cache", kv_cache), prices=parse_prices(prices),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"--{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']}") from None


def run_plan(request: PlanRequest, *, fmt: str = "table", top: int = 10) -> None:
    from advisor.db.store import open_store
    from advisor.plan import render
    from advisor.plan.engine import plan

    store = open_store(readonly=True)
    report = plan(store, request)
    if fmt == "json":
        print(render.to_json(report))
    elif fmt == "markdown":
        print(render.to_markdown(report), end="")
    else:
        render.print_table(report, top=top)
    if not report.plans:
        raise ConstraintNotMet(f"no plan for {request.model} meets the objectives ({len(report.excluded)} excluded)")
