"""A local, file-per-block store that re-hashes every block it hands out.

Blocks are keyed by multihash (like kubo's flatfs), so the CIDv0 and CIDv1 of one dag-pb block
share a file. Writes go through a temporary file and ``os.replace`` so a reader never sees a half
written block under its final name; there is no fsync per block (that would dominate ``add``),
because a block torn by a crash is caught by the hash check on read and can simply be re-added.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from benchmark_pipeline.lib.content.cid import CID, b32encode
from benchmark_pipeline.lib.content.errors import BlockNotFoundError, CorruptBlockError

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


class BlockStore:
    """The blocks under ``root`` (the shell's default is ``Settings.blocks_dir``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, cid: CID) -> Path:
        key = b32encode(cid.multihash).upper()
        # Shard on the next-to-last two characters, as flatfs does: the tail of a digest is
        # uniformly spread, while the head of every sha2-256 multihash key is identical.
        return self.root / key[-3:-1] / f"{key}.data"

    def has(self, cid: CID) -> bool:
        return self.path_for(cid).is_file()

    def put(self, cid: CID, data: bytes | memoryview, *, verify: bool = True) -> bool:
        """Store ``data`` under ``cid``; return False if it was already there.

        ``verify=False`` is for callers that have just computed the CID from these bytes (the
        importer), to avoid hashing twice.
        """
        if verify and not cid.verify(data):
            raise CorruptBlockError(f"refusing to store block {cid}: its bytes do not hash to that CID")
        path = self.path_for(cid)
        if path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(path.parent, path.name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

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

    def delete(self, cid: CID) -> bool:
        try:
            self.path_for(cid).unlink()
        except FileNotFoundError:
            return False
        return True
