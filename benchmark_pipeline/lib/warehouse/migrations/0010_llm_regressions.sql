-- Version 10: regression detection over LLM-serving results too (issue 15), through the same detector,
-- incremental state, flags, acknowledgements and thresholds as performance results.
--
-- An LLM series is one serving configuration at one load point measured over time. Its identity is the
-- typed values below, hashed by llm_series_key (like series_key, version 7): the model and the version
-- served (quantization, bits, weights format, precision), the platform (hardware_key) and GPU count, the
-- framework's NAME, the tool, workload type, dataset, configured input/output tokens, the load (concurrency,
-- request rate and whether each was unbounded) and batch size. Not the framework's version: an upgrade is
-- exactly what causes a regression, so it must show as a change inside one series, not start a new one. Not
-- the price, provider or instance either: paying more for the same GPUs does not make them another setup.
-- Doubles are keyed in thousandths (so 0.5 req/s and 1024 tokens print the same in every DuckDB release);
-- strings that name a scheme are lower-cased, as model_version_key and framework_key do; a missing value is
-- \N, which no declared value can equal. 'llm1' keeps these ids apart from series_key's.
CREATE MACRO llm_series_key(model_name, quantization, bits, weights_format, precision, hardware_key, gpu_count,
                            framework, tool, workload_type, dataset, input_tokens_configured,
                            output_tokens_configured, concurrency, concurrency_unbounded, request_rate,
                            request_rate_unbounded, batch_size, metric) AS
    left(sha256(concat_ws(chr(31), 'llm1', model_name,
                          coalesce(lower(quantization), '\N'), coalesce(CAST(bits AS BIGINT)::VARCHAR, '\N'),
                          coalesce(lower(weights_format), '\N'), coalesce(lower(precision), '\N'),
                          hardware_key, coalesce(CAST(gpu_count AS BIGINT)::VARCHAR, '\N'),
                          coalesce(lower(framework), '\N'), tool, coalesce(workload_type, '\N'),
                          coalesce(dataset, '\N'),
                          coalesce(CAST(round(input_tokens_configured * 1000) AS BIGINT)::VARCHAR, '\N'),
                          coalesce(CAST(round(output_tokens_configured * 1000) AS BIGINT)::VARCHAR, '\N'),
                          coalesce(CAST(concurrency AS BIGINT)::VARCHAR, '\N'),
                          CAST(concurrency_unbounded AS VARCHAR),
                          coalesce(CAST(round(request_rate * 1000) AS BIGINT)::VARCHAR, '\N'),
                          CAST(request_rate_unbounded AS VARCHAR),
                          coalesce(CAST(batch_size AS BIGINT)::VARCHAR, '\N'), metric)), 16);

-- A flag says which facts it is about, and an LLM flag carries its configuration as typed columns, so it
-- reads (and filters) without a join. Performance flags already stored keep every value, id and ack:
-- they are all 'performance_results', and their new columns stay NULL, which is what they are.
-- Batch size and test case were required of every flag; an online serving run has no batch size and no
-- LLM run has a test case, so they become optional rather than filled with a made-up value.
ALTER TABLE regression_flags ALTER COLUMN batch_size DROP NOT NULL;
ALTER TABLE regression_flags ALTER COLUMN test_case DROP NOT NULL;
ALTER TABLE regression_flags ADD COLUMN fact_table VARCHAR NOT NULL DEFAULT 'performance_results';
ALTER TABLE regression_flags ADD COLUMN model_version_id BIGINT;
ALTER TABLE regression_flags ADD COLUMN quantization VARCHAR;
ALTER TABLE regression_flags ADD COLUMN bits INTEGER;
ALTER TABLE regression_flags ADD COLUMN weights_format VARCHAR;
ALTER TABLE regression_flags ADD COLUMN gpu_count INTEGER;
ALTER TABLE regression_flags ADD COLUMN framework VARCHAR;
ALTER TABLE regression_flags ADD COLUMN tool VARCHAR;
ALTER TABLE regression_flags ADD COLUMN workload_type VARCHAR;
ALTER TABLE regression_flags ADD COLUMN dataset VARCHAR;
ALTER TABLE regression_flags ADD COLUMN input_tokens_configured DOUBLE;
ALTER TABLE regression_flags ADD COLUMN output_tokens_configured DOUBLE;
ALTER TABLE regression_flags ADD COLUMN concurrency INTEGER;
ALTER TABLE regression_flags ADD COLUMN concurrency_unbounded BOOLEAN;
ALTER TABLE regression_flags ADD COLUMN request_rate DOUBLE;
ALTER TABLE regression_flags ADD COLUMN request_rate_unbounded BOOLEAN;
