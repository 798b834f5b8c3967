"""The service as the server uses it: reads from a read copy, writes through the one writer.

The server is this warehouse's writer for its own POSTs (through ``BenchmarkService.writer``, which takes
the same OS lock as every CLI and Dagster writer). Its reads are answered from a private copy of the
last committed state (``ReadCopies``), SQL from a request included: no connect per request, and no wait
while an ingest or a Dagster run writes (the state before that write is served; ``X-Data-Age`` says how
old). The gate puts the server's own writes (POSTs, snapshots, restores) in line, each alone, with a
bounded wait that becomes a 503; other processes' writers are waited out by the OS lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from benchmark_pipeline.lib.analytics.safe_query import DEFAULT_MEMORY_LIMIT
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline.service.read_copy import CopyState, ReadCopies, open_sandboxed

from .gate import ConnectionGate

WRITE = "write"


class ServerService(BenchmarkService):
    """``BenchmarkService`` with reads from a read copy and the server's writes in line behind a gate."""

    def __init__(self, *args: Any, gate: ConnectionGate | None = None, wait_s: float = 15.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate or ConnectionGate()
        self.wait_s = wait_s
        self.copies = ReadCopies(self.db_path, wait_s=wait_s, open_copy=open_sandboxed)

    @contextmanager
    def reader(self) -> Iterator[Any]:
        with self.copies.cursor() as conn:
            yield conn

    def analysis_reader(self, memory_limit: str | None = DEFAULT_MEMORY_LIMIT):
        return self.reader()

    def read_copy_state(self) -> CopyState:
        return self.copies.state()

    def close(self) -> None:
        """Remove the read copies (the server calls this at shutdown)."""
        self.copies.close()

    @contextmanager
    def sandboxed_reader(self, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, **_options: Any) -> Iterator[Any]:
        # The copy is opened as the sandbox (``open_sandboxed``): /query reads it like every other request.
        with self.copies.cursor() as conn:
            yield conn

    @contextmanager
    def writer(self) -> Iterator[Any]:
        # A write waits its turn for as long as a writer waits for the OS lock: a POST is never dropped for
        # being queued behind reads.
        with self.gate.hold(WRITE, exclusive=True, timeout_s=self.lock_timeout_s), super().writer() as conn:
            yield conn

