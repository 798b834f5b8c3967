-- Version 8: LLM-serving results (issue 15). An LLM result is still a model x hardware result: its facts
-- reference the same models and hardware_platforms rows as performance results, and add what serving needs:
-- the model as served (model_versions: quantization, bits, weights format, VRAM needed), the hardware as
-- bought (hardware_configurations: GPU count, price, provider, instance, spot) and the inference framework.
-- Dimension identities come from the typed values through the macros below (like hardware_key in version 7).
--
-- The metric columns are one per metric x stat of benchmark_pipeline/lib/llm/metrics.py (metric_columns());
-- a test holds this file to that list. Every stat a file reports, with or without a column, is also in
-- llm_serving_results.metrics. The ledger gains ingest_context: what the ingest options and sidecar that
-- filled a file's gaps were, so ingesting the same file again with other options is not mistaken for a repeat.
CREATE SEQUENCE seq_llm_result_id START 1;
CREATE SEQUENCE seq_model_version_id START 1;
CREATE SEQUENCE seq_hardware_config_id START 1;
CREATE SEQUENCE seq_framework_id START 1;

CREATE MACRO model_version_key(model_id, quantization, bits, weights_format, precision) AS
    left(sha256(concat_ws(chr(31), 'mv1', CAST(model_id AS BIGINT)::VARCHAR, coalesce(lower(quantization), '\N'),
                          coalesce(CAST(bits AS BIGINT)::VARCHAR, '\N'), coalesce(lower(weights_format), '\N'),
                          coalesce(lower(precision), '\N'))), 16);

-- Prices keyed in hundredths of a cent, so a price prints the same in every DuckDB release.
CREATE MACRO hardware_config_key(hardware_id, gpu_count, provider, instance_type, spot, cost_per_hour_usd) AS
    left(sha256(concat_ws(chr(31), 'hc1', CAST(hardware_id AS BIGINT)::VARCHAR,
                          coalesce(CAST(gpu_count AS BIGINT)::VARCHAR, '\N'), coalesce(lower(provider), '\N'),
                          coalesce(instance_type, '\N'), coalesce(CAST(spot AS VARCHAR), '\N'),
                          coalesce(CAST(round(cost_per_hour_usd * 10000) AS BIGINT)::VARCHAR, '\N'))), 16);

CREATE MACRO framework_key(name, version) AS
    left(sha256(concat_ws(chr(31), 'fw1', lower(name), coalesce(version, '\N'))), 16);

