"""The column dictionary: every warehouse column with its unit and meaning.

``benchmark-db schema`` prints it next to the live types, and a test fails when a migration adds a
column that is not documented here (or this lists one that no longer exists).
"""

from __future__ import annotations

_PROVENANCE = {
    "source_path": ("", "result file the row came from (relative to the working directory when inside it)"),
    "source_sha256": ("", "sha256 of that file's bytes at ingest"),
    "ingestion_run_id": ("", "Dagster run id, or cli-<uuid> for a command-line ingest"),
    "ingested_at": ("UTC", "when the row was written"),
    "is_simulated": ("", "true only when the data itself says the result was simulated or mocked"),
    "simulation_reason": ("", "the marker that made it simulated"),
}
_TIMED = {
    "run_time": ("UTC", "when the benchmark ran: the record's timestamp, else the file name's stamp, else first seen"),
    "time_source": ("", "where run_time came from: record, file_name or ledger"),
    "record_index": ("", "position of the record in its file (0-based)"),
    "extra": ("JSON", "keys of the input record this schema does not know, kept verbatim"),
}

COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "schema_version": {
        "version": ("", "applied migration number"),
        "name": ("", "migration name"),
        "applied_at": ("UTC", "when it was applied"),
    },
    "models": {
        "model_id": ("", "surrogate key (sequence)"),
        "model_name": ("", "natural key, as the results name the model"),
        "model_family": ("", "family (bert, t5, llama, ...), given or inferred from the name"),
        "modality": ("", "text, image, audio or multimodal"),
        "source": ("", "where the model comes from (e.g. huggingface)"),
        "version": ("", "model version"),
        "parameters_million": ("M params", "parameter count in millions"),
        "metadata": ("JSON", "model_metadata of the first record that named the model"),
        "created_at": ("UTC", "when the model was first seen"),
    },
    "hardware_platforms": {
        "hardware_id": ("", "surrogate key (sequence)"),
        "fingerprint": ("", "natural key: type | device | memory | compute units | driver, as declared"),
        "hardware_type": ("", "cpu, cuda, rocm, mps, openvino, qualcomm, webnn, webgpu, tpu or npu"),
        "device_name": ("", "device model name"),
        "platform": ("", "operating system or browser platform"),
        "platform_version": ("", "its version"),
        "driver_version": ("", "driver or runtime version"),
        "memory_gb": ("GB", "device memory"),
        "compute_units": ("", "cores / SMs / compute units"),
        "metadata": ("JSON", "hardware_metadata of the first record that named the platform"),
        "created_at": ("UTC", "when the platform was first seen"),
    },
    "test_runs": {
        "run_id": ("", "surrogate key (sequence): one benchmark run = one file version and category"),
        "test_name": ("", "the records' test_name, else the file name"),
        "test_type": ("", "performance, compatibility or integration"),
        "started_at": ("UTC", "earliest run_time of its records"),
        "completed_at": ("UTC", "latest run_time of its records"),
        "time_source": ("", "time_source of its first record"),
        "git_commit": ("", "commit the benchmark ran on"),
        "git_branch": ("", "branch the benchmark ran on"),
        "record_count": ("", "rows this run contributed"),
        "source_path": _PROVENANCE["source_path"],
        "source_sha256": _PROVENANCE["source_sha256"],
        "ingestion_run_id": _PROVENANCE["ingestion_run_id"],
        "ingested_at": _PROVENANCE["ingested_at"],
    },
    "performance_results": {
        "result_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "test_case": ("", "benchmark scenario; 'default' when the record names none"),
        "batch_size": ("items", "batch size; 1 when the record names none (the updater's convention)"),
        "sequence_length": ("tokens", "input sequence length"),
        "precision": ("", "numeric precision (fp32, fp16, int8, ...)"),
        "total_time_seconds": ("s", "wall time of the whole benchmark"),
        "average_latency_ms": ("ms", "mean latency per batch"),
        "latency_p50_ms": ("ms", "median latency"),
        "latency_p90_ms": ("ms", "90th percentile latency"),
        "latency_p95_ms": ("ms", "95th percentile latency"),
        "latency_p99_ms": ("ms", "99th percentile latency"),
        "throughput_items_per_second": ("items/s", "throughput"),
        "memory_peak_mb": ("MB", "peak memory"),
        "power_watts": ("W", "average power draw (mW inputs converted)"),
        "energy_joules": ("J", "energy used (mJ inputs converted)"),
        "items_per_joule": ("items/J", "energy efficiency"),
        "iterations": ("", "measured iterations"),
        "warmup_iterations": ("", "warm-up iterations"),
        "metrics": ("JSON", "other metrics the record reported"),
        **_TIMED, **_PROVENANCE,
    },
    "performance_batch_results": {
        "batch_id": ("", "surrogate key (sequence)"),
        "result_id": ("", "performance_results.result_id"),
        "batch_index": ("", "position of the batch (its batch_index, else its position in the list)"),
        "batch_size": ("items", "batch size (the parent's when not given)"),
        "latency_ms": ("ms", "latency of this batch"),
        "memory_usage_mb": ("MB", "memory used by this batch"),
        "throughput_items_per_second": ("items/s", "throughput of this batch"),
        **_PROVENANCE,
    },
    "power_metrics": {
        "metric_id": ("", "surrogate key (sequence)"),
        "result_id": ("", "performance_results.result_id"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "power_watts_avg": ("W", "average power"),
        "power_watts_peak": ("W", "peak power"),
        "power_watts_idle": ("W", "idle power"),
        "energy_joules": ("J", "energy used"),
        "temperature_celsius": ("°C", "device temperature"),
        "monitoring_duration_ms": ("ms", "how long power was sampled"),
        "items_per_joule": ("items/J", "energy efficiency"),
        "thermal_throttling_detected": ("", "whether the device throttled"),
        "battery_impact_percent_per_hour": ("%/h", "battery drain"),
        **_PROVENANCE,
    },
    "hardware_compatibility": {
        "compatibility_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id; NULL for a family-level result"),
        "model_family": ("", "set only for family-level results (exactly one of model_id, model_family)"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "is_compatible": ("", "whether the model ran on the hardware"),
        "detection_success": ("", "whether the hardware was detected"),
        "initialization_success": ("", "whether the model initialized"),
        "error_message": ("", "error text"),
        "error_type": ("", "error class"),
        "suggested_fix": ("", "suggested fix"),
        "workaround_available": ("", "whether a workaround exists"),
        "compatibility_score": ("0..1", "given score, else 1 when compatible and 0 when not"),
        "metadata": ("JSON", "metadata of the record"),
        **_TIMED, **_PROVENANCE,
    },
    "integration_test_results": {
        "test_result_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "test_module": ("", "test module"),
        "test_class": ("", "test class"),
        "test_name": ("", "test name"),
        "status": ("", "pass, fail, error or skip"),
        "execution_time_seconds": ("s", "test duration"),
        "hardware_id": ("", "hardware_platforms.hardware_id, when the record names hardware"),
        "model_id": ("", "models.model_id, when the record names a model"),
        "error_message": ("", "error text"),
        "error_traceback": ("", "traceback"),
        "metadata": ("JSON", "metadata of the record"),
        **_TIMED, **_PROVENANCE,
    },
    "integration_test_assertions": {
        "assertion_id": ("", "surrogate key (sequence)"),
        "test_result_id": ("", "integration_test_results.test_result_id"),
        "assertion_index": ("", "position in the record's assertions list"),
        "assertion_name": ("", "assertion name (assertion_<index> when unnamed)"),
        "passed": ("", "whether it passed"),
        "expected_value": ("JSON", "expected value"),
        "actual_value": ("JSON", "actual value"),
        "message": ("", "message"),
        **_PROVENANCE,
    },
    "benchmark_failures": {
        "failure_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id, when the failure belongs to an ingested run"),
        "model_name": ("", "model that failed"),
        "hardware_type": ("", "hardware it failed on"),
        "error_type": ("", "error class"),
        "error_message": ("", "first line / summary of the error"),
        "error_traceback": ("", "full traceback when given"),
        "stage": ("", "what failed: benchmark, batch, initialization, ..."),
        "batch_size": ("items", "batch size of a failed batch"),
        "run_time": _TIMED["run_time"],
        "time_source": _TIMED["time_source"],
        "record_index": _TIMED["record_index"],
        **_PROVENANCE,
    },
    "quarantine": {
        "quarantine_id": ("", "surrogate key (sequence)"),
        "source_path": _PROVENANCE["source_path"],
        "source_sha256": _PROVENANCE["source_sha256"],
        "category": ("", "performance, compatibility or integration"),
        "record_index": ("", "record position in the file; NULL when the whole file is unusable"),
        "field": ("", "the field as written in the file (batch_results[2].latency_ms for nested ones)"),
        "value": ("", "the offending value, as text"),
        "reason": ("", "why the record was not stored"),
        "record": ("JSON", "the whole record verbatim, for replay after a fix"),
        "status": ("", "open, replayed or superseded"),
        "ingestion_run_id": _PROVENANCE["ingestion_run_id"],
        "quarantined_at": ("UTC", "when it was quarantined"),
    },
    "ingestion_ledger": {
        "ledger_id": ("", "surrogate key (sequence)"),
        "source_path": ("", "file path; with sha256 the natural key (one row per file version)"),
        "sha256": ("", "sha256 of the file version"),
        "size_bytes": ("bytes", "file size"),
        "detected_type": ("", "category (or detected shape) of the file"),
        "status": ("", "ingested, partial, quarantined, not a result, duplicate, superseded or retracted"),
        "reason": ("", "why the file has this status"),
        "records_total": ("", "records found in the file"),
        "records_quarantined": ("", "records that went to quarantine"),
        "rows_written": ("", "fact rows written (performance, compatibility, integration, failures)"),
        "duplicate_of": ("", "first path with the same content, for duplicates"),
        "first_seen_at": ("UTC", "when the ledger first saw this version"),
        "status_changed_at": ("UTC", "last status change"),
        "ingestion_run_id": ("", "run that last changed the row"),
        "history": ("", "earlier statuses of this version, oldest first"),
        "cid": ("", "IPFS CID of the file version (kubo-v1, as `ipfs add --cid-version=1`); NULL until computed"),
    },
    "regression_flags": {
        "flag_id": ("", "stable id: hash of series_id, run_id and kind, so acks survive re-detection"),
        "series_id": ("", "hash of the series key (model, hardware fingerprint, batch, sequence, precision, test case, metric)"),
        "model_name": ("", "models.model_name of the series"),
        "hardware_id": ("", "hardware_platforms.hardware_id of the series"),
        "hardware_fingerprint": ("", "hardware_platforms.fingerprint of the series (the key part)"),
        "hardware_type": ("", "hardware type of the series"),
        "device_name": ("", "device name of the series"),
        "batch_size": ("items", "batch size of the series"),
        "sequence_length": ("tokens", "sequence length of the series"),
        "precision": ("", "precision of the series"),
        "test_case": ("", "test case of the series"),
        "metric": ("", "performance_results column analysed (average_latency_ms, throughput_items_per_second, ...)"),
        "kind": ("", "regression, improvement (change points, judged by the metric's direction) or outlier"),
        "direction": ("", "up or down: which way the value moved (outlier: vs its regime's mean)"),
        "change_index": ("", "0-based position in the series (run_time order) of the first run of the new regime, or of the outlier"),
        "run_id": ("", "test_runs.run_id of that first bad run (or the outlier run)"),
        "result_id": ("", "performance_results.result_id of that run's point"),
        "run_time": ("UTC", "run_time of that run"),
        "mean_before": ("metric", "mean of the regime before (outlier: of the regime it sits in); outliers left out"),
        "stdev_before": ("metric", "population stdev of the regime before"),
        "mean_after": ("metric", "mean of the regime from change_index on (outlier: its own value)"),
        "stdev_after": ("metric", "population stdev of the regime after (NULL for outliers)"),
        "pct_change": ("%", "mean_after vs mean_before"),
        "pvalue": ("", "Student t-test between the two regimes (NULL for outliers)"),
        "is_latest_change": ("", "true for the last change point of its series (only such a regression can be open)"),
        "recovered": ("", "latest change whose last min_run runs are back nearer the old level than the new"),
        "series_points": ("", "points in the series at detection"),
        "mode": ("", "detector mode (robust)"),
        "detected_at": ("UTC", "when this flag was first detected (kept across re-detections)"),
    },
    "regression_acks": {
        "flag_id": ("", "regression_flags.flag_id acknowledged"),
        "series_id": ("", "its series (a mute applies to every flag of it, later ones included)"),
        "kind": ("", "ack (this flag) or mute (the whole series)"),
        "note": ("", "why"),
        "acknowledged_by": ("", "who: --by, else $USER"),
        "acknowledged_at": ("UTC", "when"),
    },
    "regression_series_state": {
        "series_id": ("", "regression_flags.series_id analysed"),
        "point_count": ("", "points in the series at its last detection"),
        "max_result_id": ("", "largest performance_results.result_id among them"),
        "points_hash": ("", "xor of DuckDB hash(result_id, run_time, value) over them: order-free fingerprint"),
        "params_hash": ("", "hash of the detection parameters and detector revision used"),
        "flag_count": ("", "flags the series produced"),
        "analysed_at": ("UTC", "when the series was last analysed"),
    },
}

