"""Real series for judging the detector: where they come from and how to load them.

Each loader returns ``(data_set, name, values)`` triples, read when called (never at import).
Sources, none of them copied into this repository beyond the Apache-2.0 fixtures it already holds:

- ``otava-tigerbeetle``: 365 TigerBeetle benchmark results (fixture, Apache-2.0).
- ``mongodb-spa``: MongoDB's ``real_series.json`` and ``mad_series.json`` (fixtures, Apache-2.0).
- ``otava-csv``: the metric columns of Otava's CSV samples (fixtures, Apache-2.0), 10 runs each.
- ``llm-per-token``: per-token decode latencies of three optimum-benchmark runs (``../shared/llm_results``),
  cut into consecutive blocks of 400 tokens so each series has the length of a benchmark history.
- ``sglang-requests``: time to first token per request, in request order, of the sglang runs that
  kept per-request details (``../shared/llm_results``).
- ``packaged-statsmodels``: the Nile series statsmodels ships (``statsmodels.datasets.nile``), and
  ``packaged-sktime``: the two segmentation series sktime ships with their change points. Loaded only
  where the package is importable: ``uv run --with statsmodels --with sktime python benchmarks/...``
  (neither is a dependency of the project).

The change points of every series are in ``real_series_annotations.json`` with how each was decided.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "benchmark_pipeline_tests" / "fixtures" / "changepoint"
SHARED = ROOT.parent / "shared"
ANNOTATIONS = Path(__file__).resolve().parent / "real_series_annotations.json"
BLOCK = 400


def _fixtures() -> list[tuple[str, str, list[float]]]:
    out = []
    tiger = json.loads((FIXTURES / "otava" / "tigerbeetle_series.json").read_text())
    out.append(("otava-tigerbeetle", "tigerbeetle", [float(v) for v in tiger["series"]]))
    for name in ("real_series", "mad_series"):
        values = json.loads((FIXTURES / "mongodb_spa" / "tests" / "data" / f"{name}.json").read_text())
        out.append(("mongodb-spa", name, [float(v) for v in values]))
    for path in (FIXTURES / "otava" / "tests" / "resources" / "sample.csv",
                 FIXTURES / "otava" / "examples" / "csv" / "data" / "local_sample.csv"):
        rows = list(csv.DictReader(path.open()))
        for column in ("metric1", "metric2"):
            out.append(("otava-csv", f"{path.stem}:{column}", [float(r[column]) for r in rows]))
    return out


def _shared() -> list[tuple[str, str, list[float]]]:
    out = []
    folder = SHARED / "llm_results"
    if not folder.is_dir():
        return out
    for path in sorted((folder / "optimum_benchmark").glob("*.json")):
        report = json.loads(path.read_text())
        report = report.get("report", report)
        values = report.get("per_token", {}).get("latency", {}).get("values")
        if not values:
            continue
        short = path.name.split("__runs__")[-1].split("__")[0]
        for start in range(0, len(values) - BLOCK + 1, BLOCK):
            out.append(("llm-per-token", f"{short}@{start}", [float(v) for v in values[start:start + BLOCK]]))
    for path in sorted((folder / "sglang").glob("*.jsonl")):
        for line_no, line in enumerate(path.read_text().splitlines()):
            if not line.strip():
                continue
            record = json.loads(line)
            ttfts = record.get("ttfts")
            if isinstance(ttfts, list) and len(ttfts) >= 30 and all(isinstance(v, (int, float)) for v in ttfts):
                short = path.name.split("__")[-1][:40]
                out.append(("sglang-requests", f"{short}#{line_no}", [float(v) for v in ttfts]))
    return out


def _packaged() -> list[tuple[str, str, list[float]]]:
    out = []
    try:
        import statsmodels.api as sm
    except ImportError:
        pass
    else:
        out.append(("packaged-statsmodels", "nile",
                    [float(v) for v in sm.datasets.nile.load_pandas().data["volume"]]))
    try:
        from sktime import datasets
    except ImportError:
        pass
    else:
        for name in ("gun_point_segmentation", "electric_devices_segmentation"):
            values, _period, _changes = getattr(datasets, f"load_{name}")()
            out.append(("packaged-sktime", name, [float(v) for v in values]))
    return out


def load_all() -> list[tuple[str, str, list[float]]]:
    """Every series available on this machine (the shared ones only where ``../shared`` exists).

    A series whose values repeat one already loaded (MongoDB's ``mad_series`` is ``real_series``;
    Otava's ``local_sample.csv`` is ``sample.csv``) is kept once, so no data set counts it twice.
    """
    seen, out = set(), []
    for data_set, name, values in _fixtures() + _shared() + _packaged():
        if tuple(values) not in seen:
            seen.add(tuple(values))
            out.append((data_set, name, values))
    return out


def annotations() -> dict[str, dict]:
    """``{"data_set/name": {"changes": [...], "why": "..."}}``."""
    return json.loads(ANNOTATIONS.read_text())["series"]
