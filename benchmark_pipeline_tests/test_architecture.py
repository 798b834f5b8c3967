"""The layering the code promises (issue 13): the import contract in pyproject.toml holds, and the library
never reads the environment (the shells build ``benchmark_pipeline.config.Settings`` and pass values down)."""

from __future__ import annotations

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
