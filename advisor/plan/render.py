"""`advisor plan` output: a one-line answer, a ranked table that fits 100 columns, JSON, markdown."""

from __future__ import annotations

from advisor.display import sig3
from advisor.plan.types import Plan, PlanExcluded, PlanReport

TABLE_WIDTH = 100


def layout(plan: Plan) -> str:
    """"1", "TP4", "PP2", "TP2xPP2"."""
    parts = [f"TP{plan.tensor_parallel}"] if plan.tensor_parallel > 1 else []
    parts += [f"PP{plan.pipeline_parallel}"] if plan.pipeline_parallel > 1 else []
    return "x".join(parts) or "1"


def _money(value: float | None) -> str:
    return "-" if value is None else "$" + sig3(value)


def headline(report: PlanReport) -> str:
    shape = f"{report.model}, {report.input_len:,} in / {report.output_len:,} out tokens"
    if not report.plans:
        return f"{shape}: no plan meets the objectives ({len(report.excluded)} excluded; see the reasons below)"
    best = report.plans[0]
    cost = f" at {_money(best.cost_per_million_tokens)} per million output tokens" \
        if best.cost_per_million_tokens is not None else ""
    split = f" ({layout(best)})" if best.devices > 1 else ""
    return (f"{shape}: {best.devices} x {best.target}{split}, {best.framework} {best.precision}, "
            f"{best.concurrency} concurrent: {sig3(best.output_tokens_per_s)} output tokens/s{cost}")


def objectives(report: PlanReport) -> str:
    names = {"ttft_ms": ("TTFT", "ms"), "tpot_ms": ("TPOT", "ms"), "min_output_tokens_per_s": (">=", "tokens/s")}
    parts = [f"{names[k][0]} <= {v:g} {names[k][1]}" if k != "min_output_tokens_per_s" else f">= {v:g} tokens/s"
             for k, v in report.slo.items()]
    return ", ".join(parts) if parts else "none"


def print_table(report: PlanReport, top: int = 10) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    probe = Console()
    console = Console(width=min(TABLE_WIDTH, probe.width) if probe.is_terminal else TABLE_WIDTH)
    console.print(headline(report), highlight=False)
    ranked = {"cost_per_million_tokens": "$ per million output tokens",
              "output_tokens_per_s_per_device": "output tokens/s per device"}.get(report.ranked_by, report.ranked_by)
    console.print(f"objectives: {objectives(report)}; ranked by {ranked}", highlight=False)
    if report.plans and len({p.kv_cache for p in report.plans}) == 1:
        console.print(f"KV cache {report.plans[0].kv_cache}; split: TPn = n devices in tensor parallel, "
                      f"PPn = n pipeline stages", highlight=False)
    if report.plans:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False)
        show_kv = len({p.kv_cache for p in report.plans}) > 1
        columns = [("#", "right"), ("target", "left"), ("split", "left"), ("framework", "left"), ("prec", "left")]
        columns += [("kv", "left")] if show_kv else []
        columns += [("conc", "right"), ("tok/s", "right"), ("tok/s/dev", "right"), ("TTFT ms", "right"),
                    ("TPOT ms", "right"), ("GB/dev", "right"), ("$/Mtok", "right")]
        for name, justify in columns:
            table.add_column(name, justify=justify, no_wrap=True)
        for rank, plan in enumerate(report.plans[:top], 1):
            cells = [str(rank), plan.target, layout(plan), plan.framework, plan.precision]
            cells += [plan.kv_cache] if show_kv else []
            cells += [str(plan.concurrency), sig3(plan.output_tokens_per_s), sig3(plan.output_tokens_per_s_per_device),
                      sig3(plan.ttft_ms), sig3(plan.tpot_ms), sig3(plan.memory_per_device_gb),
                      _money(plan.cost_per_million_tokens)]
            table.add_row(*cells)
        console.print(table)
        if len(report.plans) > top:
            console.print(f"{len(report.plans) - top} more plans: --top N or --format json", highlight=False)
    if report.excluded:
        console.print(f"excluded: {len(report.excluded)} candidates", highlight=False)
        for entry in _closest_misses(report.excluded)[:5]:
            console.print(f"  {describe(entry)}: {'; '.join(entry.reasons)}", highlight=False)
        if len(report.excluded) > 5:
            console.print("  (all reasons: --format json)", highlight=False)


def _closest_misses(excluded: list[PlanExcluded]) -> list[PlanExcluded]:
    """Objective misses first (the near-plans a person wants to see), then memory, then support."""
    def order(entry: PlanExcluded) -> int:
        text = " ".join(entry.reasons)
        return 0 if ("TTFT" in text or "TPOT" in text or "tokens/s" in text) else 1 if "fit" in text else 2

    return sorted(excluded, key=order)


def describe(entry: PlanExcluded) -> str:
    parts = [entry.target]
    if entry.devices:
        parts.append(f"x{entry.devices}")
    parts += [p for p in (entry.framework, entry.precision) if p]
    if entry.kv_cache and entry.kv_cache != "fp16":
        parts.append(f"kv {entry.kv_cache}")
    return " ".join(parts)


def to_json(report: PlanReport) -> str:
    from advisor.finite_json import dumps

    return dumps(report.model_dump(mode="json"), "plan", indent=2)  # NaN/Infinity: one line naming the field


def to_markdown(report: PlanReport) -> str:
    lines = [f"**{headline(report)}**", "", f"Objectives: {objectives(report)}.", ""]
    if report.plans:
        lines += ["| # | target | devices | split | framework | precision | KV | concurrency | output tok/s | "
                  "tok/s per device | TTFT ms | TPOT ms | GB per device | $ per M tokens | kWh per M tokens | bound |",
                  "|" + "---|" * 16]
        for rank, p in enumerate(report.plans, 1):
            energy = "-" if p.energy_per_million_tokens_kwh is None else sig3(p.energy_per_million_tokens_kwh)
            lines.append(
                f"| {rank} | {p.target} | {p.devices} | {layout(p)} | {p.framework} | {p.precision} | {p.kv_cache} | "
                f"{p.concurrency} of {p.max_concurrency} | {sig3(p.output_tokens_per_s)} | "
                f"{sig3(p.output_tokens_per_s_per_device)} | {sig3(p.ttft_ms)} | {sig3(p.tpot_ms)} | "
                f"{sig3(p.memory_per_device_gb)} | {_money(p.cost_per_million_tokens)} | {energy} | {p.bound} |")
    if report.excluded:
        lines += ["", "Excluded:", ""]
        lines += [f"- {describe(e)}: {'; '.join(e.reasons)}" for e in report.excluded]
    return "\n".join(lines) + "\n"
