-- Version 1: dimensions, facts, quarantine, failures and the ingestion ledger.
-- Frozen: never edit a released migration; add a new file instead.
CREATE SEQUENCE seq_model_id START 1;
CREATE SEQUENCE seq_hardware_id START 1;
CREATE SEQUENCE seq_run_id START 1;
CREATE SEQUENCE seq_result_id START 1;
CREATE SEQUENCE seq_batch_id START 1;
CREATE SEQUENCE seq_compatibility_id START 1;
CREATE SEQUENCE seq_test_result_id START 1;
CREATE SEQUENCE seq_assertion_id START 1;
CREATE SEQUENCE seq_quarantine_id START 1;
CREATE SEQUENCE seq_failure_id START 1;
CREATE SEQUENCE seq_ledger_id START 1;

CREATE TABLE models (
    model_id BIGINT PRIMARY KEY DEFAULT nextval('seq_model_id'),
    model_name VARCHAR NOT NULL UNIQUE,
    model_family VARCHAR,
    modality VARCHAR,
    source VARCHAR,
    version VARCHAR,
    parameters_million DOUBLE,
    metadata JSON,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE hardware_platforms (
    hardware_id BIGINT PRIMARY KEY DEFAULT nextval('seq_hardware_id'),
    fingerprint VARCHAR NOT NULL UNIQUE,
    hardware_type VARCHAR NOT NULL,
    device_name VARCHAR,
    platform VARCHAR,
    platform_version VARCHAR,
    driver_version VARCHAR,
    memory_gb DOUBLE,
    compute_units INTEGER,
    metadata JSON,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE test_runs (
    run_id BIGINT PRIMARY KEY DEFAULT nextval('seq_run_id'),
    test_name VARCHAR NOT NULL,
    test_type VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    time_source VARCHAR NOT NULL,
    git_commit VARCHAR,
    git_branch VARCHAR,
    record_count INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE performance_results (
    result_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    hardware_id BIGINT NOT NULL,
    test_case VARCHAR NOT NULL,
    batch_size INTEGER NOT NULL,
    sequence_length INTEGER,
    precision VARCHAR,
    run_time TIMESTAMPTZ NOT NULL,
    time_source VARCHAR NOT NULL,
    total_time_seconds DOUBLE,
    average_latency_ms DOUBLE,
    latency_p50_ms DOUBLE,
    latency_p90_ms DOUBLE,
    latency_p95_ms DOUBLE,
    latency_p99_ms DOUBLE,
    throughput_items_per_second DOUBLE,
    memory_peak_mb DOUBLE,
    iterations INTEGER,
    warmup_iterations INTEGER,
    metrics JSON,
    extra JSON,
    record_index INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

CREATE TABLE performance_batch_results (
    batch_id BIGINT NOT NULL,
    result_id BIGINT NOT NULL,
    batch_index INTEGER NOT NULL,
    batch_size INTEGER,
    latency_ms DOUBLE,
    memory_usage_mb DOUBLE,
    throughput_items_per_second DOUBLE,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

CREATE TABLE hardware_compatibility (
    compatibility_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    model_id BIGINT,
    model_family VARCHAR,
    hardware_id BIGINT NOT NULL,
    is_compatible BOOLEAN NOT NULL,
    detection_success BOOLEAN,
    initialization_success BOOLEAN,
    error_message VARCHAR,
    error_type VARCHAR,
    suggested_fix VARCHAR,
    workaround_available BOOLEAN,
    compatibility_score DOUBLE,
    metadata JSON,
    run_time TIMESTAMPTZ NOT NULL,
    time_source VARCHAR NOT NULL,
    extra JSON,
    record_index INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR,
    CHECK ((model_id IS NULL) <> (model_family IS NULL))
);

CREATE TABLE integration_test_results (
    test_result_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    test_module VARCHAR,
    test_class VARCHAR,
    test_name VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    execution_time_seconds DOUBLE,
    hardware_id BIGINT,
    model_id BIGINT,
    error_message VARCHAR,
    error_traceback VARCHAR,
    metadata JSON,
    run_time TIMESTAMPTZ NOT NULL,
    time_source VARCHAR NOT NULL,
    extra JSON,
    record_index INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

CREATE TABLE integration_test_assertions (
    assertion_id BIGINT NOT NULL,
    test_result_id BIGINT NOT NULL,
    assertion_index INTEGER NOT NULL,
    assertion_name VARCHAR,
    passed BOOLEAN,
    expected_value JSON,
    actual_value JSON,
    message VARCHAR,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

CREATE TABLE benchmark_failures (
    failure_id BIGINT NOT NULL,
    run_id BIGINT,
    model_name VARCHAR,
    hardware_type VARCHAR,
    error_type VARCHAR,
    error_message VARCHAR,
    error_traceback VARCHAR,
    stage VARCHAR,
    batch_size INTEGER,
    run_time TIMESTAMPTZ NOT NULL,
    time_source VARCHAR NOT NULL,
    record_index INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

CREATE TABLE quarantine (
    quarantine_id BIGINT NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    category VARCHAR,
    record_index INTEGER,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL,
    record JSON,
    status VARCHAR NOT NULL DEFAULT 'open',
    ingestion_run_id VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ingestion_ledger (
    ledger_id BIGINT PRIMARY KEY DEFAULT nextval('seq_ledger_id'),
    source_path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    detected_type VARCHAR,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    records_total INTEGER NOT NULL DEFAULT 0,
    records_quarantined INTEGER NOT NULL DEFAULT 0,
    rows_written INTEGER NOT NULL DEFAULT 0,
    duplicate_of VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    status_changed_at TIMESTAMPTZ NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    history VARCHAR,
    UNIQUE (source_path, sha256)
);
