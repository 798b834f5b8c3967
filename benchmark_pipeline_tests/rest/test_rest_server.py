"""The real thing: ``benchmark-db serve`` (uvicorn) on 127.0.0.1 and a free port over a real DuckDB file, a token
made by the CLI, a POST and the reads that see it; and the refusals before any server starts."""

from __future__ import annotations

import socket
import subprocess

import httpx2

from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.rest.server_process import BIN, running_server, token


def test_served_over_a_real_warehouse(warehouse, tmp_path):
    log = tmp_path / "server.log"
    submit = token(warehouse, "submit", "--name", "smoke")
    with running_server(warehouse, log) as base, httpx2.Client(base_url=base, timeout=60) as http:
        health = http.get("/health").json()
        assert health["status"] == "ok" and health["warehouse"] == str(warehouse) and not health["reads_need_token"]

        record = perf_record(device_name="NVIDIA H200", batch_size=4, timestamp="2025-04-01T00:00:00Z")
        assert http.post("/performance", json=record).status_code == 401
        stored = http.post("/v1/performance", json=record, headers={"Authorization": f"Bearer {submit}"})
        assert stored.status_code == 201, stored.text
        rows = http.get("/performance", params={"hardware": "NVIDIA H200"}).json()["items"]
        assert [r["result_id"] for r in rows] == stored.json()["stored_ids"]
        assert http.get("/health").json()["performance_results"] == health["performance_results"] + 1

        page = http.get("/")
        assert page.status_code == 200 and "/static/dashboard.js" in page.text
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        assert http.get("/static/plotly.min.js").status_code == 200
        spec = http.get("/openapi.json").json()
        assert spec["info"]["title"] == "benchmark-db API" and "/performance" in spec["paths"]
        assert http.post("/query", json={"sql": "SELECT * FROM read_csv('/etc/passwd')"}).status_code == 400
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_serve_refuses_a_non_loopback_host_without_allow_remote(tmp_path):
    done = subprocess.run([str(BIN / "benchmark-db"), "serve", "--host", "0.0.0.0", "--db-path",
                           str(tmp_path / "w.duckdb")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--allow-remote" in done.stderr and "Traceback" not in done.stderr


def test_serve_says_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run([str(BIN / "benchmark-db"), "serve", "--port", str(port), "--db-path",
                               str(tmp_path / "w.duckdb")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_loopback_names_are_recognised():
    from benchmark_pipeline.cli.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.org"))
