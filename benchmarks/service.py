"""Load test of the HTTP service: concurrent clients sending recommend requests for
profiles already cached in the database, against a real `advisor serve` on 127.0.0.1.

    python benchmarks/service.py           # the standard set below; writes docs/service.md
    python benchmarks/service.py --workers 1 --requests 500               # one scenario, no docs
    python benchmarks/service.py --no-recommend-cache --requests 300      # the ranking itself

The standard set: 50 clients x 2,000 requests with two workers (the target: p99 under
200 ms on a 2-core machine), the same with one worker, and 300 requests without the
answer cache. Each scenario gets a fresh server and database; the profiles are counted
and (with the cache) every worker's answers computed during an untimed warm-up, so the
timed requests are "recommend for a cached profile". Writes the table into docs/service.md
between the benchmark markers. Exit 1 on any failed request, or when the first
scenario's p99 is over --p99-budget-ms.
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
from dataclasses import dataclass
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
        """Send and read one answer. A connection the server closed while idle (uvicorn's
        keep-alive timeout) is reopened once, as HTTP clients do: such a request was never read."""
        try:
            return await self._post(path, body)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            self.writer.close()
            host, port = self.host.rsplit(":", 1)
            self.reader, self.writer = await asyncio.open_connection(host, int(port))
            return await self._post(path, body)

    async def _post(self, path: str, body: bytes) -> tuple[int, bytes]:
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


async def load(host: str, port: int, clients: int, total: int, warm_each: bool = True) -> tuple[list[float], list[str], float]:
    """``clients`` coroutines, each with its own keep-alive connection opened before the
    clock starts, share ``total`` requests. ``warm_each``: send every body once on every
    connection first (so each worker has its answers cached), else only on the first."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))
    bodies = [(json.dumps(b).encode(), f'"target": "{b["target"]}"'.encode()) for b in REQUESTS]
    conns = [await Connection.open(host, port)]

    async def warm(conn: Connection) -> None:
        # Each connection stays with one uvicorn worker: send every body once on each,
        # so every worker that serves the timed run has counted and ranked them before.
        for body, _ in bodies:
            status, data = await conn.post("/v1/recommend", body)
            if status != 200:
                raise RuntimeError(f"warm-up failed: {status} {data[:200]!r}")

    await warm(conns[0])  # alone: it pays for counting the profiles
    conns += [await Connection.open(host, port) for _ in range(clients - 1)]
    if warm_each:
        await asyncio.gather(*(warm(conn) for conn in conns[1:]))

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


@dataclass(frozen=True)
class Scenario:
    workers: int
    cache: bool
    clients: int = 50
    requests: int = 2000


#: What docs/service.md reports: the target configuration (two workers on two cores),
#: one worker, and the ranking itself without the answer cache (fewer requests: each costs
#: a full ranking).
STANDARD = (Scenario(workers=2, cache=True), Scenario(workers=1, cache=True), Scenario(workers=2, cache=False, requests=300))


@dataclass
class Result:
    scenario: Scenario
    latencies: list[float]
    errors: list[str]
    wall: float
    load_before: str

    def row(self) -> str:
        s, lat = self.scenario, self.latencies
        p50, p90, p99 = (percentile(lat, q) for q in (50, 90, 99))
        return (f"| {len(lat)} | {s.clients} | {s.workers} | {'on' if s.cache else 'off'} | {len(self.errors)} | "
                f"{p50:.1f} | {p90:.1f} | {p99:.1f} | {max(lat):.1f} | {len(lat) / self.wall:.0f} | {self.load_before} |")

    def line(self) -> str:
        s, lat = self.scenario, self.latencies
        p50, p90, p99 = (percentile(lat, q) for q in (50, 90, 99))
        return (f"{len(lat)} requests, {s.clients} clients, {s.workers} worker(s), answer cache "
                f"{'on' if s.cache else 'off'}: {len(self.errors)} errors, p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
                f"p99 {p99:.1f} ms, max {max(lat):.1f} ms, mean {statistics.fmean(lat):.1f} ms, "
                f"{len(lat) / self.wall:.0f} req/s")


def run(scenario: Scenario) -> Result:
    """A fresh server and database per scenario; profiles are counted during the warm-up."""
    env_key = "ADVISOR_RECOMMEND_CACHE_SIZE"
    saved = os.environ.get(env_key)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[env_key] = "512" if scenario.cache else "0"
        try:
            srv = start_server(Path(tmp), db_url=f"sqlite:///{tmp}/bench.db", token=None,
                               workers=scenario.workers, name="bench")
        finally:
            if saved is None:
                os.environ.pop(env_key, None)
            else:
                os.environ[env_key] = saved
        try:
            load1, load5, _ = os.getloadavg()
            latencies, errors, wall = asyncio.run(
                load("127.0.0.1", srv.port, scenario.clients, scenario.requests, warm_each=scenario.cache))
        finally:
            srv.stop()
    return Result(scenario, latencies, errors, wall, f"{load1:.1f} / {load5:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=None, help="one scenario instead of the standard set")
    ap.add_argument("--requests", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--no-recommend-cache", action="store_true", help="measure the ranking itself, uncached")
    ap.add_argument("--p99-budget-ms", type=float, default=200.0)
    ap.add_argument("--docs", type=Path, default=REPO / "docs" / "service.md")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="run the set this many times (shows the spread)")
    args = ap.parse_args()

    single = any(v is not None for v in (args.clients, args.requests, args.workers)) or args.no_recommend_cache
    scenarios = (
        [Scenario(workers=args.workers or 2, cache=not args.no_recommend_cache, clients=args.clients or 50,
                  requests=args.requests or 2000)]
        if single else list(STANDARD)
    ) * max(1, args.repeat)
    info = conditions()
    results = []
    for scenario in scenarios:
        result = run(scenario)
        print(result.line(), flush=True)
        for e in result.errors[:5]:
            print("error:", e, file=sys.stderr)
        results.append(result)

    if not args.no_docs and not single:
        table = "\n".join([
            f"Measured {info['date_utc']} UTC with `python benchmarks/service.py"
            + (f" --repeat {args.repeat}" if args.repeat > 1 else "") + f"` on {info['cores']} cores "
            f"({info['cpu']}), Python {info['python']}; load generator and server on the same machine, "
            "which other work was sharing (load average at the start of each run in the last column).",
            "",
            "| requests | clients | workers | answer cache | errors | p50 ms | p90 ms | p99 ms | max ms | req/s | load 1 / 5 min |",
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
            *(r.row() for r in results),
        ])
        write_docs(args.docs, table)
        print(f"wrote {args.docs}")
    ok = not any(r.errors for r in results)
    for r in results:  # the target scenario (the first) of every repeat
        if r.scenario == scenarios[0] and r.scenario.cache:
            ok = ok and percentile(r.latencies, 99) < args.p99_budget_ms
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
