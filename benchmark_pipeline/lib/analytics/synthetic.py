"""Deterministic synthetic warehouses for the analytics tests and benchmarks.

Two shapes, because they answer different questions: small JSON drops in the updater format go
through the real ingest (so the tests see exactly what production loads), while the benchmark
warehouse of millions of rows is filled with DuckDB SQL directly (JSON at that size would time the
ingest, not the queries).
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

MODELS = (("bert-base-uncased", "bert"), ("t5-small", "t5"), ("vit-base-patch16-224", "vit"))
HARDWARE = (
    ("cpu", "Intel Xeon 8375C", 1.0),
    ("cuda", "NVIDIA A100-SXM4-80GB", 9.0),
    ("cuda", "NVIDIA T4", 4.0),
    ("openvino", "Intel Xeon 8375C", 1.8),
)
START = datetime(2025, 3, 1, tzinfo=timezone.utc)


def commit_for_day(day: int) -> str:
    """A stable, git-shaped commit id per synthetic day (``compare --run`` accepts commits)."""
    return hashlib.sha1(f"day-{day}".encode()).hexdigest()


def write_result_files(root: Path, days: int = 12, seed: int = 7, step_day: int | None = 8) -> list[Path]:
    """Performance, compatibility and integration drops under ``root/{performance,compatibility,integration}``.

    ``step_day`` puts a 30 % throughput drop on bert/A100 from that day on, so trend charts have a
    visible change; one simulated record per day checks that simulated rows stay out of rankings.
    """
    rng = random.Random(seed)
    written: list[Path] = []
    for sub in ("performance", "compatibility", "integration"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for day in range(days):
        when = START + timedelta(days=day, hours=3)
        records = []
        for model, _family in MODELS:
            for hw_type, device, speed in HARDWARE:
                if model.startswith("vit") and hw_type == "openvino":
                    continue  # an untested cell for the matrix
                for batch in (1, 8):
                    factor = speed * (0.7 if step_day is not None and day >= step_day and model.startswith("bert")
                                      and "A100" in device else 1.0)
                    throughput = 40.0 * factor * batch ** 0.8 * rng.uniform(0.97, 1.03)
                    p50 = 1000.0 * batch / throughput
                    record = {
                        "model_name": model, "hardware_type": hw_type, "device_name": device,
                        "batch_size": batch, "precision": "fp32", "test_case": "inference",
                        "timestamp": (when + timedelta(minutes=batch)).isoformat(),
                        "throughput_items_per_second": round(throughput, 3),
                        "latency_p50_ms": round(p50, 3), "latency_p90_ms": round(p50 * 1.1, 3),
                        "latency_p99_ms": round(p50 * 1.3, 3),
                        "memory_peak_mb": round(400 + 50 * batch + (300 if hw_type == "cuda" else 0), 1),
                        "power_watts": round(35 + 25 * speed, 2),
                        "git_commit": commit_for_day(day),
                    }
                    record["items_per_joule"] = round(throughput / record["power_watts"], 4)
                    records.append(record)
        records.append({
            "model_name": "bert-base-uncased", "hardware_type": "cuda", "device_name": "NVIDIA A100-SXM4-80GB",
            "batch_size": 1, "precision": "fp32", "test_case": "inference", "timestamp": when.isoformat(),
            "throughput_items_per_second": 99999.0, "latency_p50_ms": 0.01, "is_simulated": True,
        })
        path = root / "performance" / f"perf_{day:02d}.json"
        path.write_text(json.dumps(records))
        written.append(path)

    compat = []
    for model, family in MODELS:
        for hw_type, device, _speed in HARDWARE:
            if model.startswith("vit") and hw_type == "openvino":
                continue
            ok = not (model.startswith("t5") and hw_type == "openvino")
            compat.append({"model_name": model, "hardware_type": hw_type, "device_name": device,
                           "is_compatible": ok, "timestamp": START.isoformat(),
                           **({} if ok else {"error_type": "UnsupportedOp", "error_message": "op not supported"})})
    compat.append({"model_name": "t5-small", "hardware_type": "openvino", "device_name": "Intel Xeon 8375C",
                   "is_compatible": True, "timestamp": (START + timedelta(days=1)).isoformat()})
    compat.append({"model_family": "llama", "hardware_type": "mps", "is_compatible": False,
                   "error_type": "OOM", "error_message": "out of memory", "timestamp": START.isoformat()})
    path = root / "compatibility" / "compat.json"
    path.write_text(json.dumps(compat))
    written.append(path)

    integ = [{"test_name": f"test_{i}", "status": "pass" if i % 5 else "fail", "hardware_type": "cpu",
              "model_name": "bert-base-uncased", "timestamp": START.isoformat()} for i in range(10)]
    path = root / "integration" / "integ.json"
    path.write_text(json.dumps(integ))
    written.append(path)
    return written


def fill_bulk(conn: duckdb.DuckDBPyConnection, rows: int, models: int = 200, seed: int = 1) -> None:
    """Append ``rows`` performance results spread over ``models`` models and the HARDWARE devices.

    Runs entirely in DuckDB (``range()`` plus hash-derived noise), so ten million rows take seconds.
    The connection must be a writer on a migrated warehouse.
    """
    conn.execute("SELECT setseed(?)", [seed / 1000])
    conn.execute(
        "INSERT INTO models (model_name, model_family) "
        "SELECT 'bulk-model-' || lpad(i::VARCHAR, 4, '0'), 'bulk' FROM range(?) t(i)", [models]
    )
    for hw_type, device, _speed in HARDWARE:
        conn.execute(
            "INSERT INTO hardware_platforms (fingerprint, hardware_type, device_name, hardware_key) "
            "VALUES (?, ?, ?, hardware_key(?, ?, NULL, NULL, 'bulk')) ON CONFLICT DO NOTHING",
            [f"{hw_type}|{device}|bulk", hw_type, device, hw_type, device]
        )
    conn.execute(
        "INSERT INTO test_runs (test_name, test_type, time_source, record_count, source_path, source_sha256, "
        "ingestion_run_id, ingested_at) VALUES ('bulk', 'performance', 'record', ?, 'bulk', 'bulk', 'bulk', now())",
        [rows],
    )
    speeds = "[" + ", ".join(str(s) for _t, _d, s in HARDWARE) + "]"
    conn.execute(
        f"""
        INSERT INTO performance_results (
            result_id, run_id, model_id, hardware_id, test_case, batch_size, precision, run_time, time_source,
            latency_p50_ms, latency_p90_ms, latency_p99_ms, throughput_items_per_second, memory_peak_mb,
            power_watts, items_per_joule, record_index, source_path, source_sha256, ingestion_run_id,
            ingested_at, is_simulated)
        WITH m AS (SELECT min(model_id) AS lo, count(*) AS n FROM models WHERE model_family = 'bulk'),
             h AS (SELECT list(hardware_id ORDER BY hardware_id) AS ids FROM hardware_platforms
                   WHERE fingerprint LIKE '%|bulk'),
             r AS (SELECT max(run_id) AS run_id FROM test_runs),
             g AS (
                SELECT i, m.lo + (hash(i, 1) % m.n)::BIGINT AS model_id, (hash(i, 2) % {len(HARDWARE)})::BIGINT AS hw,
                       [1, 8, 32][1 + (hash(i, 3) % 3)::BIGINT] AS batch,
                       0.9 + (hash(i, 4) % 2000)::BIGINT / 10000.0 AS noise
                FROM range(?) t(i), m)
        SELECT coalesce((SELECT max(result_id) FROM performance_results), 0) + i + 1, r.run_id, g.model_id,
               h.ids[g.hw + 1], 'inference', g.batch, 'fp32',
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i % 31536000), 'record',
               1000.0 * g.batch / (40.0 * {speeds}[g.hw + 1] * g.noise),
               1100.0 * g.batch / (40.0 * {speeds}[g.hw + 1] * g.noise),
               1300.0 * g.batch / (40.0 * {speeds}[g.hw + 1] * g.noise),
               40.0 * {speeds}[g.hw + 1] * g.noise * g.batch, 400 + 50 * g.batch,
               35 + 25 * {speeds}[g.hw + 1], 40.0 * {speeds}[g.hw + 1] * g.noise * g.batch / (35 + 25 * {speeds}[g.hw + 1]),
               i % 1000, 'bulk', 'bulk', 'bulk', now(), false
        FROM g, h, r
        """,
        [rows],
    )
