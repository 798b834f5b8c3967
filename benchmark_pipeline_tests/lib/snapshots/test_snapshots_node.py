"""The kubo RPC backend, against a small stub (always) and a real offline js-ipfs 0.66.1 node (slow)."""

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmark_pipeline.lib.content.car import read_car
from benchmark_pipeline.lib.content.cid import CID
from benchmark_pipeline.lib.content.unixfs import iter_file
from benchmark_pipeline.lib.snapshots.errors import NodeCidMismatchError, NodeUnavailableError
from benchmark_pipeline.lib.snapshots.node import KuboRpcClient, fetching_getter, publish, try_publish
from benchmark_pipeline.lib.snapshots.store import SnapshotStore, create_snapshot, restore_snapshot

NODE_DIR = Path(__file__).resolve().parents[3] / ".ci" / "node"
JSIPFS = NODE_DIR / "node_modules" / ".bin" / "jsipfs"


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class StubNode(BaseHTTPRequestHandler):
    """Just the five calls, over an in-memory blockstore; ``behaviour`` injects faults."""

    blocks: dict = {}
    behaviour = "honest"

    def log_message(self, *args):
        pass

    def _reply(self, payload: bytes, status: int = 200):
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        url = urlsplit(self.path)
        args = parse_qs(url.query).get("arg", [])
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.behaviour == "slow":
            time.sleep(1.5)
        command = url.path.removeprefix("/api/v0/")
        if command == "version":
            return self._reply(b'{"Version":"stub-0.1"}')
        if command == "dag/import":
            boundary = self.headers["Content-Type"].split("boundary=")[1].encode()
            car = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--" + boundary + b"--", 1)[0]
            roots, blocks = read_car(io.BytesIO(car))
            for cid, data in blocks:
                self.blocks[(cid.codec, cid.digest)] = data
            lines = [json.dumps({"Root": {"Cid": {"/": str(r)}, "PinErrorMsg": ""}}) for r in roots]
            return self._reply("\n".join(lines).encode())
        cid = CID.parse(args[0])
        if command == "pin/add":
            pinned = str(cid) if self.behaviour != "lying" else "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
            return self._reply(json.dumps({"Pins": [pinned]}).encode())
        data = self.blocks.get((cid.codec, cid.digest))
        if data is None:
            return self._reply(b'{"Message":"block not found"}', 500)
        if command == "block/get":
            return self._reply(data)
        if command == "cat":
            return self._reply(b"".join(iter_file(lambda c: self.blocks[(c.codec, c.digest)], cid)))
        return self._reply(b"{}", 404)


@pytest.fixture
def stub():
    StubNode.blocks = {}
    StubNode.behaviour = "honest"
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, StubNode
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_publish_to_stub_then_restore_from_it(warehouse, store, stub, tmp_path):
    server, handler = stub
    manifest = create_snapshot(store, warehouse).manifest
    node = KuboRpcClient(_url(server), timeout_s=5)
    published, warning = try_publish(store, manifest, node)
    assert published and warning is None
    assert store.published(manifest)["node_version"] == "stub-0.1"
    # A machine with an empty blockstore restores by fetching every block from the node.
    fresh = SnapshotStore(tmp_path / "fresh")
    target = tmp_path / "restored.duckdb"
    restore_snapshot(fresh, manifest, target, get=fetching_getter(fresh, node))
    assert sha256_of(target) == sha256_of(warehouse)


def test_no_node_keeps_the_snapshot_local_unless_required(warehouse, store):
    manifest = create_snapshot(store, warehouse).manifest
    published, warning = try_publish(store, manifest, None)
    assert not published and "snapshot push" in warning and store.published(manifest) is None
    down = KuboRpcClient(f"http://127.0.0.1:{_closed_port()}", timeout_s=2)
    published, warning = try_publish(store, manifest, down)
    assert not published and "unpublished" in warning
    with pytest.raises(NodeUnavailableError):
        try_publish(store, manifest, None, required=True)
    with pytest.raises(NodeUnavailableError):
        try_publish(store, manifest, down, required=True)


