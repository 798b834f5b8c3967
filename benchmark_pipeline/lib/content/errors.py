"""One base class so callers (the CLI, snapshot code) can tell content problems from bugs."""

from __future__ import annotations


class ContentError(Exception):
    """Content-addressed data that is missing, corrupt or not in a supported format."""


class BlockNotFoundError(ContentError, KeyError):
    """The blockstore has no block for a CID."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "block not found"


class CorruptBlockError(ContentError):
    """A block's bytes do not hash to its CID."""


class UnixFSError(ContentError):
    """A DAG that is not a UnixFS file (a directory, or inconsistent sizes)."""


class CarError(ContentError):
    """A CAR stream that is malformed, truncated or not CARv1."""
