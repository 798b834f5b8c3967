"""The test suite must collect on a user's clone, which has no ``../shared``.

A module that reads ``../shared`` while it is imported breaks collection of the whole run there (exit 2, no
test run), so every test module is imported in a child process that audits file access, and any open,
listing or scan of a path under ``../shared`` during import fails this test. Checking for existence (what
``needs_shared`` does) is allowed; reading belongs inside the tests, behind the skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmark_pipeline_tests.conftest import REPO_ROOT, SHARED

AUDITED_IMPORT = r"""
import importlib.util, json, os, sys
shared, files = os.path.realpath(sys.argv[1]), sys.argv[2:]
touched = []

def audit(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        real = os.path.realpath(path)
        if real == shared or real.startswith(shared + os.sep):
            touched.append((current[0], event, path))

current = [None]
sys.addaudithook(audit)
for file in files:
    current[0] = file
    name = "_portability_" + os.path.splitext(os.path.basename(file))[0]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        touched.append((file, "import failed", repr(exc)))
print(json.dumps(touched))
"""


def touched_at_import(shared: Path, files: list[Path]) -> list[list[str]]:
    """(module, event, path) for each access to ``shared`` made while importing ``files``."""
    done = subprocess.run(
        [sys.executable, "-c", AUDITED_IMPORT, str(shared), *map(str, files)],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_test_module_reads_shared_at_import():
    modules = sorted((REPO_ROOT / "benchmark_pipeline_tests").rglob("test_*.py"))
    assert len(modules) > 40
    assert touched_at_import(SHARED, modules) == []


def test_the_audit_catches_a_module_that_reads_shared(tmp_path):
    shared = tmp_path / "shared"
    (shared / "series").mkdir(parents=True)
    (shared / "series" / "s.json").write_text("[1, 2]")
    reader = tmp_path / "test_reader.py"
    reader.write_text(f"import json, pathlib\nDATA = json.loads(pathlib.Path({str(shared)!r}, 'series', 's.json').read_text())\n")
    checker = tmp_path / "test_checker.py"
    checker.write_text(f"import pathlib\nPRESENT = pathlib.Path({str(shared)!r}, 'series').is_dir()\n")
    found = touched_at_import(shared, [reader, checker])
    assert [(module, event) for module, event, _ in found] == [(str(reader), "open")]
