"""Snapshots over HTTP: taking one (and not twice for the same data), the history with its CIDs and row counts,
restoring an older one by admin only, refusals a client can act on (400, 404, 403), a damaged snapshot refused
with the warehouse untouched, and tokens that a restore neither brings back nor drops."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.cid import CID, RAW
from benchmark_pipeline.rest.tokens import TokenStore
from benchmark_pipeline_tests.conftest import perf_record

L4 = {"device_name": "NVIDIA L4", "timestamp": "2025-03-20T10:00:00Z"}


@pytest.fixture
def snap(api_factory, warehouse: Path, tmp_path: Path):
    """The API over a copy of the sample warehouse, snapshots under tmp_path/data and the blockstore elsewhere
    (BENCHMARK_BLOCKS_DIR), as a deployment that keeps its blocks on another disk would have it."""
    env = {"BENCHMARK_DATA_DIR": str(tmp_path / "data"), "BENCHMARK_BLOCKS_DIR": str(tmp_path / "blocks")}
    return api_factory(warehouse, env=env)


def _take(api, expect: int = 201, **params) -> dict:
    answer = api.client.post("/snapshots", params=params, headers=api.auth("submit"))
    assert answer.status_code == expect, answer.text
    return answer.json()


def _history(api, **params) -> list[dict]:
    answer = api.client.get("/snapshots", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _performance_count(api) -> int:
    health = api.client.get("/health")
    assert health.status_code == 200, health.text
    return health.json()["performance_results"]


def _add_l4_result(api, batch_size: int = 4) -> None:
    record = perf_record(**L4, batch_size=batch_size, throughput_items_per_second=700.0)
    assert api.client.post("/performance", json=record, headers=api.auth("submit")).status_code == 201


def _restore(api, cid: str, scope: str = "admin"):
    return api.client.post(f"/snapshots/{cid}/restore", headers=api.auth(scope))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_snapshot_is_listed_with_its_cids_and_the_warehouse_row_counts(snap, tmp_path):
    assert _history(snap) == []
    rows = _performance_count(snap)
    taken = _take(snap)
    assert taken["created"] and not taken["published"]
    assert "IPFS_API_URL" in taken["warning"]  # no node in tests: kept local, and the answer says so

    listed = snap.client.get("/snapshots")
    assert listed.headers["X-Total-Count"] == "1" and "Link" not in listed.headers
    [entry] = listed.json()
    assert (entry["cid"], entry["database_cid"], entry["export_cid"]) == (
        taken["cid"], taken["database_cid"], taken["export_cid"])
    assert entry["row_counts"]["performance_results"] == rows > 0
    assert entry["state"] == "local" and entry["previous"] is None
    assert entry["size_bytes"] == (tmp_path / "warehouse" / "benchmarks.duckdb").stat().st_size
    # The blocks went where the settings say, not into the snapshots folder.
    assert BlockStore(tmp_path / "blocks").has(CID.parse(entry["database_cid"]))
    assert not (tmp_path / "data" / "snapshots" / "blocks").exists()
    assert snap.client.get("/v1/snapshots").json() == [entry]


def test_unchanged_data_is_not_snapshotted_twice_unless_forced(snap):
    first = _take(snap)
    again = _take(snap, expect=200)
    assert not again["created"] and again["cid"] == first["cid"]
    assert [e["cid"] for e in _history(snap)] == [first["cid"]]
    forced = _take(snap, force="true")
    assert forced["created"] and forced["cid"] != first["cid"] and forced["export_cid"] == first["export_cid"]
    assert [e["cid"] for e in _history(snap)] == [forced["cid"], first["cid"]]


def test_new_data_makes_a_new_snapshot_that_points_to_the_old_one(snap):
    first = _take(snap)
    rows = _performance_count(snap)
    _add_l4_result(snap)
    second = _take(snap)
    assert second["cid"] != first["cid"] and second["export_cid"] != first["export_cid"]

    newest, oldest = _history(snap)
    assert newest["cid"] == second["cid"] and newest["previous"] == first["cid"] and oldest["cid"] == first["cid"]
    assert newest["row_counts"]["performance_results"] == rows + 1
    assert oldest["row_counts"]["performance_results"] == rows

    page_one = snap.client.get("/snapshots", params={"per_page": 1})
    assert [e["cid"] for e in page_one.json()] == [second["cid"]]
    assert page_one.headers["X-Total-Count"] == "2" and 'rel="next"' in page_one.headers["Link"]
    page_two = snap.client.get("/snapshots", params={"per_page": 1, "page": 2})
    assert [e["cid"] for e in page_two.json()] == [first["cid"]] and 'rel="prev"' in page_two.headers["Link"]


def test_admin_restores_an_older_snapshot(snap, tmp_path):
    first = _take(snap)
    rows = _performance_count(snap)
    _add_l4_result(snap)
    assert _performance_count(snap) == rows + 1
    _take(snap)

    restored = _restore(snap, first["cid"])
    assert restored.status_code == 200, restored.text
    body = restored.json()
    warehouse = tmp_path / "warehouse" / "benchmarks.duckdb"
    assert body["cid"] == first["cid"] and body["target"] == str(warehouse.resolve())
    assert Path(body["backup"]).is_file() and Path(body["backup"]).parent == warehouse.parent.resolve()
    assert _performance_count(snap) == rows
    gone = snap.client.get("/performance", params={"hardware": "NVIDIA L4"})
    assert gone.status_code == 404 and gone.json()["error"] == "unknown_name"  # the later result is not there

    # HEAD (the newest snapshot), named here by its database CID, brings the later result back.
    head = _history(snap)[0]
    again = snap.client.post(f"/v1/snapshots/{head['database_cid']}/restore", headers=snap.auth("admin"))
    assert again.status_code == 200 and again.json()["cid"] == head["cid"]
    assert _performance_count(snap) == rows + 1


def test_only_admin_may_restore(snap):
    first = _take(snap)
    _add_l4_result(snap)
    rows = _performance_count(snap)
    for scope in ("submit", "read"):
        refused = _restore(snap, first["cid"], scope)
        assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope", refused.text
        assert "'admin'" in refused.json()["message"]
    anonymous = snap.client.post(f"/snapshots/{first['cid']}/restore")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "missing_token"
    assert _performance_count(snap) == rows


def test_taking_a_snapshot_needs_submit(snap):
    assert snap.client.post("/snapshots").status_code == 401
    refused = snap.client.post("/snapshots", headers=snap.auth("read"))
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert _history(snap) == []


@pytest.mark.parametrize("name", ["not-a-cid", "bafy!!", "Qm123"])
def test_a_name_that_is_not_a_cid_is_a_400_that_says_so(snap, name):
    _take(snap)
    refused = _restore(snap, name)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["error"] == "invalid_cid" and repr(name) in body["message"] and "HEAD" in body["message"]


def test_a_cid_of_no_snapshot_is_a_404_naming_the_known_ones(snap):
    unknown = str(CID.for_block(b"hello world", RAW))  # a well-formed CID of bytes no snapshot holds
    assert _restore(snap, "HEAD").json()["error"] == "unknown_snapshot"  # none taken yet
    taken = _take(snap)
    refused = _restore(snap, unknown)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"] == "unknown_snapshot" and taken["cid"] in refused.json()["message"]


def test_a_damaged_snapshot_is_refused_and_the_warehouse_left_as_it_was(snap, tmp_path):
    first = _take(snap)
    _add_l4_result(snap)
    _take(snap)
    warehouse = tmp_path / "warehouse" / "benchmarks.duckdb"
    rows, before = _performance_count(snap), _sha256(warehouse)

    block = BlockStore(tmp_path / "blocks").path_for(CID.parse(first["database_cid"]))
    block.chmod(0o644)
    block.write_bytes(b"not the bytes this CID hashes" + block.read_bytes()[30:])
    refused = _restore(snap, first["cid"])
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "restore_refused" and "left unchanged" in body["message"]
    assert first["cid"] in body["message"] and "corrupt" in body["message"]

    block.unlink()  # a missing block is refused the same way
    missing = _restore(snap, first["cid"])
    assert missing.status_code == 409 and "incomplete" in missing.json()["message"], missing.text

    assert _sha256(warehouse) == before and _performance_count(snap) == rows
    assert sorted(p.name for p in warehouse.parent.iterdir() if "restore" in p.name) == []  # no backup, no temp


def test_a_restore_keeps_the_tokens_as_they_are_now(snap, tmp_path):
    """Tokens are beside the warehouse, not in it: one made after the snapshot keeps working after a restore,
    and one revoked after it stays revoked."""
    first = _take(snap)
    _add_l4_result(snap)
    tokens = TokenStore(snap.settings.tokens_path)
    late, _ = tokens.create("submit", name="made-after-the-snapshot")
    revoked = next(t for t in tokens.list() if t.name == "submit-test")
    tokens.revoke(revoked.id)
    token_file = snap.settings.tokens_path.read_bytes()

    assert _restore(snap, first["cid"]).status_code == 200
    assert snap.settings.tokens_path.read_bytes() == token_file
    record = perf_record(**L4, batch_size=32, throughput_items_per_second=2000.0)
    assert snap.client.post("/performance", json=record,
                            headers={"Authorization": f"Bearer {late}"}).status_code == 201
    refused = snap.client.post("/performance", json=record, headers=snap.auth("submit"))
    assert refused.status_code == 401 and refused.json()["error"] == "revoked_token"


def test_no_warehouse_to_snapshot_is_a_404(api_factory, tmp_path):
    api = api_factory(tmp_path / "nothing" / "benchmarks.duckdb",
                      env={"BENCHMARK_DATA_DIR": str(tmp_path / "data")})
    refused = api.client.post("/snapshots", headers=api.auth("submit"))
    assert refused.status_code == 404 and refused.json()["error"] == "no_warehouse", refused.text
    assert "ingest" in refused.json()["message"]


def test_snapshot_and_restore_wait_for_the_requests_in_flight(api_factory, warehouse, tmp_path):
    """Both touch the warehouse file, so they wait for this server's open connections (bounded: 503 past it)."""
    api = api_factory(warehouse, env={"BENCHMARK_DATA_DIR": str(tmp_path / "data"), "BENCHMARK_LOCK_TIMEOUT_S": "0.5"})
    first = _take(api)
    _add_l4_result(api)
    rows = _performance_count(api)
    with api.client.app.state.api.service.gate.hold("read"):  # a read in flight
        restoring = _restore(api, first["cid"])
        taking = api.client.post("/snapshots", headers=api.auth("submit"))
    for busy in (restoring, taking):
        assert busy.status_code == 503 and busy.json()["error"] == "server_busy", busy.text
        assert busy.headers["Retry-After"]
    assert _performance_count(api) == rows and len(_history(api)) == 1
    assert _restore(api, first["cid"]).status_code == 200 and _performance_count(api) == rows - 1
