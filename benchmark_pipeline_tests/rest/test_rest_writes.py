"""Writing over HTTP: records stored and read back through every read endpoint, per-record reasons, retries that
store nothing twice, Idempotency-Keys that stand for one body, uploads, limits, and no write without a token of the
right scope."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmark_pipeline_tests.conftest import perf_record

L4 = {"device_name": "NVIDIA L4", "timestamp": "2025-03-20T10:00:00Z"}


def _perf(**overrides):
    return perf_record(**{**L4, **overrides})


def test_records_stored_then_read_back_through_each_read_endpoint(api):
    records = [_perf(batch_size=4, throughput_items_per_second=700.0),
               _perf(batch_size=16, throughput_items_per_second=2400.0, timestamp="2025-03-21T10:00:00Z")]
    answer = api.client.post("/performance", json=records, headers=api.auth("submit"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] == 2 and body["quarantined"] == [] and not body["already_stored"]
    ids = body["stored_ids"]

    page = api.client.get("/performance", params={"hardware": "NVIDIA L4", "model": "BERT-base-uncased"}).json()
    assert [r["result_id"] for r in page["items"]] == ids
    assert [r["throughput_items_per_second"] for r in page["items"]] == [700.0, 2400.0]
    assert page["items"][0]["hardware"] == "cuda: NVIDIA L4" and page["items"][0]["source_path"] == body["source_path"]

    run_id = page["items"][0]["run_id"]
    run = api.client.get(f"/runs/{run_id}").json()
    assert run["results"]["performance"] == 2 and run["models"] == ["bert-base-uncased"]

    hardware = {h["hardware"]: h for h in api.client.get("/hardware").json()}
    assert hardware["cuda: NVIDIA L4"]["performance_results"] == 2
    models = {m["model_name"]: m for m in api.client.get("/models").json()}
    assert models["bert-base-uncased"]["hardware_platforms"] == 5  # the sample's four, and the L4

    compare = api.client.get("/compare/hardware", params={"model": "bert-base-uncased"}).json()
    column = compare["columns"].index("cuda: NVIDIA L4")
    by_batch = {(r[0], r[1]): r[column] for r in compare["rows"]}
    assert by_batch[(4, "fp16")] == 700.0 and by_batch[(16, "fp16")] == 2400.0

    summary = api.client.get("/models/bert-base-uncased").json()
    assert any(r["hardware"] == "cuda: NVIDIA L4" and r["batch_size"] == 16 for r in summary["hardware"])
    on_l4 = api.client.get("/hardware/NVIDIA L4").json()
    assert {r["model_name"] for r in on_l4["models"]} == {"bert-base-uncased"}
    rankings = api.client.get("/rankings", params={"model": "bert-base-uncased", "batch_size": 16}).json()
    assert [r["hardware"] for r in rankings] == ["cuda: NVIDIA L4"]  # the derived table came along with the write
    query = api.client.post("/query", json={"sql": f"SELECT count(*) FROM performance_results WHERE result_id IN "
                                                   f"({', '.join(map(str, ids))})"}).json()
    assert query["rows"] == [[2]]


def test_compatibility_and_integration_round_trip(api):
    compat = {"model_name": "t5-small", "hardware_type": "rocm", "device_name": "AMD MI300X", "is_compatible": False,
              "error_type": "OOM", "error_message": "out of memory", "timestamp": "2025-03-22T00:00:00Z"}
    stored = api.client.post("/compatibility", json=compat, headers=api.auth("submit"))
    assert stored.status_code == 201, stored.text
    rows = api.client.get("/compatibility", params={"hardware": "rocm"}).json()["items"]
    assert [(r["compatibility_id"], r["is_compatible"], r["error_type"]) for r in rows] == [
        (stored.json()["stored_ids"][0], False, "OOM")]
    cells = api.client.get("/compatibility/matrix", params={"subject": "t5-small", "hardware_type": "rocm"}).json()
    assert [(c["level"], c["status"]) for c in cells] == [("model", "incompatible")]

    test = {"test_module": "test_api", "test_name": "test_roundtrip", "status": "fail", "model_name": "t5-small",
            "hardware_type": "cpu", "error_message": "boom", "timestamp": "2025-03-22T00:00:00Z"}
    stored = api.client.post("/integration", json=[test], headers=api.auth("submit"))
    assert stored.status_code == 201, stored.text
    rows = api.client.get("/integration", params={"model": "t5-small", "since": "2025-03-22"}).json()["items"]
    assert [(r["test_name"], r["status"], r["error_message"]) for r in rows] == [("test_roundtrip", "fail", "boom")]


def test_bad_records_come_back_with_reasons_per_record(api):
    good, bad = _perf(batch_size=2), _perf(batch_size="two", average_latency_ms=-3)
    partial = api.client.post("/performance", json=[good, bad], headers=api.auth("submit"))
    assert partial.status_code == 207, partial.text
    body = partial.json()
    assert body["stored"] == 1 and len(body["stored_ids"]) == 1
    reasons = {(q["record_index"], q["field"]): q for q in body["quarantined"]}
    assert reasons[(1, "batch_size")]["value"] == "two" and "not a number" in reasons[(1, "batch_size")]["reason"]
    assert reasons[(1, "average_latency_ms")]["reason"] == "must be > 0"

    none = api.client.post("/performance", json={"model_name": "x"}, headers=api.auth("submit"))
    assert none.status_code == 422
    assert {(q["record_index"], q["field"]) for q in none.json()["quarantined"]} >= {(0, "hardware_type")}
    assert none.json()["stored_ids"] == []

    for payload, code in ((b"{oops", "invalid_json"), (b"[]", "invalid_body"), (b"42", "invalid_body"),
                          (b'[{"a": 1}, 3]', "invalid_body")):
        refused = api.client.post("/performance", content=payload, headers=api.auth("submit"))
        assert refused.status_code == 400 and refused.json()["error"] == code, payload


def test_a_retried_post_stores_nothing_twice(api):
    records = [_perf(batch_size=b, throughput_items_per_second=100.0 * b) for b in (3, 5, 7)]
    first = api.client.post("/performance", json=records, headers=api.auth("submit"))
    again = api.client.post("/performance", json=records, headers={**api.auth("submit"), "Idempotency-Key": "k-1"})
    key_order = api.client.post("/performance", content=json.dumps([{k: r[k] for k in reversed(list(r))}
                                                                    for r in records]),
                                headers=api.auth("admin"))
    assert first.status_code == 201 and again.status_code == 200 and key_order.status_code == 200
    assert again.headers["Idempotency-Key"] == "k-1"
    assert first.json()["stored_ids"] == again.json()["stored_ids"] == key_order.json()["stored_ids"]
    assert again.json()["already_stored"] and again.json()["status"] == "unchanged (ingested)"
    count = api.client.post("/query", json={"sql": "SELECT count(*) FROM performance_results WHERE source_path = "
                                                   f"'{first.json()['source_path']}'"}).json()["rows"][0][0]
    assert count == 3


def _count(api, table: str = "performance_results") -> int:
    return api.client.post("/query", json={"sql": f"SELECT count(*) FROM {table}"}).json()["rows"][0][0]


def _token_id(token: str) -> str:
    return token.split("_")[1]  # bdb_<id>_<secret>


def test_an_idempotency_key_stands_for_one_body(api):
    records = [_perf(batch_size=b, throughput_items_per_second=10.0 * b) for b in (31, 32)]
    keyed = {**api.auth("submit"), "Idempotency-Key": "nightly-2025-03-20"}
    first = api.client.post("/performance", json=records, headers=keyed)
    again = api.client.post("/performance", content=json.dumps([dict(reversed(list(r.items()))) for r in records]),
                            headers=keyed)  # the same records, keys in another order: the same body
    assert first.status_code == 201 and again.status_code == 200, (first.text, again.text)
    assert again.json()["stored_ids"] == first.json()["stored_ids"] and again.json()["already_stored"]
    assert again.headers["Idempotency-Key"] == "nightly-2025-03-20"
    stored, compatibility = _count(api), _count(api, "hardware_compatibility")

    other = api.client.post("/performance", json=[_perf(batch_size=33)], headers=keyed)
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "idempotency_key_reused"
    message = other.json()["message"]
    assert "'nightly-2025-03-20'" in message and "different body" in message and "new key" in message
    elsewhere = api.client.post("/compatibility", json={"model_name": "t5-small", "hardware_type": "cpu",
                                                        "is_compatible": True}, headers=keyed)
    assert elsewhere.status_code == 422 and "for POST /performance, not POST /compatibility" in \
        elsewhere.json()["message"]
    assert _count(api) == stored and _count(api, "hardware_compatibility") == compatibility
    # Keys are per token: another client's same key is its own.
    mine = api.client.post("/performance", json=[_perf(batch_size=33)],
                           headers={**api.auth("admin"), "Idempotency-Key": "nightly-2025-03-20"})
    assert mine.status_code == 201 and _count(api) == stored + 1


def test_idempotency_keys_outlive_a_restart_and_expire_after_a_day(api, api_factory):
    from benchmark_pipeline.rest.idempotency import IdempotencyStore, store_path

    keyed = {**api.auth("submit"), "Idempotency-Key": "run-77"}
    assert api.client.post("/performance", json=_perf(batch_size=41), headers=keyed).status_code == 201
    restarted = api_factory(api.settings.db_path)  # a new application (and store) over the same warehouse
    refused = restarted.client.post("/performance", json=_perf(batch_size=42), headers=keyed)
    assert refused.status_code == 422 and refused.json()["error"] == "idempotency_key_reused"
    replay = restarted.client.post("/performance", json=_perf(batch_size=41), headers=keyed)
    assert replay.status_code == 200 and replay.json()["already_stored"]

    path = store_path(api.settings.db_path)
    assert path.parent == api.settings.db_path.parent and path.stat().st_mode & 0o077 == 0  # beside, private
    yesterday = IdempotencyStore(path, clock=lambda: time.time() - 24 * 3600 - 60)
    assert yesterday.claim(_token_id(api.tokens["submit"]), "run-78", "POST /performance", "0" * 64) is None
    later = api.client.post("/performance", json=_perf(batch_size=43), headers={**keyed, "Idempotency-Key": "run-78"})
    assert later.status_code == 201, later.text  # its first use was more than 24 h ago: the key is free again


def test_the_key_store_binds_and_forgets_on_its_clock(tmp_path):
    from benchmark_pipeline.rest.idempotency import IdempotencyStore

    now = [1_000_000.0]
    store = IdempotencyStore(tmp_path / "keys.sqlite", clock=lambda: now[0])
    assert store.claim("t1", "k", "POST /performance", "a") is None
    assert store.claim("t1", "k", "POST /performance", "a") is None  # a retry
    assert store.claim("t2", "k", "POST /performance", "b") is None  # another token's key
    now[0] += 24 * 3600 - 1
    earlier = store.claim("t1", "k", "POST /performance", "b")
    assert earlier is not None and earlier.fingerprint == "a" and earlier.first_used_at == 1_000_000.0
    assert store.claim("t1", "k", "POST /compatibility", "a").operation == "POST /performance"
    now[0] += 1
    assert store.claim("t1", "k", "POST /performance", "b") is None  # 24 h after its first use: free
    assert store.claim("t1", "k", "POST /performance", "a").fingerprint == "b"


def _claim_all(path: str, worker: int, keys: int, start) -> list[str | None]:
    from benchmark_pipeline.rest.idempotency import IdempotencyStore

    store = IdempotencyStore(Path(path))
    store.claim("t", f"warm-up-{worker}", "POST /performance", "")  # the schema, before the race
    start.wait(60)  # all at once, not as each process happens to finish starting
    return [None if (use := store.claim("t", f"k{i}", "POST /performance", f"body-{worker}")) is None
            else use.fingerprint for i in range(keys)]


def test_the_key_store_lets_one_request_of_many_processes_bind_a_key(tmp_path):
    """Server processes on one warehouse race for the same keys with different bodies: each key goes to exactly
    one of them, and every other one is told whose body it stands for."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers, keys = 4, 200
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        start = manager.Barrier(workers)
        results = list(pool.map(_claim_all, [str(tmp_path / "keys.sqlite")] * workers, range(workers),
                                [keys] * workers, [start] * workers))
    for i in range(keys):
        winners = [w for w in range(workers) if results[w][i] is None]
        assert len(winners) == 1, (i, [r[i] for r in results])
        assert {results[w][i] for w in range(workers) if w != winners[0]} == {f"body-{winners[0]}"}