# --- derived tables: rebuilt whole by the analytics assets (benchmark_pipeline/defs/analytics) -------------
# Not created by the migrations: they exist once `benchmark_job` (or the analytics assets) has run.
# Their SQL is in benchmark_pipeline/lib/analytics/queries.py; hardware_recommendations comes from
# lib/analytics/recommend.py. Simulated results are left out of all of them.

_MEDIANS = {
    "median_latency_p50_ms": ("ms", "median of the results' median latency"),
    "median_latency_p99_ms": ("ms", "median of the results' 99th percentile latency"),
    "median_throughput_items_per_second": ("items/s", "median throughput"),
    "median_memory_peak_mb": ("MB", "median peak memory"),
    "median_power_watts": ("W", "median average power draw"),
    "median_items_per_joule": ("items/J", "median energy efficiency"),
}
_GROUP = {
    "model_name": ("", "models.model_name"),
    "model_family": ("", "models.model_family"),
    "batch_size": ("items", "batch size"),
    "precision": ("", "numeric precision (fp32, fp16, int8, ...)"),
    "hardware_type": ("", "canonical hardware type (cpu, cuda, ...)"),
    "device_name": ("", "device model name"),
    "hardware": ("", "label 'type: device' (the type alone when the device is unknown)"),
    "results": ("", "performance results behind the medians"),
    "last_run": ("UTC", "latest run_time among them"),
}

