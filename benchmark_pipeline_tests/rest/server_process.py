"""A real ``benchmark-db serve`` (uvicorn) on 127.0.0.1 and a free port, started and stopped around a block."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx2

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(db: Path, scope: str, *extra: str) -> str:
    """A token made by the CLI, as a user makes one: the last line of stdout."""
    done = subprocess.run([str(BIN / "benchmark-db"), "token", "create", "--scope", scope, "--db-path", str(db), *extra],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def running_server(db: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``benchmark-db serve --db-path db`` until the block ends; yields its base URL."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BENCHMARK_")} | (env or {})
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(BIN / "benchmark-db"), "serve", "--host", "127.0.0.1", "--port", str(port), "--db-path", str(db),
             "--log-level", "warning", *args],
            stdout=out, stderr=subprocess.STDOUT, env=environment, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"the server exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            try:
                if httpx2.get(f"{base}/health", timeout=5).status_code in (200, 401, 503):  # 401: reads need a token
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not answer within 90 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield base
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