def test_cid_mismatch_is_a_hard_error(warehouse, store, stub):
    server, handler = stub
    handler.behaviour = "lying"
    manifest = create_snapshot(store, warehouse).manifest
    with pytest.raises(NodeCidMismatchError):
        try_publish(store, manifest, KuboRpcClient(_url(server), timeout_s=5))
    assert store.published(manifest) is None


def test_every_call_times_out(stub):
    server, handler = stub
    handler.behaviour = "slow"
    started = time.monotonic()
    with pytest.raises(NodeUnavailableError, match="timed out"):
        KuboRpcClient(_url(server), timeout_s=0.3).version()
    assert time.monotonic() - started < 1.4


# -- a real node ---------------------------------------------------------------------------------

def _free_port() -> int:
    return _closed_port()


@pytest.fixture(scope="module")
def jsipfs_node(tmp_path_factory):
    """js-ipfs 0.66.1, offline: no bootstrap peers, no swarm listeners, API and gateway on 127.0.0.1."""
    if not JSIPFS.exists() or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but js-ipfs is not installed ({JSIPFS}); run npm ci in .ci/node")
        pytest.skip("js-ipfs not installed (npm ci in .ci/node)")
    repo = tmp_path_factory.mktemp("jsipfs") / "repo"
    env = dict(os.environ, IPFS_PATH=str(repo),
               NODE_OPTIONS=f"--require {NODE_DIR / 'promise-with-resolvers.cjs'}")
    subprocess.run([str(JSIPFS), "init", "--profile", "test"], env=env, check=True, capture_output=True, timeout=120)
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    api = _free_port()
    config["Bootstrap"] = []
    config["Addresses"].update(
        Swarm=[], Delegates=[], API=f"/ip4/127.0.0.1/tcp/{api}", Gateway=f"/ip4/127.0.0.1/tcp/{_free_port()}",
        RPC=f"/ip4/127.0.0.1/tcp/{_free_port()}")
    config["Discovery"] = {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}}
    config_path.write_text(json.dumps(config))
    log = open(repo.parent / "daemon.log", "wb")
    proc = subprocess.Popen([str(JSIPFS), "daemon", "--offline"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{api}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                KuboRpcClient(url, timeout_s=2).version()
                break
            except NodeUnavailableError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((repo.parent / "daemon.log").read_text()) from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_real_node_publish_pin_fetch_and_restore(jsipfs_node, warehouse, store, tmp_path):
    node = KuboRpcClient(jsipfs_node, timeout_s=60)
    manifest = create_snapshot(store, warehouse).manifest
    record = publish(store, manifest, node)
    assert record["node_version"]
    assert node.block_get(manifest.database_cid) == store.blocks.get(manifest.database_cid)
    assert b"".join(node.cat(manifest.database_cid)) == warehouse.read_bytes()
    fresh = SnapshotStore(tmp_path / "fresh")
    target = tmp_path / "restored.duckdb"
    restore_snapshot(fresh, manifest, target, get=fetching_getter(fresh, node))
    assert sha256_of(target) == sha256_of(warehouse)


@pytest.mark.slow
def test_real_node_gives_our_export_directory_cid(jsipfs_node, warehouse, store, tmp_path):
    """The node's own importer, fed the export files, must arrive at our directory CID."""
    import http.client

    manifest = create_snapshot(store, warehouse).manifest
    files = manifest.data["export"]["files"]
    boundary = "snapshotboundary"
    parts = []
    for name in sorted(files):
        data = b"".join(iter_file(store.blocks.get, CID.parse(files[name]["cid"])))
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    port = int(jsipfs_node.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/v0/add?cid-version=1&raw-leaves=true&wrap-with-directory=true&only-hash=true",
                 body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    lines = [json.loads(x) for x in conn.getresponse().read().splitlines() if x.strip()]
    conn.close()
    # js-ipfs prints CIDv1 in base58btc (z...): compare parsed CIDs, not strings.
    by_name = {line["Name"]: str(CID.parse(line["Hash"])) for line in lines}
    assert {n: by_name[n] for n in files} == {n: f["cid"] for n, f in files.items()}
    assert by_name[""] == str(manifest.export_cid)
