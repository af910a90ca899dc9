"""Load test of the HTTP service: concurrent clients sending recommend requests for
profiles already cached in the database, against a real `advisor serve` on 127.0.0.1.

    python benchmarks/service.py                       # 50 clients, 2,000 requests
    python benchmarks/service.py --workers 2 --no-docs
    python benchmarks/service.py --no-recommend-cache --requests 300   # cost without the answer cache

Writes the figures into docs/service.md between the benchmark markers (unless --no-docs).
Exit 1 when any request failed or p99 is over --p99-budget-ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from service_server import start_server  # noqa: E402

#: A mix of targets, models and constraints a team would ask a shared service.
REQUESTS: list[dict] = [
    {"models": ["yolov5s"], "target": "jetson-nano"},
    {"models": ["yolov5s"], "target": "jetson-orin-nano", "max_latency_ms": 20},
    {"models": ["yolov5n", "yolov5s"], "target": "jetson-xavier-nx", "top": 5},
    {"models": ["resnet50"], "target": "t4", "batch": 8},
    {"models": ["resnet50"], "target": "l4", "precisions": ["fp16", "int8"]},
    {"models": ["resnet18"], "target": "raspberry-pi-5", "max_latency_ms": 200},
    {"models": ["mobilenet_v2"], "target": "core-i9-13900k", "frameworks": ["onnxruntime-cpu", "openvino"]},
    {"models": ["resnet18"], "target": "h200", "batch": 64},
]

START, END = "<!-- benchmarks/service.py:start -->", "<!-- benchmarks/service.py:end -->"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a figure that some request really took)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def load(url: str, clients: int, total: int) -> tuple[list[float], list[str], float]:
    """``clients`` coroutines with their own connections share ``total`` requests."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            for i in counter:
                body = REQUESTS[i % len(REQUESTS)]
                t0 = time.perf_counter()
                try:
                    r = await c.post("/v1/recommend", json=body)
                    ok = r.status_code == 200 and r.json()["target"] == body["target"]
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - t0


def conditions() -> dict[str, str]:
    load1, load5, _ = os.getloadavg()
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "load_1m_5m_before": f"{load1:.2f} / {load5:.2f}",
        "python": platform.python_version(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


def write_docs(path: Path, table: str) -> None:
    text = path.read_text()
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-recommend-cache", action="store_true", help="measure the ranking itself, uncached")
    ap.add_argument("--p99-budget-ms", type=float, default=200.0)
    ap.add_argument("--docs", type=Path, default=REPO / "docs" / "service.md")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.no_recommend_cache:
            os.environ["ADVISOR_RECOMMEND_CACHE_SIZE"] = "0"
        srv = start_server(Path(tmp), db_url=f"sqlite:///{tmp}/bench.db", token=None, workers=args.workers, name="bench")
        try:
            before = conditions()
            # Warm-up: profile every model once (cached in the database) and, per worker,
            # fill the answer cache; not timed.
            with httpx.Client(base_url=srv.url, timeout=300) as c:
                for _ in range(args.workers * 2):
                    for body in REQUESTS:
                        r = c.post("/v1/recommend", json=body)
                        r.raise_for_status()
            latencies, errors, wall = asyncio.run(load(srv.url, args.clients, args.requests))
        finally:
            srv.stop()

    p50, p90, p99 = (percentile(latencies, q) for q in (50, 90, 99))
    throughput = len(latencies) / wall
    cache = "off" if args.no_recommend_cache else "on"
    print(f"{len(latencies)} requests, {args.clients} clients, {args.workers} worker(s), answer cache {cache}: "
          f"{len(errors)} errors, p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(latencies):.1f} ms, mean {statistics.fmean(latencies):.1f} ms, {throughput:.0f} req/s")
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)

    if not args.no_docs:
        table = "\n".join([
            f"Measured {before['date_utc']} UTC with `python benchmarks/service.py"
            + (f" --workers {args.workers}" if args.workers != 1 else "")
            + (" --no-recommend-cache" if args.no_recommend_cache else "")
            + (f" --requests {args.requests}" if args.requests != 2000 else "") + "`:",
            "",
            "| requests | clients | workers | answer cache | errors | p50 ms | p90 ms | p99 ms | max ms | req/s |",
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
            f"| {len(latencies)} | {args.clients} | {args.workers} | {cache} | {len(errors)} | {p50:.1f} | {p90:.1f} "
            f"| {p99:.1f} | {max(latencies):.1f} | {throughput:.0f} |",
            "",
            f"Conditions: {before['cores']} cores ({before['cpu']}), load average {before['load_1m_5m_before']} "
            f"(1 min / 5 min) before the run, Python {before['python']}; client and server on the same machine.",
        ])
        write_docs(args.docs, table)
        print(f"wrote {args.docs}")
    return 0 if not errors and p99 < args.p99_budget_ms else 1


if __name__ == "__main__":
    sys.exit(main())
