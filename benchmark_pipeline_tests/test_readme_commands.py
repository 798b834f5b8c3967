"""Every command in the README's code blocks runs as written, on a copy of the bundled data.

The commands run in README order in a scratch project folder holding a copy of ``data/`` (sample drops
and the example inputs), after the sample job, exactly as a newcomer would type them there. Placeholders
in capitals (``ID``, ``CID``, ``RUN_A``, ``RUN_B``) are filled from the warehouse just before their line
runs. A line may state its exit code in its comment (``# exit 1 …``); otherwise it must exit 0 or 1 (1:
the command worked and found problems). No line may exit 2 or print a traceback. The few commands that
cannot run here (the install scripts, a server that runs until stopped) are listed with the test that
covers them, and an unknown kind of line fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_pipeline.lib.warehouse.connection import open_reader

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Lines that do not run here, each with where it is covered.
COVERED_ELSEWHERE = {
    "scripts/run-sample-job": "test_run_sample_job.py runs it; its job is this test's set-up",
    "scripts/test": "the command running this test",
    "scripts/dagster dev": "a server until stopped: test_webserver_smoke.py starts the webserver",
    "scripts/dg launch": "test_end_to_end.py::test_documented_dagster_commands_record_no_telemetry",
    "scripts/dagster job execute": "test_end_to_end.py runs `dagster job execute`, and so does this set-up",
}


def readme_lines() -> list[tuple[list[str], int | None, str]]:
    """(argv, expected exit code or None, the line) for each command of the README's bash blocks."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            comment = line.split(" #", 1)[1] if " #" in line else ""
            expected = re.search(r"\bexit (\d)\b", comment)
            parts: list[list[str]] = [[]]
            for token in shlex.split(line, comments=True):
                if token == "&&":
                    parts.append([])
                else:
                    parts[-1].append(token)
            # `a && b`: a must succeed for b to run; the comment's exit code is b's.
            commands.extend((argv, 0, line.strip()) for argv in parts[:-1])
            commands.append((parts[-1], int(expected.group(1)) if expected else None, line.strip()))
    return commands


def fill(argv: list[str], project: Path) -> list[str]:
    values: dict[str, str] = {}
    with open_reader(project / "data" / "warehouse" / "benchmarks.duckdb") as conn:
        if "ID" in argv:
            values["ID"] = conn.execute("SELECT flag_id FROM regression_flags ORDER BY flag_id LIMIT 1").fetchone()[0]
        if "RUN_A" in argv or "RUN_B" in argv:
            runs = [r[0] for r in conn.execute(
                "SELECT DISTINCT run_id FROM performance_results ORDER BY run_id").fetchall()]
            values["RUN_A"], values["RUN_B"] = str(runs[0]), str(runs[-1])
    if "CID" in argv:
        listing = subprocess.run([str(BIN / "benchmark-db"), "snapshot", "list", "--format", "json"], cwd=project,
                                 capture_output=True, text=True, check=True)
        values["CID"] = json.loads(listing.stdout)[0]["cid"]
    return [values.get(token, token) for token in argv]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("newcomer")
    shutil.copytree(REPO / "data", root / "data",
                    ignore=shutil.ignore_patterns("warehouse", "reports", "snapshots", "staging", "logs"))
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    home = root / ".dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHMARK_")} | {"DAGSTER_HOME": str(home)}
    job = subprocess.run([str(BIN / "dagster"), "job", "execute", "-m", "benchmark_pipeline.definitions",
                          "-j", "benchmark_job"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert job.returncode == 0, job.stderr[-3000:]
    return root


def test_readme_has_the_commands_users_copy():
    lines = [line for _, _, line in readme_lines()]
    assert len(lines) >= 20
    assert any(line.startswith("uv run benchmark-db ingest") for line in lines)


def test_every_readme_command_runs_as_written(project):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_", "DAGSTER_HOME"))}
    ran = 0
    for argv, expected, line in readme_lines():
        if argv[:2] == ["uv", "run"] and argv[2] == "benchmark-db":
            argv = [str(BIN / "benchmark-db"), *fill(argv[3:], project)]
        elif any(line.startswith(prefix) for prefix in COVERED_ELSEWHERE):
            continue
        else:
            pytest.fail(f"README line of an unknown kind (run it here or say where it is covered): {line}")
        done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=600)
        context = f"{line}\n--- stdout\n{done.stdout[-1500:]}\n--- stderr\n{done.stderr[-1500:]}"
        assert "Traceback" not in done.stderr, context
        if expected is None:
            assert done.returncode in (0, 1), context
        else:
            assert done.returncode == expected, context
        ran += 1
    assert ran >= 20


def test_the_readme_python_example_runs(project):
    (block,) = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_", "DAGSTER_HOME"))}
    done = subprocess.run([sys.executable, "-c", block], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "average_latency_ms" in done.stdout and "ingested" in done.stdout
