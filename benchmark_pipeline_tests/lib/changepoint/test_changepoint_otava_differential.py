"""Differential test: our Otava mode against apache-otava 0.8.0 itself, run in a throw-away venv.

apache-otava is not a project dependency (it pins numpy 2.2 and pulls cloud clients), so the test
installs it with only the packages ``otava.analysis`` imports (numpy and scipy at otava's own
pins) and exchanges JSON with a small driver script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

from benchmark_pipeline.lib.changepoint.otava import detect_otava

DRIVER = Path(__file__).with_name("otava_driver.py")
PARAMETER_SETS = (
    {"window_len": 50, "max_pvalue": 0.001, "min_magnitude": 0.0},
    {"window_len": 30, "max_pvalue": 0.01, "min_magnitude": 0.05},
    {"window_len": 20, "max_pvalue": 0.1, "min_magnitude": 0.0},
)


def random_series(rng: np.random.Generator) -> list[float]:
    """Noise around a level with 0-4 steps, sometimes rounded (ties) and sometimes a spike."""
    n = int(rng.integers(20, 400))
    values = rng.uniform(10, 1000) * (1 + rng.normal(0, rng.uniform(0.005, 0.1), n))
    for _ in range(int(rng.integers(0, 5))):
        values[int(rng.integers(1, n)) :] *= 1 + rng.normal(0, 0.1)
    if rng.random() < 0.3:
        values = np.round(values)
    if rng.random() < 0.3:
        values[int(rng.integers(0, n))] *= 0.5
    return values.tolist()


@pytest.fixture(scope="module")
def otava_python(tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("otava-venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    scipy_pin = "scipy>=1.16,<1.17" if sys.version_info >= (3, 11) else "scipy>=1.15,<1.16"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "apache-otava==0.8.0", "numpy==2.2.*", scipy_pin],
        capture_output=True, text=True, timeout=600,
    )
    if install.returncode != 0:
        pytest.fail(f"could not install apache-otava into a venv:\n{install.stderr[-2000:]}")
    return python


@pytest.mark.slow
def test_same_change_points_as_apache_otava(otava_python):
    rng = np.random.default_rng(20240501)
    cases = [
        {"series": series, "params": params}
        for series in (random_series(rng) for _ in range(24))
        for params in PARAMETER_SETS
    ]
    run = subprocess.run(
        [str(otava_python), str(DRIVER)], input=json.dumps(cases), capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    theirs = json.loads(run.stdout)
    ours = [[cp.index for cp in detect_otava(c["series"], **c["params"])] for c in cases]
    found_any = sum(bool(t) for t in theirs)
    assert found_any >= len(cases) // 3, "the random series should exercise real change points"
    mismatches = [(i, c["params"], o, t) for i, (c, o, t) in enumerate(zip(cases, ours, theirs)) if o != t]
    assert not mismatches