DERIVED_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "compatibility_matrix": {
        "level": ("", "model (one model's own tests) or family (family-level tests plus its models' tests)"),
        "subject": ("", "the model name or the family name"),
        "model_family": ("", "family of the subject"),
        "hardware_type": ("", "every known hardware type, tested or not"),
        "status": ("", "compatible, incompatible, partial (some tests failed) or untested"),
        "score": ("0..1", "share of compatible tests; NULL when untested"),
        "tests": ("", "compatibility tests counted"),
        "compatible_tests": ("", "of those, the compatible ones"),
        "last_tested": ("UTC", "latest run_time of those tests"),
        "error_summary": ("", "the three most frequent errors of the failed tests, with counts"),
    },
    "hardware_comparison": {
        **_GROUP,
        "median_latency_p50_ms": _MEDIANS["median_latency_p50_ms"],
        "latest_latency_p50_ms": ("ms", "median latency of the latest result"),
        "median_latency_p90_ms": ("ms", "median of the results' 90th percentile latency"),
        "latest_latency_p90_ms": ("ms", "90th percentile latency of the latest result"),
        "median_latency_p99_ms": _MEDIANS["median_latency_p99_ms"],
        "latest_latency_p99_ms": ("ms", "99th percentile latency of the latest result"),
        "median_throughput_items_per_second": _MEDIANS["median_throughput_items_per_second"],
        "latest_throughput_items_per_second": ("items/s", "throughput of the latest result"),
        "median_memory_peak_mb": _MEDIANS["median_memory_peak_mb"],
        "latest_memory_peak_mb": ("MB", "peak memory of the latest result"),
        "median_power_watts": _MEDIANS["median_power_watts"],
        "latest_power_watts": ("W", "power draw of the latest result"),
        "median_items_per_joule": _MEDIANS["median_items_per_joule"],
        "latest_items_per_joule": ("items/J", "energy efficiency of the latest result"),
        "speedup_vs_cpu": ("x", "median throughput over the CPU's (else CPU latency over this latency), same model, "
                                "batch size and precision"),
        "speedup_basis": ("", "throughput or latency: what speedup_vs_cpu compares; NULL without a CPU baseline"),
        "throughput_rank": ("", "1 = highest median throughput among the hardware of this model, batch and precision"),
    },
    "model_comparison": {
        **{k: _GROUP[k] for k in ("hardware_type", "device_name", "hardware", "batch_size", "precision",
                                  "model_name", "model_family", "results", "last_run")},
        **_MEDIANS,
        "relative_throughput": ("0..1", "median throughput over the best model's on this hardware, batch and precision"),
        "throughput_rank": ("", "1 = highest median throughput among the models on this hardware, batch and precision"),
    },
    "daily_model_stats": {
        "model_name": _GROUP["model_name"],
        "model_family": _GROUP["model_family"],
        "day": ("UTC date", "day of run_time"),
        "mean_throughput_items_per_second": ("items/s", "mean throughput of the day's results"),
        "p95_latency_ms": ("ms", "95th percentile of the day's typical latency (p50, else average)"),
        "benchmarks": ("", "performance results that day"),
        "hardware_platforms": ("", "distinct hardware platforms benchmarked that day"),
    },
    "hardware_recommendations": {
        **{k: _GROUP[k] for k in ("model_name", "batch_size", "precision", "hardware_type", "device_name",
                                  "hardware")},
        "latency_p99_ms": ("ms", "criterion: median 99th percentile latency (lower is better)"),
        "throughput_items_per_second": ("items/s", "criterion: median throughput (higher is better)"),
        "memory_peak_mb": ("MB", "criterion: median peak memory (lower is better)"),
        "power_watts": ("W", "criterion: median power draw (lower is better)"),
        "cost_per_hour_usd": ("USD/h", "criterion: list price per hour from hardware_costs.csv (lower is better)"),
        "pareto_optimal": ("", "no other hardware of the group is at least as good on every criterion used"),
        "topsis_score": ("0..1", "TOPSIS closeness to the ideal (default weights: see docs/analytics.md)"),
        "topsis_rank": ("", "1 = best TOPSIS score in the group; NULL when it could not be ranked"),
        "criteria_used": ("", "criteria with values for the whole group (the others are left out)"),
        "candidates": ("", "hardware compared in the group"),
    },
}
DERIVED_TABLES = tuple(DERIVED_COLUMNS)

