"""Kept answers: a repeated open read is answered from the cache, and never once the warehouse has changed, nor
for a request whose token must be checked."""

from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.conftest import perf_record

QUERY = {"model": "bert-base-uncased", "limit": 1000}


def _ids(answer) -> list[int]:
    return [row["result_id"] for row in answer.json()["items"]]


def test_a_repeated_read_is_a_hit_with_the_same_answer(api):
    first = api.client.get("/performance", params=QUERY)
    again = api.client.get("/performance", params=QUERY)
    assert first.headers["X-Cache"] == "miss" and again.headers["X-Cache"] == "hit"
    assert again.content == first.content and again.headers["content-type"] == first.headers["content-type"]
    assert float(again.headers["X-Data-Age"]) == 0.0
    other = api.client.get("/performance", params={**QUERY, "limit": 5})  # other parameters: their own answer
    assert other.headers["X-Cache"] == "miss" and len(_ids(other)) == 5


def test_a_post_of_this_server_empties_the_cache(api):
    before = api.client.get("/performance", params=QUERY)
    stored = api.client.post("/performance", json=perf_record(batch_size=4242), headers=api.auth("submit"))
    assert stored.status_code == 201
    after = api.client.get("/performance", params=QUERY)
    assert after.headers["X-Cache"] == "miss"
    assert _ids(after) == _ids(before) + stored.json()["stored_ids"]


def test_a_write_of_another_process_empties_the_cache(api):
    before = api.client.get("/compare/hardware", params={"model": "bert-base-uncased"})
    assert api.client.get("/compare/hardware", params={"model": "bert-base-uncased"}).headers["X-Cache"] == "hit"
    BenchmarkService(api.settings.db_path).ingest_records(
        "performance", perf_record(batch_size=4243, hardware_type="cpu", device_name="A new CPU"))
    after = api.client.get("/compare/hardware", params={"model": "bert-base-uncased"})
    assert after.headers["X-Cache"] == "miss" and after.json() != before.json()


def test_errors_and_token_bearing_reads_are_never_kept(api, api_factory):
    for _ in range(2):
        assert api.client.get("/performance", params={"model": "no-such-model"}).headers["X-Cache"] == "miss"
        assert "X-Cache" not in api.client.get("/performance", params=QUERY, headers=api.auth("read")).headers
    guarded = api_factory(api.settings.db_path, reads_need_token=True)
    for _ in range(2):
        answer = guarded.client.get("/performance", params=QUERY, headers=guarded.auth("read"))
        assert answer.status_code == 200 and "X-Cache" not in answer.headers
    assert guarded.client.get("/performance", params=QUERY).status_code == 401  # not answered from any cache
