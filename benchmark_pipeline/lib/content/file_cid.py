"""The IPFS CID of a file's bytes (kubo-v1 profile), as ``ipfs add --cid-version 1`` would report it.

Ingest records it in the ledger beside the sha256, so a result file version can be fetched by
content; both hashes come from the one read of the file.
"""

from __future__ import annotations

import hashlib
import os

from .cid import CID, RAW
from .unixfs import KUBO_V1, import_bytes, import_stream


class _Sha256Reader:
    """Feeds the importer and hashes the same bytes on the way through."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def readinto(self, view) -> int:
        n = self.raw.readinto(view)
        if n:
            self.sha.update(view[:n])
        return n or 0


def cid_of_bytes(data: bytes, sha256_digest: bytes | None = None) -> str:
    """kubo-v1 CID of a file's bytes already in memory.

    A file of at most one chunk is a single raw leaf, so its CID is the raw-codec CIDv1 of its sha256
    (pass ``sha256_digest`` when it is already computed); larger files go through the importer.
    """
    if len(data) <= KUBO_V1.chunk_size:
        return str(CID(1, RAW, sha256_digest if sha256_digest is not None else hashlib.sha256(data).digest()))
    return str(import_bytes(data, KUBO_V1).cid)


def file_cid(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(kubo-v1 CID, sha256 hex)`` of a file, in one pass."""
    with open(path, "rb", buffering=0) as fh:
        reader = _Sha256Reader(fh)
        result = import_stream(reader, KUBO_V1)  # type: ignore[arg-type]
    return str(result.cid), reader.sha.hexdigest()
