"""``benchmark-db llm`` as a user runs it: a real process over a warehouse of vLLM files, answers and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmark_pipeline_tests.llm_runs import write_llm_drops

BENCHMARK_DB = [sys.executable, "-m", "benchmark_pipeline.cli"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm_cli")
    drops = root / "drops"
    write_llm_drops(drops)
    db = root / "w.duckdb"
    assert run("ingest", drops, "--db-path", db).returncode == 0
    return db


def run(*args):
    env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    return subprocess.run([*BENCHMARK_DB, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def test_sla_names_the_cheapest_and_what_was_left_out(warehouse):
    done = run("llm", "sla", "ttft_ms_p90<=300,user_tokens_per_s>=20", "--db-path", warehouse)
    assert done.returncode == 0, done.stderr
    assert "3 of 4 load points meet ttft_ms_p90<=300, user_tokens_per_s>=20; 1 of 5 left out (1 lack ttft_ms_p90)" \
        in done.stderr
    assert "cheapest: acme/llm-8b on 2x NVIDIA A100-SXM4-80GB at concurrency 32: $2.549 per million" in done.stderr
    as_json = json.loads(run("llm", "sla", "ttft_ms_p90<=300", "--format", "json", "--db-path", warehouse).stdout)
    assert as_json["cheapest"]["usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)
    nothing = run("llm", "sla", "ttft_ms_p90<=50", "--db-path", warehouse)
    assert nothing.returncode == 1 and "0 of 4 load points meet" in nothing.stderr


def test_rank_and_use_cases(warehouse):
    cases = json.loads(run("llm", "use-cases", "--format", "json", "--db-path", warehouse).stdout)
    chat = next(c for c in cases if c["use_case"] == "chatbot")
    assert chat["sla"] == {"ttft_ms_p90": {"max": 300}, "user_tokens_per_s": {"min": 20}}
    ranked = run("llm", "rank", "chatbot", "--format", "csv", "--db-path", warehouse)
    assert ranked.returncode == 0 and "3 configurations meet its SLA and are ranked; stored ranking" in ranked.stderr
    assert ranked.stdout.splitlines()[0].startswith("rank_position,composite_score,model_name")
    assert len(ranked.stdout.splitlines()) == 4


@pytest.mark.parametrize("args, message", [
    (("sla", "ttft_p90<=300"), "'ttft_p90' is not one of"),
    (("rank", "chat"), "no use case named 'chat'; did you mean: chatbot"),
    (("sla", "ttft_ms_p90<=300", "--model", "acme/llm-9b"), "no model with LLM-serving results named 'acme/llm-9b'"),
])
def test_questions_it_cannot_answer_are_usage_errors(warehouse, args, message):
    done = run("llm", *args, "--db-path", warehouse)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
