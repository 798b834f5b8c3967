"""Fixtures of the REST tests: a sample warehouse (with regression flags) copied per test, and the API over it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmark_pipeline.config import Settings
from benchmark_pipeline.rest.app import create_app
from benchmark_pipeline.rest.tokens import TokenStore
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline.service.samples import build_sample_warehouse


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The synthetic drops ingested (a throughput step on bert/A100 from day 8), then regressions detected."""
    root = tmp_path_factory.mktemp("rest-sample")
    db = build_sample_warehouse(root)
    BenchmarkService(db).update_regressions()
    return db


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built with ``env={}`` keep their snapshots in ./data: each REST test runs from its own tmp_path,
    so that one which takes a snapshot (the fuzzer's POST /snapshots) never writes into the checkout's data
    folder, nor moves the HEAD of its snapshot history."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the sample warehouse this test may write to."""
    db = tmp_path / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir(parents=True)
    shutil.copy(sample_warehouse, db)
    return db


@dataclass
class Api:
    client: TestClient
    settings: Settings
    tokens: dict[str, str]  # scope -> a token of that scope

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def make_api(db: Path, reads_need_token: bool = False, env: dict[str, str] | None = None) -> Api:
    settings = Settings.from_env(db_path=db, env=env or {})
    store = TokenStore(settings.tokens_path)
    tokens = {scope: store.create(scope, name=f"{scope}-test")[0] for scope in ("read", "submit", "admin")}
    app = create_app(settings, reads_need_token=reads_need_token)
    return Api(TestClient(app, raise_server_exceptions=False), settings, tokens)


@pytest.fixture
def api(warehouse: Path) -> Api:
    return make_api(warehouse)


@pytest.fixture
def api_factory():
    """``make_api(db, reads_need_token=False, env=None)``: for tests that need another server configuration."""
    return make_api
