"""The layering the code promises (issue 13): the import contract in pyproject.toml holds, and the library
never reads the environment (the shells build ``benchmark_pipeline.config.Settings`` and pass values down)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "benchmark_pipeline" / "lib"

# os.environ / os.getenv / environ.get / getenv(...) / from os import environ, in any spelling.
ENVIRONMENT_READ = re.compile(r"\benviron\b|\bgetenv\b|\bputenv\b")


def _lint_imports() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: it is in the dev dependency group (uv sync)")
    return [found]


def test_import_contract_is_kept():
    result = subprocess.run(
        [*_lint_imports(), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"lint-imports found broken contracts:\n{result.stdout}\n{result.stderr}"


def test_lib_never_reads_the_environment():
    offenders = []
    for path in sorted(LIB.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if ENVIRONMENT_READ.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == [], (
        "benchmark_pipeline/lib must take configuration as arguments; read it in benchmark_pipeline/config.py:\n"
        + "\n".join(offenders)
    )


def test_the_environment_check_would_catch_a_read():
    samples = ["x = os.environ['A']", "os.getenv('A')", "from os import environ", "os.environ.get('A', '')"]
    assert all(ENVIRONMENT_READ.search(s) for s in samples)
    assert not ENVIRONMENT_READ.search('"web testing environment configuration"')


SHELLS = [REPO / "benchmark_pipeline" / "cli", REPO / "benchmark_pipeline" / "defs", REPO / "benchmark_pipeline" / "api.py",
          REPO / "benchmark_pipeline" / "rest"]
# What opens the warehouse file: only the service may call these.
OPENERS = {"open_reader", "open_writer", "connect_read_only", "connect_with_retry", "writer_lock", "warehouse_status",
           "create_snapshot", "restore_snapshot", "consistent_copy"}


def _shell_files() -> list[Path]:
    return sorted(f for root in SHELLS for f in ([root] if root.is_file() else root.rglob("*.py")))


def _warehouse_openings(source: str) -> list[tuple[int, str]]:
    """Calls in ``source`` that open a DuckDB file: the openers above, or ``duckdb.connect`` given a database."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        owner = getattr(node.func.value, "id", "") if isinstance(node.func, ast.Attribute) else ""
        file_connect = name == "connect" and owner == "duckdb" and (node.args or node.keywords)
        if name in OPENERS or file_connect:
            found.append((node.lineno, name))
    return found


def test_no_shell_opens_the_warehouse_itself():
    """The CLI, the Dagster definitions and the Python API reach the warehouse through the service only."""
    offenders = [f"{path.relative_to(REPO)}:{line}: {name}(...)"
                 for path in _shell_files() for line, name in _warehouse_openings(path.read_text(encoding="utf-8"))]
    assert offenders == [], "open the warehouse through benchmark_pipeline.service:\n" + "\n".join(offenders)


def test_the_opening_check_would_catch_one():
    assert _warehouse_openings("import duckdb\nconn = duckdb.connect(str(path), read_only=True)")
    assert _warehouse_openings("with open_reader(db) as conn: pass")
    assert not _warehouse_openings("conn = duckdb.connect()")  # in-memory, e.g. the schema listing