@pytest.mark.parametrize("key, problem", [("", "empty"), ("k" * 256, "256 characters long; at most 255")])
def test_an_empty_or_overlong_key_is_refused(api, key, problem):
    before = _count(api)
    answer = api.client.post("/performance", json=_perf(batch_size=51),
                             headers={**api.auth("submit"), "Idempotency-Key": key})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_idempotency_key", answer.text
    assert problem in answer.json()["message"] and _count(api) == before
    longest = api.client.post("/performance", json=_perf(batch_size=51),
                              headers={**api.auth("submit"), "Idempotency-Key": "k" * 255})
    assert longest.status_code == 201


def test_an_idempotency_key_on_an_upload_stands_for_its_bytes(api):
    data = json.dumps([_perf(batch_size=61)]).encode()
    keyed = {**api.auth("submit"), "Idempotency-Key": "upload-1"}
    first = api.client.post("/ingest", params={"category": "performance"}, files={"file": ("a.json", data)},
                            headers=keyed)
    renamed = api.client.post("/ingest", params={"category": "performance"}, files={"file": ("b.json", data)},
                              headers=keyed)
    assert first.status_code == 201 and renamed.status_code == 200 and renamed.headers["Idempotency-Key"] == "upload-1"
    assert renamed.json()["stored_ids"] == first.json()["stored_ids"]
    stored = _count(api)
    changed = api.client.post("/ingest", params={"category": "performance"},
                              files={"file": ("a.json", json.dumps([_perf(batch_size=62)]).encode())}, headers=keyed)
    assert changed.status_code == 422 and changed.json()["error"] == "idempotency_key_reused"
    as_legacy = api.client.post("/ingest", files={"file": ("a.json", data)}, headers=keyed)
    assert as_legacy.status_code == 422 and "POST /ingest?category=performance, not POST /ingest?category=legacy" \
        in as_legacy.json()["message"]
    assert _count(api) == stored


