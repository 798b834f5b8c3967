"""A local, file-per-block store that re-hashes every block it hands out.

Blocks are keyed by multihash (like kubo's flatfs), so the CIDv0 and CIDv1 of one dag-pb block
share a file. Every block is written durably: a temporary file beside its final name, fsync, then
``os.replace`` and an fsync of the directory, so once ``put`` returns the block survives a crash
and a reader never sees a half-written block under its final name.

Storing a block that is already there compares the stored bytes with the given ones (which hash
to the CID) and rewrites the file when they differ: a block that was torn or flipped on disk is
healed by the next ``put`` of the right bytes (a new snapshot that shares it, ``import-car`` of a
good CAR, a fetch from a node) instead of staying corrupt for ever.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from benchmark_pipeline.lib.content.cid import CID, b32encode
from benchmark_pipeline.lib.content.errors import BlockNotFoundError, CorruptBlockError

# What ``BlockStore.write`` did with a block.
NEW = "new"  # it was not in the store
PRESENT = "present"  # it was, with the right bytes: nothing written
REPAIRED = "repaired"  # it was, with other bytes (corrupt or torn): rewritten

# A batch fsyncs blocks on this many threads (fsync waits on the disk, not the CPU, and concurrent
# fsyncs share journal commits) with at most this many written but not yet fsynced blocks open.
BATCH_SYNC_THREADS = 8
BATCH_IN_FLIGHT = 64


def create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A fresh file beside its final name ``name``, for write-then-``os.replace``.

    Unlike ``tempfile.mkstemp`` (always 0600) the mode honours the umask, so the renamed result
    has the permissions a plain ``open(..., "w")`` would have given it.
    """
    while True:
        path = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path
        except FileExistsError:
            continue


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a rename into it, a new file) durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes | memoryview) -> tuple[int, Path]:
    """``data`` in a fresh temporary file beside ``path``; the descriptor is left open for the fsync."""
    fd, tmp = create_temp(path.parent, path.name)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return fd, tmp


def _sync_and_rename(fd: int, tmp: Path, path: Path) -> None:
    """fsync the temporary file, then give it its final name: a block is never torn under that name."""
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_durably(path: Path, data: bytes | memoryview, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, and (``sync_dir``) fsync of the directory."""
    _sync_and_rename(*_write_temp(path, data), path)
    if sync_dir:
        fsync_dir(path.parent)


class _Batch:
    """Blocks written in a ``BlockStore.batch``: fsynced and renamed on worker threads, directories at the end."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(BATCH_SYNC_THREADS, thread_name_prefix="blockstore-fsync")
        self.slots = threading.BoundedSemaphore(BATCH_IN_FLIGHT)
        self.pending: list[Future] = []
        self.dirs: set[Path] = set()
        self.names: set[Path] = set()  # written in this batch (a block repeated in a file is written once)

    def submit(self, path: Path, data: bytes | memoryview) -> None:
        self.slots.acquire()
        try:
            fd, tmp = _write_temp(path, data)  # here: ``data`` may be a view of a buffer the caller reuses
        except BaseException:
            self.slots.release()
            raise
        self.dirs.add(path.parent)
        self.names.add(path)
        future = self.pool.submit(_sync_and_rename, fd, tmp, path)
        future.add_done_callback(lambda _: self.slots.release())
        self.pending.append(future)
        if len(self.pending) > 4 * BATCH_IN_FLIGHT:  # keep the list short; surface a failure early
            done = [f for f in self.pending if f.done()]
            for f in done:
                f.result()
            self.pending = [f for f in self.pending if not f.done()]

    def finish(self) -> None:
        try:
            for future in self.pending:
                future.result()
            for future in [self.pool.submit(fsync_dir, d) for d in sorted(self.dirs)]:
                future.result()
        finally:
            self.pool.shutdown(wait=True)

    def abort(self) -> None:
        self.pool.shutdown(wait=True)  # every temporary file is then renamed or removed


class BlockStore:
    """The blocks under ``root`` (the shell's default is ``Settings.blocks_dir``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._batch: _Batch | None = None

    def path_for(self, cid: CID) -> Path:
        key = b32encode(cid.multihash).upper()
        # Shard on the next-to-last two characters, as flatfs does: the tail of a digest is
        # uniformly spread, while the head of every sha2-256 multihash key is identical.
        return self.root / key[-3:-1] / f"{key}.data"

    def has(self, cid: CID) -> bool:
        return self.path_for(cid).is_file()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many ``put`` calls whose fsyncs overlap: each block is still fsynced before it gets its name,
        but on worker threads, and each shard directory is fsynced once, at the end.

        A block is in place and durable when the ``with`` block exits normally, not when ``put``
        returns; a caller that records the blocks somewhere (a snapshot's HEAD) does it after the exit.
        Meant for one thread at a time per ``BlockStore``.
        """
        if self._batch is not None:  # nested: the outer batch finishes the work
            yield
            return
        batch = self._batch = _Batch()
        try:
            yield
            batch.finish()
        except BaseException:
            batch.abort()
            raise
        finally:
            self._batch = None

    def write(self, cid: CID, data: bytes | memoryview, *, verify: bool = True) -> str:
        """Store ``data`` under ``cid``; return ``NEW``, ``PRESENT`` or ``REPAIRED``.

        ``verify=False`` is for callers that have just computed the CID from these bytes (the
        importer, a CAR reader), to avoid hashing twice: the given bytes are then taken as the
        right ones, and a stored copy that differs from them is corrupt.
        """
        if verify and not cid.verify(data):
            raise CorruptBlockError(f"refusing to store block {cid}: its bytes do not hash to that CID")
        path = self.path_for(cid)
        if self._batch is not None and path in self._batch.names:
            return PRESENT
        outcome = NEW
        try:
            with open(path, "rb", buffering=0) as fh:
                # Comparing with bytes known to hash to the CID is as good as hashing, and cheaper
                # (bytes with bytes is a memcmp; a memoryview would be compared item by item).
                if os.fstat(fh.fileno()).st_size == len(data) and fh.read() == bytes(data):
                    return PRESENT
            outcome = REPAIRED
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
        if self._batch is not None:
            self._batch.submit(path, data)
        else:
            write_durably(path, data)
        return outcome

    def put(self, cid: CID, data: bytes | memoryview, *, verify: bool = True) -> bool:
        """Store ``data`` under ``cid``; return False if the right bytes were already there."""
        return self.write(cid, data, verify=verify) != PRESENT

    def get(self, cid: CID) -> bytes:
        path = self.path_for(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlockNotFoundError(f"block {cid} is not in the blockstore at {self.root}") from None
        if not cid.verify(data):
            raise CorruptBlockError(
                f"block {cid} is corrupt: the {len(data)} bytes in {path} do not hash to its CID"
            )
        return data

    def read_unverified(self, cid: CID) -> bytes | None:
        """The stored bytes as they are, unchecked (``None`` if absent): to salvage what a corrupt block still says."""
        try:
            return self.path_for(cid).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def delete(self, cid: CID) -> bool:
        try:
            self.path_for(cid).unlink()
        except FileNotFoundError:
            return False
        return True
