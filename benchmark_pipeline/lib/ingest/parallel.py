"""Reading and validating a big batch on every core, in chunks of files, handed over in file order.

Parsing JSON into Python objects and normalizing them is CPU-bound and holds the GIL, so the work is
split across worker processes. Chunks come back in the order of the files, which is the order the
writer plans them in (first path wins for duplicate content). At most ``workers + 1`` chunks are
in flight, so memory stays bounded by a few chunks however large the batch is.

Workers never outlive the ingest that started them. Leaving the block stops them; a parent that dies
without leaving it (``kill -9``, the OOM killer) stops them too: on Linux the kernel sends each worker
SIGKILL when its parent goes (``PR_SET_PDEATHSIG``), elsewhere a thread in the worker watches the
parent's pid, and a parent gone before the worker got that far is caught by a pid check at its start.
Before, the workers waited on their task queue (or sat in a long chunk) forever.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

import pandas as pd

from benchmark_pipeline.lib.batch_contract import ValidatedBatch
from benchmark_pipeline.lib.llm.defaults import LlmDefaults

from .batch import read_and_validate

# About 75,000 flat records: big enough for whole-column work, small enough to pipeline.
CHUNK_BYTES = 32 << 20


def chunk_files(files: pd.DataFrame, chunk_bytes: int = CHUNK_BYTES) -> list[pd.DataFrame]:
    """Consecutive runs of files of about ``chunk_bytes`` each (a file is never split)."""
    chunks, start, size = [], 0, 0
    for i, nbytes in enumerate(files["size_bytes"].to_numpy()):
        size += int(nbytes)
        if size >= chunk_bytes:
            chunks.append(files.iloc[start:i + 1].reset_index(drop=True))
            start, size = i + 1, 0
    if start < len(files) or not chunks:
        chunks.append(files.iloc[start:].reset_index(drop=True))
    return chunks


@contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection off while millions of short-lived records are built.

    The collector would otherwise walk every live record dict again and again (about a third of the
    parse time here); the cycles left over are collected once at the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate_chunk(files: pd.DataFrame, seen_at: datetime, max_file_bytes: int | None = None,
                    llm_defaults: LlmDefaults | None = None) -> ValidatedBatch:
    with paused_gc():
        return read_and_validate(files, seen_at=seen_at, max_file_bytes=max_file_bytes, llm_defaults=llm_defaults)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker as soon as ``parent_pid`` (the ingest that forked it) is gone."""
    if not _kernel_kills_on_parent_death():
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="watch-parent", daemon=True).start()
    if os.getppid() != parent_pid:  # it died before the line above took effect
        os._exit(1)


def _kernel_kills_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, every_s: float = 0.5) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every_s)
    os._exit(1)


class ValidatedChunks:
    """Validated chunks of ``files`` in file order, from worker processes when there is enough work.

    Use as a context manager: entering forks the workers (before the caller opens the warehouse, so
    no child inherits a DuckDB handle) and leaving stops them, also when the caller gives up midway.
    ``max_file_bytes``: files larger than this are not read (see ``read_and_validate``); ``llm_defaults``: what
    fills the gaps of LLM result files (the ingest's --gpu, --framework, ...).
    """

    def __init__(self, files: pd.DataFrame, seen_at: datetime, workers: int | None = None,
                 chunk_bytes: int = CHUNK_BYTES, progress: Callable[[int, int], None] | None = None,
                 max_file_bytes: int | None = None, llm_defaults: LlmDefaults | None = None) -> None:
        self.chunks = chunk_files(files, chunk_bytes)
        self.seen_at = seen_at
        self.max_file_bytes = max_file_bytes
        self.llm_defaults = llm_defaults
        self.total = len(files)
        self.progress = progress
        self.workers = min(workers or os.cpu_count() or 1, len(self.chunks))
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[Future] = deque()
        self._next = 0

    def __enter__(self) -> "ValidatedChunks":
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_die_with_parent, initargs=(os.getpid(),))
            for _ in range(self.workers + 1):
                self._submit()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self) -> None:
        if self._next < len(self.chunks):
            self._pending.append(self._pool.submit(_validate_chunk, self.chunks[self._next], self.seen_at,
                                                   self.max_file_bytes, self.llm_defaults))
            self._next += 1

    def __iter__(self) -> Iterator[ValidatedBatch]:
        done = 0
        for chunk in self.chunks:
            if self._pool is None:
                batch = _validate_chunk(chunk, self.seen_at, self.max_file_bytes, self.llm_defaults)
            else:
                batch = self._pending.popleft().result()
                self._submit()
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, self.total)
            yield batch