# hardware_recommendations is written from a pandas frame, so its types cannot be read off SQL.
_RECOMMENDATION_TYPES = {
    **{c: "VARCHAR" for c in ("model_name", "precision", "hardware_type", "device_name", "hardware", "criteria_used")},
    **{c: "DOUBLE" for c in ("latency_p99_ms", "throughput_items_per_second", "memory_peak_mb", "power_watts",
                             "cost_per_hour_usd", "topsis_score")},
    "batch_size": "INTEGER", "pareto_optimal": "BOOLEAN", "topsis_rank": "BIGINT", "candidates": "BIGINT",
}


def dictionary() -> dict[str, dict[str, tuple[str, str]]]:
    """Every table a warehouse can hold: the migrated ones, then the derived ones."""
    return {**COLUMNS, **DERIVED_COLUMNS}


def live_types(conn) -> dict[tuple[str, str], str]:
    """(table, column) -> DuckDB type on a migrated connection, derived tables included.

    The SQL-derived tables are typed by running their query with no rows (LIMIT 0) in a temporary
    schema; hardware_recommendations uses the types its frame is written with.
    """
    from benchmark_pipeline.lib.analytics import queries

    types = {(t, c): d for t, c, d in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main'").fetchall()}
    builders = {"compatibility_matrix": queries.compatibility_matrix_sql, "hardware_comparison": queries.hardware_comparison_sql,
                "model_comparison": queries.model_comparison_sql, "daily_model_stats": queries.daily_model_stats_sql}
    for table, build in builders.items():
        if any(t == table for t, _ in types):
            continue
        sql, params = build()
        cursor = conn.execute(f"DESCRIBE SELECT * FROM ({sql}) LIMIT 0", params)
        for name, data_type, *_rest in cursor.fetchall():
            types[(table, name)] = data_type
    for column, data_type in _RECOMMENDATION_TYPES.items():
        types.setdefault(("hardware_recommendations", column), data_type)
    return types
