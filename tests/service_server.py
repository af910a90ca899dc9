"""Start a real `advisor serve` on 127.0.0.1 for the service tests and the benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `advisor serve` subprocess; its stdout (the access log) goes to a file."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    err_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[str]:
        return [ln for ln in self.log_path.read_text().splitlines() if ln.startswith("{")]

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM, then wait. True when uvicorn shut down in order: the lifespan's
        shutdown completed (it logs so) and the process ended by the signal it caught
        (uvicorn re-raises SIGTERM after a graceful exit, hence -15) or with 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return False
        return self.proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in self.err_path.read_text()


def start_server(
    tmp: Path,
    *,
    db_url: str,
    token: str | None,
    workers: int = 1,
    name: str = "server",
    startup_timeout: float = 60.0,
    models_dir: Path | None = None,
) -> Server:
    """Launch `python -m advisor.cli serve` and wait until /v1/health answers 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_API_TOKEN", "ADVISOR_DB")}
    env["ADVISOR_DB"] = db_url
    if token is not None:
        env["ADVISOR_API_TOKEN"] = token
    log_path, err_path = tmp / f"{name}.out", tmp / f"{name}.err"
    proc = subprocess.Popen(
        [sys.executable, "-m", "advisor.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         *(["--models-dir", str(models_dir)] if models_dir is not None else [])],
        stdout=log_path.open("w"), stderr=err_path.open("w"), env=env,
    )
    server = Server(proc, port, log_path, err_path, env)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{err_path.read_text()}")
        try:
            if httpx.get(f"{server.url}/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not answer within {startup_timeout} s:\n{err_path.read_text()}")
