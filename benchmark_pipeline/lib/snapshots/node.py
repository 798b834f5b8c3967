"""An optional IPFS node behind the kubo RPC HTTP API (kubo itself, or js-ipfs which serves the same calls).

The node is a publication target and a second source of blocks, never a source of truth: every
CID it reports is compared with the one we computed, and a mismatch is a hard error, not a
warning. Every call has a timeout, so an unresponsive node delays a run by a bounded amount.
Only plain ``http://`` URLs are accepted; the API is meant to listen on a loopback address.

Which node (if any) and whether it is required is the caller's to say: an ``IpfsNodeConfig`` (the
shell builds it from ``IPFS_API_URL`` / ``IPFS_API_TIMEOUT``) and a ``required`` flag (``IPFS_REQUIRED``).
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from benchmark_pipeline.lib.content.cid import CID, CidError
from benchmark_pipeline.lib.content.errors import BlockNotFoundError, CorruptBlockError
from benchmark_pipeline.lib.content.unixfs import iter_file

from .errors import NodeCidMismatchError, NodeError, NodeUnavailableError
from .scratch import work_dir

if TYPE_CHECKING:  # annotations only: building an IpfsNodeConfig must not import DuckDB (the CLI shell does it)
    from .store import Manifest, SnapshotStore

# The shell's names for this configuration, used in messages so that they say what to set.
API_URL_ENV = "IPFS_API_URL"
REQUIRED_ENV = "IPFS_REQUIRED"
TIMEOUT_ENV = "IPFS_API_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class IpfsNodeConfig:
    """Where the node's RPC API listens and how long one call may take."""

    api_url: str
    timeout_s: float = DEFAULT_TIMEOUT_S


def node_client(config: IpfsNodeConfig | None) -> "KuboRpcClient | None":
    """The client for a configured node; ``None`` when there is none (raises ``NodeError`` for a bad URL)."""
    if config is None:
        return None
    return KuboRpcClient(config.api_url, config.timeout_s)


class _MultipartFile:
    """A multipart/form-data body streamed from a file, so a 1 GB CAR is never held in memory."""

    def __init__(self, path: Path, boundary: str) -> None:
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.length = len(self.head) + path.stat().st_size + len(self.tail)
        self.fh = open(path, "rb")
        self.stage = 0

    def read(self, n: int = -1) -> bytes:
        while self.stage < 3:
            if self.stage == 0:
                self.stage = 1
                return self.head
            if self.stage == 1:
                data = self.fh.read(n if n and n > 0 else 1 << 20)
                if data:
                    return data
                self.stage = 2
                continue
            self.stage = 3
            return self.tail
        return b""

    def close(self) -> None:
        self.fh.close()


