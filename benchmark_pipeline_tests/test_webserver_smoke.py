"""The real dagster-webserver on 127.0.0.1 with a fresh DAGSTER_HOME, asked over GraphQL what it serves."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

QUERY = """
{
  assetNodes { assetKey { path } description kinds }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        sensors { name sensorState { status } }
        schedules { name cronSchedule scheduleState { status } }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_webserver_serves_described_assets_and_running_automation(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCHMARK_DATA_DIR": str(tmp_path / "data"),
           "BENCHMARK_DB_PATH": str(tmp_path / "w.duckdb")}
    port = free_port()
    log = open(tmp_path / "webserver.log", "w")
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 150
        while True:
            assert server.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "webserver did not answer within 150 s"
            time.sleep(1)
        data = graphql(port, QUERY)
        for _ in range(60):  # the code location may still be loading right after startup
            if data.get("data", {}).get("assetNodes"):
                break
            time.sleep(1)
            data = graphql(port, QUERY)
        assert "errors" not in data, data
        nodes = data["data"]["assetNodes"]
        assert len(nodes) >= 20
        for node in nodes:
            assert node["description"], f"{node['assetKey']['path']} has no description"
            assert node["kinds"], f"{node['assetKey']['path']} has no kinds"
        (repo,) = data["data"]["repositoriesOrError"]["nodes"]
        sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
        assert sensors.get("result_files_sensor") == "RUNNING"
        assert schedules.get("daily_refresh") == "RUNNING"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