CREATE TABLE model_versions (
    model_version_id BIGINT PRIMARY KEY DEFAULT nextval('seq_model_version_id'),
    version_key VARCHAR NOT NULL UNIQUE,
    model_id BIGINT NOT NULL,
    quantization VARCHAR,
    bits INTEGER,
    weights_format VARCHAR,
    precision VARCHAR,
    vram_required_gb DOUBLE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE hardware_configurations (
    hardware_config_id BIGINT PRIMARY KEY DEFAULT nextval('seq_hardware_config_id'),
    config_key VARCHAR NOT NULL UNIQUE,
    hardware_id BIGINT NOT NULL,
    gpu_count INTEGER,
    vram_total_gb DOUBLE,
    cost_per_hour_usd DOUBLE,
    provider VARCHAR,
    instance_type VARCHAR,
    spot BOOLEAN,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE inference_frameworks (
    framework_id BIGINT PRIMARY KEY DEFAULT nextval('seq_framework_id'),
    framework_key VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    version VARCHAR,
    capabilities JSON,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE llm_serving_results (
    result_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    hardware_id BIGINT NOT NULL,
    model_version_id BIGINT NOT NULL,
    hardware_config_id BIGINT NOT NULL,
    framework_id BIGINT,
    run_time TIMESTAMPTZ NOT NULL,
    time_source VARCHAR NOT NULL,
    tool VARCHAR NOT NULL,
    tool_version VARCHAR,
    source_record VARCHAR,
    workload_type VARCHAR,
    dataset VARCHAR,
    input_tokens_mean DOUBLE,
    output_tokens_mean DOUBLE,
    input_tokens_configured DOUBLE,
    output_tokens_configured DOUBLE,
    batch_size INTEGER,
    concurrency INTEGER,
    concurrency_unbounded BOOLEAN NOT NULL,
    request_rate DOUBLE,
    request_rate_unbounded BOOLEAN NOT NULL,
    num_prompts INTEGER,
    completed INTEGER,
    failed INTEGER,
    duration_s DOUBLE,
    ttft_ms_mean DOUBLE,
    ttft_ms_std DOUBLE,
    ttft_ms_min DOUBLE,
    ttft_ms_max DOUBLE,
    ttft_ms_p50 DOUBLE,
    ttft_ms_p90 DOUBLE,
    ttft_ms_p95 DOUBLE,
    ttft_ms_p99 DOUBLE,
    ttst_ms_mean DOUBLE,
    ttst_ms_std DOUBLE,
    ttst_ms_min DOUBLE,
    ttst_ms_max DOUBLE,
    ttst_ms_p50 DOUBLE,
    ttst_ms_p90 DOUBLE,
    ttst_ms_p95 DOUBLE,
    ttst_ms_p99 DOUBLE,
    tpot_ms_mean DOUBLE,
    tpot_ms_std DOUBLE,
    tpot_ms_min DOUBLE,
    tpot_ms_max DOUBLE,
    tpot_ms_p50 DOUBLE,
    tpot_ms_p90 DOUBLE,
    tpot_ms_p95 DOUBLE,
    tpot_ms_p99 DOUBLE,
    itl_ms_mean DOUBLE,
    itl_ms_std DOUBLE,
    itl_ms_min DOUBLE,
    itl_ms_max DOUBLE,
    itl_ms_p50 DOUBLE,
    itl_ms_p90 DOUBLE,
    itl_ms_p95 DOUBLE,
    itl_ms_p99 DOUBLE,
    e2el_ms_mean DOUBLE,
    e2el_ms_std DOUBLE,
    e2el_ms_min DOUBLE,
    e2el_ms_max DOUBLE,
    e2el_ms_p50 DOUBLE,
    e2el_ms_p90 DOUBLE,
    e2el_ms_p95 DOUBLE,
    e2el_ms_p99 DOUBLE,
    e2el_per_output_token_ms_mean DOUBLE,
    e2el_per_output_token_ms_std DOUBLE,
    e2el_per_output_token_ms_min DOUBLE,
    e2el_per_output_token_ms_max DOUBLE,
    e2el_per_output_token_ms_p50 DOUBLE,
    e2el_per_output_token_ms_p90 DOUBLE,
    e2el_per_output_token_ms_p95 DOUBLE,
    e2el_per_output_token_ms_p99 DOUBLE,
    batch_latency_ms_mean DOUBLE,
    batch_latency_ms_std DOUBLE,
    batch_latency_ms_min DOUBLE,
    batch_latency_ms_max DOUBLE,
    batch_latency_ms_p50 DOUBLE,
    batch_latency_ms_p90 DOUBLE,
    batch_latency_ms_p95 DOUBLE,
    batch_latency_ms_p99 DOUBLE,
    output_tokens_per_s_per_user_mean DOUBLE,
    output_tokens_per_s_per_user_std DOUBLE,
    output_tokens_per_s_per_user_min DOUBLE,
    output_tokens_per_s_per_user_max DOUBLE,
    output_tokens_per_s_per_user_p50 DOUBLE,
    output_tokens_per_s_per_user_p90 DOUBLE,
    output_tokens_per_s_per_user_p95 DOUBLE,
    output_tokens_per_s_per_user_p99 DOUBLE,
    output_tokens_per_s_per_request_mean DOUBLE,
    output_tokens_per_s_per_request_std DOUBLE,
    output_tokens_per_s_per_request_min DOUBLE,
    output_tokens_per_s_per_request_max DOUBLE,
    output_tokens_per_s_per_request_p50 DOUBLE,
    output_tokens_per_s_per_request_p90 DOUBLE,
    output_tokens_per_s_per_request_p95 DOUBLE,
    output_tokens_per_s_per_request_p99 DOUBLE,
    output_tokens_per_s DOUBLE,
    input_tokens_per_s DOUBLE,
    total_tokens_per_s DOUBLE,
    peak_output_tokens_per_s DOUBLE,
    decode_tokens_per_s DOUBLE,
    requests_per_s DOUBLE,
    goodput_requests_per_s DOUBLE,
    samples_per_s DOUBLE,
    gpu_utilization_pct DOUBLE,
    energy_joules DOUBLE,
    power_watts DOUBLE,
    memory_peak_mb DOUBLE,
    metrics JSON NOT NULL,
    notes VARCHAR,
    filled_from JSON,
    extra JSON,
    record_index INTEGER NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);

ALTER TABLE ingestion_ledger ADD COLUMN ingest_context VARCHAR;