class KuboRpcClient:
    """The five calls we need from ``/api/v0``; every one is a POST with a socket timeout."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise NodeError(f"{API_URL_ENV} must be an http://host:port URL, got {url!r}")
        self.url = url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 5001
        self.timeout_s = timeout_s

    def _request(self, command: str, args: list[str] | None = None, params: dict[str, str] | None = None,
                 body=None, headers: dict[str, str] | None = None, stream: bool = False):
        query = "&".join([f"arg={quote(a, safe='')}" for a in (args or [])]
                         + [f"{k}={quote(v, safe='')}" for k, v in (params or {}).items()])
        path = f"/api/v0/{command}" + (f"?{query}" if query else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("POST", path, body=body, headers=headers or {})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            kind = "timed out" if isinstance(exc, socket.timeout) else f"failed ({exc})"
            raise NodeUnavailableError(f"IPFS node at {self.url}: {command} {kind}") from None
        if response.status != 200:
            detail = response.read(2000).decode("utf-8", "replace")
            conn.close()
            raise NodeError(f"IPFS node at {self.url}: {command} answered HTTP {response.status}: {detail.strip()}")
        if stream:
            return conn, response
        try:
            return response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise NodeUnavailableError(f"IPFS node at {self.url}: {command} failed while reading ({exc})") from None
        finally:
            conn.close()

    def _json_lines(self, raw: bytes) -> list[dict]:
        out = []
        for line in raw.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    raise NodeError(f"IPFS node at {self.url} sent a non-JSON answer: {line[:200]!r}") from None
        return out

    def version(self) -> dict:
        lines = self._json_lines(self._request("version"))
        if not lines or "Version" not in lines[0]:
            raise NodeUnavailableError(f"{self.url} does not answer like an IPFS RPC API (no Version)")
        return lines[0]

    def dag_import(self, car_path: Path) -> list[str]:
        """Import a CAR; return the root CIDs the node reports (pinned by the node as it imports them)."""
        boundary = secrets.token_hex(16)
        body = _MultipartFile(car_path, boundary)
        try:
            raw = self._request("dag/import", params={"pin-roots": "true"}, body=body, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(body.length),
            })
        finally:
            body.close()
        roots = []
        for line in self._json_lines(raw):
            root = line.get("Root")
            if root:
                cid = root.get("Cid", {})
                roots.append(cid.get("/") if isinstance(cid, dict) else str(cid))
                if root.get("PinErrorMsg"):
                    raise NodeError(f"IPFS node could not pin {roots[-1]}: {root['PinErrorMsg']}")
        return roots

    def pin_add(self, cid: CID) -> list[str]:
        lines = self._json_lines(self._request("pin/add", [str(cid)]))
        return [str(p) for line in lines for p in line.get("Pins", [])]

    def block_get(self, cid: CID) -> bytes:
        data = self._request("block/get", [str(cid)])
        if not cid.verify(data):
            raise NodeCidMismatchError(f"IPFS node at {self.url} returned bytes for {cid} that do not hash to it")
        return data

    def cat(self, cid: CID, chunk: int = 1 << 20) -> Iterator[bytes]:
        conn, response = self._request("cat", [str(cid)], stream=True)
        try:
            while True:
                try:
                    data = response.read(chunk)
                except (OSError, http.client.HTTPException) as exc:
                    raise NodeUnavailableError(f"IPFS node at {self.url}: cat {cid} failed ({exc})") from None
                if not data:
                    return
                yield data
        finally:
            conn.close()


def _same(a: str, b: CID) -> bool:
    try:
        parsed = CID.parse(a)
    except CidError:
        return False
    return (parsed.codec, parsed.digest) == (b.codec, b.digest)


def publish(store: SnapshotStore, manifest: Manifest, node: KuboRpcClient) -> dict:
    """Import the snapshot's CAR into the node, pin its roots, read the manifest back; record it."""
    info = node.version()
    with work_dir(store.root / "tmp", "push") as work:  # a killed push's CAR is removed by the next create
        car = work / f"{manifest.cid}.car"
        with open(car, "wb") as fh:
            store.write_car(manifest, fh)
        roots = node.dag_import(car)
    expected = [manifest.cid, manifest.database_cid, manifest.export_cid]
    if roots and (len(roots) != len(expected) or not all(any(_same(r, e) for r in roots) for e in expected)):
        raise NodeCidMismatchError(f"IPFS node imported roots {roots}, expected {[str(e) for e in expected]}")
    for cid in expected:
        pins = node.pin_add(cid)
        if not any(_same(p, cid) for p in pins):
            raise NodeCidMismatchError(f"IPFS node pinned {pins} when asked to pin {cid}")
    served = b"".join(node.cat(manifest.cid))
    if served != b"".join(iter_file(store.blocks.get, manifest.cid)):
        raise NodeCidMismatchError(f"IPFS node serves different bytes for manifest {manifest.cid}")
    record = {"api_url": node.url, "node_version": str(info.get("Version")),
              "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    store.mark_published(manifest, record)
    return record


def fetching_getter(store: SnapshotStore, node: KuboRpcClient | None) -> Callable[[CID], bytes]:
    """Local blocks first; a missing or corrupt one is fetched from the node, verified, and stored (healing it)."""
    def get(cid: CID) -> bytes:
        try:
            return store.blocks.get(cid)
        except (BlockNotFoundError, CorruptBlockError) as exc:
            if node is None:
                raise
            local = exc
        try:
            data = node.block_get(cid)
        except NodeError as exc:
            if isinstance(local, CorruptBlockError):
                raise CorruptBlockError(f"{local}; the IPFS node could not supply it either: {exc}") from None
            raise BlockNotFoundError(f"block {cid} is neither local nor fetchable: {exc}") from None
        store.blocks.put(cid, data, verify=False)  # block_get verified it; a corrupt local copy is rewritten
        return data
    return get


UNPUBLISHED_HINT = "kept local and unpublished; `benchmark-db snapshot push` publishes it later"


def try_publish(store: SnapshotStore, manifest: Manifest, node: KuboRpcClient | None,
                required: bool = False) -> tuple[bool, str | None]:
    """Publish when a node is configured; ``(False, warning)`` when it is absent or down.

    ``required`` (``IPFS_REQUIRED=1``) turns absence or unavailability into an error; a CID mismatch always is.
    """
    if node is None:
        message = f"no IPFS node configured ({API_URL_ENV} unset): snapshot {manifest.cid} {UNPUBLISHED_HINT}"
        if required:
            raise NodeUnavailableError(f"{REQUIRED_ENV}=1 but {API_URL_ENV} is not set")
        return False, message
    try:
        publish(store, manifest, node)
    except NodeCidMismatchError:
        raise
    except NodeError as exc:
        if required:
            raise
        return False, f"{exc}; snapshot {manifest.cid} {UNPUBLISHED_HINT}"
    return True, None
