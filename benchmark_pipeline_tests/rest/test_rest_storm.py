"""POST storms on the real server; nothing is lost and nothing is stored twice: the warehouse holds exactly the
records accepted, each once, with the ids the answers gave.

The first: 10 clients x 50 records (in lists of 10), each client also retrying one of its own submissions and one
of another client's while they are all in flight, and readers of every kind (plain reader, query sandbox,
comparison) asking all the while; every read succeeds. The second, at the size the REST issue asks for: 20 clients
x 500 records in POSTs of varying sizes, half of them with an Idempotency-Key, retried by their own client and
by others (with the same key, and without one), one key reused for another body (refused, not stored), and not
one answer a 5xx.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone

import duckdb
import httpx2
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
    answers: list[tuple[int, int, httpx2.Response]] = []  # (client, batch, response)
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(c: int, base: str) -> None:
        sends = [(c, b) for b in range(BATCHES)] + [(c, 0), ((c + 1) % CLIENTS, BATCHES - 1)]  # + two retries
        with httpx2.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {submit}"}) as http:
            start.wait(60)
            for owner, b in sends:
                response = http.post("/performance", json=plans[owner][b])
                with lock:
                    answers.append((owner, b, response))

    reads: list[httpx2.Response] = []
    writers_done = threading.Event()

    def reader(path: str, base: str) -> None:  # reads of every connection mode, all through the storm
        with httpx2.Client(base_url=base, timeout=300) as http:
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


BIG_CLIENTS, BIG_RECORDS = 20, 500
BIG_MODEL = "storm-model-big"


def _big_chunks(client: int) -> list[list[dict]]:
    """The client's 500 records, in POSTs of 5 to 150 records (a different split for each client)."""
    start = datetime(2025, 6, 1, tzinfo=timezone.utc) + timedelta(days=client)
    records = [perf_record(model_name=BIG_MODEL, device_name=f"storm-big-device-{client}", batch_size=i % 8 + 1,
                           throughput_items_per_second=float(client * 10_000 + i + 1),
                           timestamp=(start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"))
               for i in range(BIG_RECORDS)]
    rng, chunks = random.Random(client), []
    while records:
        size = rng.randint(5, 150)
        chunks.append(records[:size])
        records = records[size:]
    return chunks


def test_a_storm_of_20_clients_by_500_records_stores_exactly_what_was_accepted(warehouse, tmp_path):
    """Clients 0, 4, 8, ... send with keys and retry every POST at once (same key); 1, 5, ... with keys, replaying
    their first and last POST at the end; 2, 6, ... without keys, sending every third POST twice; 3, 7, ... without
    keys, and also sending the first two POSTs of the keyed client before them with its keys while that client
    sends them too. Client 3 last reuses one of client 0's keys for records of its own: refused, never stored."""
    submit = token(warehouse, "submit")
    plans = {c: _big_chunks(c) for c in range(BIG_CLIENTS)}
    key = {(c, i): f"storm-{c}-{i}" for c in range(BIG_CLIENTS) if c % 4 in (0, 1) for i in range(len(plans[c]))}
    stray = [perf_record(model_name=BIG_MODEL, device_name="storm-big-stray", batch_size=1,
                         timestamp="2025-07-01T00:00:00Z")]
    answers: list[tuple[tuple[int, int] | None, httpx2.Response]] = []  # (owner, chunk) or None for the stray
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(BIG_CLIENTS)
    finished = {c: threading.Event() for c in range(BIG_CLIENTS)}

    def sends(c: int) -> list[tuple[int, int]]:
        own = [(c, i) for i in range(len(plans[c]))]
        if c % 4 == 0:
            return [s for pair in own for s in (pair, pair)]
        if c % 4 == 1:
            return own + [own[0], own[-1]]
        if c % 4 == 2:
            return [s for i, pair in enumerate(own) for s in ([pair, pair] if i % 3 == 0 else [pair])]
        return [(c - 3, 0), (c - 3, 1)] + own

    def client(c: int, base: str) -> None:
        try:
            with httpx2.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {submit}"}) as http:
                start.wait(60)
                for owner, i in sends(c):
                    headers = {"Idempotency-Key": key[owner, i]} if (owner, i) in key else {}
                    response = http.post("/performance", json=plans[owner][i], headers=headers)
                    with lock:
                        answers.append(((owner, i), response))
                if c == 3:
                    finished[0].wait(600)
                    response = http.post("/performance", json=stray, headers={"Idempotency-Key": key[0, 0]})
                    with lock:
                        answers.append((None, response))
        except Exception as exc:  # a dropped connection is a lost answer: the test must say so, not hang
            with lock:
                failures.append(f"client {c}: {type(exc).__name__}: {exc}")
        finally:
            finished[c].set()

    began = time.monotonic()
    with running_server(warehouse, tmp_path / "server.log") as base:
        threads = [threading.Thread(target=client, args=(c, base)) for c in range(BIG_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(900)
        assert not any(t.is_alive() for t in threads)
    took = time.monotonic() - began

    assert failures == []
    assert len(answers) == sum(len(sends(c)) for c in range(BIG_CLIENTS)) + 1
    assert not [r for _, r in answers if r.status_code >= 500], [r.text for _, r in answers if r.status_code >= 500]
    ((_, refused),) = [(s, r) for s, r in answers if s is None]
    assert refused.status_code == 422 and refused.json()["error"] == "idempotency_key_reused", refused.text
    stored_answers = [(s, r) for s, r in answers if s is not None]
    assert all(r.status_code in (200, 201) for _, r in stored_answers), \
        [r.text for _, r in stored_answers if r.status_code not in (200, 201)][:3]

    by_submission: dict[tuple[int, int], set[tuple[int, ...]]] = {}
    created: dict[tuple[int, int], int] = {}
    for submission, response in stored_answers:
        by_submission.setdefault(submission, set()).add(tuple(response.json()["stored_ids"]))
        created[submission] = created.get(submission, 0) + (response.status_code == 201)
    assert by_submission.keys() == {(c, i) for c in range(BIG_CLIENTS) for i in range(len(plans[c]))}
    assert all(len(ids) == 1 for ids in by_submission.values())  # every answer to a submission gives the same ids
    assert set(created.values()) == {1}  # each stored by exactly one request; every other answer was a replay
    assert sum(len(sends(c)) for c in range(BIG_CLIENTS)) > len(by_submission)  # there were retries
    accepted = sorted(i for ids in by_submission.values() for i in next(iter(ids)))
    assert len(accepted) == len(set(accepted)) == BIG_CLIENTS * BIG_RECORDS

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        stored = sorted(r[0] for r in conn.execute(
            "SELECT p.result_id FROM performance_results p JOIN models m USING (model_id) "
            "WHERE m.model_name = ?", [BIG_MODEL]).fetchall())
        distinct = conn.execute(
            "SELECT count(DISTINCT (p.hardware_id, p.batch_size, p.run_time)) FROM performance_results p "
            "JOIN models m USING (model_id) WHERE m.model_name = ?", [BIG_MODEL]).fetchall()[0][0]
    assert stored == accepted and distinct == len(stored)
    print(f"\n{BIG_CLIENTS} x {BIG_RECORDS} records in {len(by_submission)} submissions, {len(answers)} POSTs: "
          f"{took:.1f} s")