def test_no_write_without_a_token_of_the_right_scope(api):
    record = _perf(batch_size=9)
    cases = [({}, 401, "missing_token"), ({"Authorization": "Basic abc"}, 401, "missing_token"),
             ({"Authorization": "Bearer not-a-token"}, 401, "invalid_token"), (api.auth("read"), 403,
                                                                                "insufficient_scope")]
    for headers, status, code in cases:
        refused = api.client.post("/performance", json=record, headers=headers)
        assert refused.status_code == status and refused.json()["error"] == code, (headers, refused.text)
        assert "benchmark-db token create" in refused.json()["message"] or status == 403
    assert api.client.post("/ingest", files={"file": ("a.json", b"{}")}).status_code == 401
    unknown = api.client.get("/performance", params={"hardware": "NVIDIA L4"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_name"  # none of the refused writes landed
    assert api.client.post("/performance", json=record, headers=api.auth("submit")).status_code == 201


def test_a_revoked_token_stops_working_at_once(api):
    from benchmark_pipeline.rest.tokens import TokenStore

    store = TokenStore(api.settings.tokens_path)
    token, info = store.create("submit")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.post("/performance", json=_perf(batch_size=11), headers=headers).status_code == 201
    store.revoke(info.id)
    refused = api.client.post("/performance", json=_perf(batch_size=12), headers=headers)
    assert refused.status_code == 401 and refused.json()["error"] == "revoked_token"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_upload_a_result_file(api):
    data = json.dumps([_perf(batch_size=64, throughput_items_per_second=5000.0),
                       _perf(batch_size=-1)]).encode()
    first = api.client.post("/ingest", params={"category": "performance"},
                            files={"file": ("nightly_20250323_120000.json", data, "application/json")},
                            headers=api.auth("submit"))
    assert first.status_code == 207, first.text
    body = first.json()
    assert body["stored"] == 1 and list(body["stored_ids"]) == ["performance"]
    assert [(q["record_index"], q["field"]) for q in body["quarantined"]] == [(1, "batch_size")]
    again = api.client.post("/ingest", params={"category": "performance"},
                            files={"file": ("renamed.json", data)}, headers=api.auth("submit"))
    assert again.json()["already_stored"] and again.json()["stored_ids"] == body["stored_ids"]
    assert again.json()["duplicate_of"] == body["source_path"]

    legacy = {"model": "bert-base-uncased", "hardware": "cuda", "timestamp": "2025-03-24T00:00:00",  # the original
              "batch_results": {"2": {"batch_size": 2, "success": True, "avg_latency_ms": 3.0,  # system's shape
                                      "throughput_items_per_second": 666.0, "memory_mb": 900.0},
                                "128": {"batch_size": 128, "success": False, "error": "CUDA out of memory"}}}
    converted = api.client.post("/ingest", files={"file": ("benchmark_bert_cuda.json", json.dumps(legacy).encode())},
                                headers=api.auth("submit"))
    assert converted.status_code == 201, converted.text
    assert converted.json()["category"] == "legacy" and converted.json()["detected_type"] == "direct_benchmark"
    (result_id,) = converted.json()["stored_ids"]["performance"]
    rows = api.client.get("/performance", params={"model": "bert-base-uncased", "batch_size": 2}).json()["items"]
    assert [(r["result_id"], r["throughput_items_per_second"]) for r in rows] == [(result_id, 666.0)]

    junk = api.client.post("/ingest", files={"file": ("notes.json", b'{"hello": "world"}')},
                           headers=api.auth("submit"))
    assert junk.status_code == 422 and junk.json()["stored"] == 0 and junk.json()["reason"]


def test_upload_an_llm_result_with_what_it_lacks_as_query_options(api):
    from benchmark_pipeline_tests.llm_runs import serve_result

    data = json.dumps(serve_result(8, 150.0, 30.0, 500.0)).encode()
    refused = api.client.post("/ingest", files={"file": ("serve.json", data)}, headers=api.auth("submit"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["quarantined"][0]["field"] == "device_name"  # no GPU: never stored as unknown
    bad = api.client.post("/ingest", params={"gpu": "NVIDIA L40S", "framework": "vllm==="},
                          files={"file": ("serve.json", data)}, headers=api.auth("submit"))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_llm_option" and "vllm===" in bad.text
    stored = api.client.post("/ingest", params={"gpu": "NVIDIA L40S", "gpu_count": 2, "cost_per_hour": 2.4,
                                                "framework": "vllm==0.6.3"},
                             files={"file": ("serve.json", data)}, headers=api.auth("submit"))
    assert stored.status_code == 201, stored.text
    assert stored.json()["detected_type"] == "llm_serving:vllm_bench_serve"
    [result_id] = stored.json()["stored_ids"]["llm_serving"]
    rows = api.client.get("/llm/costs").json()
    assert [(r["result_id"], r["gpu_count"]) for r in rows] == [(result_id, 2)]


def test_bodies_over_the_limit_are_refused(warehouse, api_factory):
    small = api_factory(warehouse, env={"BENCHMARK_API_MAX_BODY_MB": "0.01"})  # about 10 kB
    big = [_perf(batch_size=b) for b in range(1, 200)]
    refused = small.client.post("/performance", json=big, headers=small.auth("submit"))
    assert refused.status_code == 413 and refused.json()["error"] == "too_large"
    upload = small.client.post("/ingest", files={"file": ("big.json", json.dumps(big).encode())},
                               headers=small.auth("submit"))
    assert upload.status_code == 413

    def chunks():  # no Content-Length: the limit is counted as the body streams in
        for _ in range(20):
            yield b" " * 1024

    streamed = small.client.post("/performance", content=chunks(), headers=small.auth("submit"))
    assert streamed.status_code == 413
    assert small.client.post("/performance", json=big[:2], headers=small.auth("submit")).status_code == 201


def test_acknowledge_needs_submit_and_mute_needs_admin(api):
    flags = api.client.get("/regressions", params={"only_open": True}).json()
    assert flags, "the sample's throughput step should be flagged"
    flag = flags[0]["flag_id"]
    note = {"note": "expected: new kernel"}
    assert api.client.post(f"/regressions/{flag}/ack", json=note).status_code == 401
    assert api.client.post(f"/regressions/{flag}/ack", json=note, headers=api.auth("read")).status_code == 403
    ack = api.client.post(f"/regressions/{flag[:8]}/ack", json=note, headers=api.auth("submit"))
    assert ack.status_code == 200, ack.text
    assert ack.json()["ack_kind"] == "ack" and ack.json()["acknowledged_by"] == "submit-test"
    listed = {f["flag_id"]: f for f in api.client.get("/regressions").json()}
    assert listed[flag]["status"] == "acknowledged"

    other = next(f for f in flags if f["series_id"] != listed[flag]["series_id"])
    assert api.client.post(f"/regressions/{other['flag_id']}/mute", json=note,
                           headers=api.auth("submit")).status_code == 403
    muted = api.client.post(f"/regressions/{other['flag_id']}/mute", json={**note, "by": "ops"},
                            headers=api.auth("admin"))
    assert muted.status_code == 200 and muted.json()["acknowledged_by"] == "ops"
    assert {f["flag_id"]: f for f in api.client.get("/regressions").json()}[other["flag_id"]]["status"] == "muted"
    unknown = api.client.post("/regressions/ffffffffffff/ack", json=note, headers=api.auth("submit"))
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_flag"
    extra = api.client.post(f"/regressions/{flag}/ack", json={**note, "severity": 3}, headers=api.auth("submit"))
    assert extra.status_code == 400 and extra.json()["error"] == "invalid_request"


def test_regressions_update_after_a_write(api):
    refreshed = api.client.post("/regressions/update", headers=api.auth("submit"))
    assert refreshed.status_code == 200 and refreshed.json()["series_analysed"] == 0  # nothing changed yet
    api.client.post("/performance", json=_perf(batch_size=8, device_name="NVIDIA A100-SXM4-80GB"),
                    headers=api.auth("submit"))
    refreshed = api.client.post("/regressions/update", headers=api.auth("submit")).json()
    assert refreshed["series_analysed"] >= 1


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_the_v1_alias_serves_the_same_api(api, prefix):
    stored = api.client.post(f"{prefix}/performance", json=_perf(batch_size=21), headers=api.auth("submit"))
    assert stored.status_code == 201
    rows = api.client.get(f"{prefix}/performance", params={"batch_size": 21}).json()["items"]
    assert [r["result_id"] for r in rows] == stored.json()["stored_ids"]
