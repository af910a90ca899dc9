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
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path


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


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just what the benchmark needs.

    Why not httpx here: on two shared cores the load generator competes with the server
    for CPU, and httpx's async pool costs several times more per request than the server
    does on a cached answer, so it would measure itself. The server is the real
    `advisor serve`; the tests exercise it with httpx."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        response = await self.reader.readuntil(b"\r\n\r\n")
        status = int(response[9:12])
        length = 0
        for line in response.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected from /v1/recommend")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def load(host: str, port: int, clients: int, total: int) -> tuple[list[float], list[str], float]:
    """``clients`` coroutines, each with its own keep-alive connection opened before the
    clock starts, share ``total`` requests."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))
    bodies = [(json.dumps(b).encode(), f'"target": "{b["target"]}"'.encode()) for b in REQUESTS]
    conns = [await Connection.open(host, port) for _ in range(clients)]

    async def warm(conn: Connection) -> None:
        # Each connection stays with one uvicorn worker: send every body once on each,
        # so every worker that serves the timed run has counted and ranked them before.
        for body, _ in bodies:
            status, data = await conn.post("/v1/recommend", body)
            if status != 200:
                raise RuntimeError(f"warm-up failed: {status} {data[:200]!r}")

    for conn in conns:  # one connection at a time: the first pays for the profiles
        await warm(conn)

    async def client(conn: Connection) -> None:
        for i in counter:
            body, expected = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            try:
                status, data = await conn.post("/v1/recommend", body)
                if status != 200 or expected not in data[:200]:
                    errors.append(f"{status}: {data[:200]!r}")
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                errors.append(repr(exc))
                return
            latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    wall = time.perf_counter() - t0
    for c in conns:
        c.close()
    return latencies, errors, wall


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
            latencies, errors, wall = asyncio.run(load("127.0.0.1", srv.port, args.clients, args.requests))
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
