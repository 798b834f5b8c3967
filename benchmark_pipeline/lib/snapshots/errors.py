"""Snapshot failures the CLI and the asset report as such, apart from bugs."""

from __future__ import annotations

from benchmark_pipeline.lib.content.errors import ContentError


class SnapshotError(ContentError):
    """A snapshot that is unknown, corrupt or incomplete, or that cannot be restored."""


class NodeError(Exception):
    """The IPFS node could not be used (unreachable, timed out, or an unexpected answer)."""


class NodeUnavailableError(NodeError):
    """No node answered at ``IPFS_API_URL`` (connection refused, timeout, not an IPFS API)."""


class NodeCidMismatchError(NodeError):
    """The node reports a different CID for our data: never tolerated, the content is not what we sent."""
