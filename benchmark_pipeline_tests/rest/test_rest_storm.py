"""A POST storm on the real server: 10 clients x 50 records (in lists of 10), each client also retrying one of its
own submissions and one of another client's while they are all in flight, and readers of every kind (plain
reader, query sandbox, comparison) asking all the while. Nothing is lost and nothing is stored twice: the
warehouse holds exactly the records accepted, each once, with the ids the answers gave; every read succeeds."""

from __future__ import annotations

import threading

import duckdb
import httpx
import pytest

from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.rest.server_process import running_server, token

pytestmark = pytest.mark.slow

CLIENTS, BATCHES, PER_BATCH = 10, 5, 10


def _batch(client: int, batch: int) -> list[dict]:
    return [perf_record(model_name="storm-model", device_name=f"storm-device-{client}", batch_size=batch * 100 + i + 1,
                        throughput_items_per_second=float(client * 1000 + batch * 10 + i + 1),
                        timestamp=f"2025-05-{client + 1:02d}T{batch:02d}:{i:02d}:00Z")
            for i in range(PER_BATCH)]


def test_post_storm_loses_and_duplicates_nothing(warehouse, tmp_path):
    submit = token(warehouse, "submit")
    plans = {c: [_batch(c, b) for b in range(BATCHES)] for c in range(CLIENTS)}
    answers: list[tuple[int, int, httpx.Response]] = []  # (client, batch, response)
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(c: int, base: str) -> None:
        sends = [(c, b) for b in range(BATCHES)] + [(c, 0), ((c + 1) % CLIENTS, BATCHES - 1)]  # + two retries
        with httpx.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {submit}"}) as http:
            start.wait(60)
            for owner, b in sends:
                response = http.post("/performance", json=plans[owner][b])
                with lock:
                    answers.append((owner, b, response))

    reads: list[httpx.Response] = []
    writers_done = threading.Event()

    def reader(path: str, base: str) -> None:  # reads of every connection mode, all through the storm
        with httpx.Client(base_url=base, timeout=300) as http:
            while not writers_done.is_set():
                if path == "/query":
                    response = http.post(path, json={"sql": "SELECT count(*) FROM performance_results"})
                else:
                    response = http.get(path, params={"model": "bert-base-uncased"})
                with lock:
                    reads.append(response)

    with running_server(warehouse, tmp_path / "server.log") as base:
        threads = [threading.Thread(target=client, args=(c, base)) for c in range(CLIENTS)]
        readers = [threading.Thread(target=reader, args=(path, base))
                   for path in ("/performance", "/compare/hardware", "/query")]
        for t in [*threads, *readers]:
            t.start()
        for t in threads:
            t.join(600)
        writers_done.set()
        for t in readers:
            t.join(300)
        assert not any(t.is_alive() for t in [*threads, *readers])

    assert len(reads) >= 3 and all(r.status_code == 200 for r in reads), \
        sorted({(r.status_code, r.text[:200]) for r in reads if r.status_code != 200})[:3]

    assert len(answers) == CLIENTS * (BATCHES + 2)
    assert all(r.status_code in (200, 201) for _, _, r in answers), [r.text for _, _, r in answers
                                                                      if r.status_code not in (200, 201)][:3]
    by_submission: dict[tuple[int, int], set[tuple[int, ...]]] = {}
    for owner, b, response in answers:
        by_submission.setdefault((owner, b), set()).add(tuple(response.json()["stored_ids"]))
    assert len(by_submission) == CLIENTS * BATCHES
    assert all(len(ids) == 1 for ids in by_submission.values())  # a retry answers with the first answer's ids
    created = [r for _, _, r in answers if r.status_code == 201]
    assert len(created) == CLIENTS * BATCHES  # each submission stored exactly once; every other answer is a replay
    accepted = sorted(i for ids in by_submission.values() for i in next(iter(ids)))
    assert len(accepted) == len(set(accepted)) == CLIENTS * BATCHES * PER_BATCH

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        stored = sorted(r[0] for r in conn.execute(
            "SELECT p.result_id FROM performance_results p JOIN models m USING (model_id) "
            "WHERE m.model_name = 'storm-model'").fetchall())
        distinct = conn.execute(
            "SELECT count(DISTINCT (p.hardware_id, p.batch_size, p.run_time)) FROM performance_results p "
            "JOIN models m USING (model_id) WHERE m.model_name = 'storm-model'").fetchall()[0][0]
    assert stored == accepted and distinct == len(stored)
