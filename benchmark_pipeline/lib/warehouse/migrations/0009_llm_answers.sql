-- Version 9: what the LLM-serving results answer (issue 15), and identities that survive a rebuild.
--
-- 1. Model versions and hardware configurations were keyed by model_id and hardware_id, surrogate ids
--    that differ between two warehouses built from the same files in another order (or restored
--    from a snapshot into a fresh one). They are keyed from here on by the model's name and the
--    platform's hardware_key (itself computed from typed columns, version 7), so the same version or
--    configuration has the same key everywhere. Existing rows are re-keyed in place.
-- 2. The use-case taxonomy (seeded below: the only place its categories, SLAs and default weights are
--    written), per model x use case suitability, daily LLM statistics, and the TOPSIS rankings per use
--    case with their expiry. The last three are computed from the facts by
--    benchmark_pipeline/lib/analytics/serving.py and rewritten whole when their inputs change or expire.
CREATE OR REPLACE MACRO model_version_key(model_name, quantization, bits, weights_format, precision) AS
    left(sha256(concat_ws(chr(31), 'mv2', model_name, coalesce(lower(quantization), '\N'),
                          coalesce(CAST(bits AS BIGINT)::VARCHAR, '\N'), coalesce(lower(weights_format), '\N'),
                          coalesce(lower(precision), '\N'))), 16);

CREATE OR REPLACE MACRO hardware_config_key(hardware_key, gpu_count, provider, instance_type, spot, cost_per_hour_usd) AS
    left(sha256(concat_ws(chr(31), 'hc2', hardware_key,
                          coalesce(CAST(gpu_count AS BIGINT)::VARCHAR, '\N'), coalesce(lower(provider), '\N'),
                          coalesce(instance_type, '\N'), coalesce(CAST(spot AS VARCHAR), '\N'),
                          coalesce(CAST(round(cost_per_hour_usd * 10000) AS BIGINT)::VARCHAR, '\N'))), 16);

CREATE TEMP TABLE version_rekey AS
SELECT v.model_version_id,
       model_version_key(m.model_name, v.quantization, v.bits, v.weights_format, v.precision) AS version_key
FROM model_versions v JOIN models m USING (model_id);
UPDATE model_versions SET version_key = r.version_key FROM version_rekey r
WHERE model_versions.model_version_id = r.model_version_id;
DROP TABLE version_rekey;

CREATE TEMP TABLE config_rekey AS
SELECT c.hardware_config_id,
       hardware_config_key(h.hardware_key, c.gpu_count, c.provider, c.instance_type, c.spot, c.cost_per_hour_usd)
           AS config_key
FROM hardware_configurations c JOIN hardware_platforms h USING (hardware_id);
UPDATE hardware_configurations SET config_key = r.config_key FROM config_rekey r
WHERE hardware_configurations.hardware_config_id = r.hardware_config_id;
DROP TABLE config_rekey;

-- The taxonomy. characteristics: the workload a use case means (input and output tokens per request,
-- whether a person waits on it); sla: the limits a configuration must meet to serve it, over the columns
-- of lib/analytics/serving.py CRITERIA ({column: {"max"|"min": limit}}); default_weights: the TOPSIS
-- weight of each criterion (they need not sum to 1: the ranking normalises them); ranking_ttl_s: how long
-- a computed ranking stays valid before it is recomputed even if no result changed.
CREATE TABLE use_case_taxonomy (
    use_case VARCHAR PRIMARY KEY,
    category VARCHAR NOT NULL,
    subcategory VARCHAR NOT NULL,
    pipeline_tag VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    characteristics JSON NOT NULL,
    sla JSON NOT NULL,
    default_weights JSON NOT NULL,
    ranking_ttl_s INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

INSERT INTO use_case_taxonomy (use_case, category, subcategory, pipeline_tag, description, characteristics, sla,
                               default_weights, ranking_ttl_s) VALUES
('chatbot', 'text-generation', 'chatbot', 'text-generation',
 'A person chats: short prompts, answers streamed while they read.',
 '{"input_tokens": [32, 2048], "output_tokens": [32, 1024], "interactive": true}',
 '{"ttft_ms_p90": {"max": 300}, "user_tokens_per_s": {"min": 20}}',
 '{"ttft_ms_p90": 0.25, "tpot_ms_p90": 0.15, "user_tokens_per_s": 0.15, "output_tokens_per_s_per_gpu": 0.15, "usd_per_million_output_tokens": 0.25, "output_tokens_per_joule": 0.05}',
 3600),
('code-completion', 'text-generation', 'code-completion', 'text-generation',
 'An editor asks for the next lines: the first token must come almost at once; answers are short.',
 '{"input_tokens": [128, 8192], "output_tokens": [8, 256], "interactive": true}',
 '{"ttft_ms_p90": {"max": 150}, "user_tokens_per_s": {"min": 30}}',
 '{"ttft_ms_p90": 0.4, "tpot_ms_p90": 0.15, "user_tokens_per_s": 0.1, "output_tokens_per_s_per_gpu": 0.1, "usd_per_million_output_tokens": 0.2, "output_tokens_per_joule": 0.05}',
 3600),
('rag-qa', 'question-answering', 'retrieval-augmented', 'question-answering',
 'Questions over retrieved passages: long prompts, short answers, a person waiting.',
 '{"input_tokens": [1024, 16384], "output_tokens": [16, 512], "interactive": true}',
 '{"ttft_ms_p90": {"max": 800}, "user_tokens_per_s": {"min": 15}}',
 '{"ttft_ms_p90": 0.3, "tpot_ms_p90": 0.1, "user_tokens_per_s": 0.1, "output_tokens_per_s_per_gpu": 0.15, "usd_per_million_output_tokens": 0.3, "output_tokens_per_joule": 0.05}',
 3600),
('summarization', 'summarization', 'long-document', 'summarization',
 'Long documents condensed: prefill-heavy, a summary of moderate length, latency matters less.',
 '{"input_tokens": [2048, 131072], "output_tokens": [64, 2048], "interactive": false}',
 '{"ttft_ms_p90": {"max": 3000}, "user_tokens_per_s": {"min": 10}}',
 '{"ttft_ms_p90": 0.15, "tpot_ms_p90": 0.1, "user_tokens_per_s": 0.05, "output_tokens_per_s_per_gpu": 0.25, "usd_per_million_output_tokens": 0.35, "output_tokens_per_joule": 0.1}',
 3600),
('creative-writing', 'text-generation', 'creative-writing', 'text-generation',
 'Stories and drafts: short prompts, long outputs read as they stream.',
 '{"input_tokens": [16, 1024], "output_tokens": [512, 8192], "interactive": true}',
 '{"ttft_ms_p90": {"max": 1000}, "user_tokens_per_s": {"min": 20}}',
 '{"ttft_ms_p90": 0.1, "tpot_ms_p90": 0.2, "user_tokens_per_s": 0.2, "output_tokens_per_s_per_gpu": 0.15, "usd_per_million_output_tokens": 0.3, "output_tokens_per_joule": 0.05}',
 3600),
('batch-generation', 'text-generation', 'batch-inference', 'text-generation',
 'Offline jobs (evaluation, synthetic data, labelling): nobody waits on a request; cost per token is all.',
 '{"input_tokens": [1, 131072], "output_tokens": [1, 131072], "interactive": false}',
 '{}',
 '{"output_tokens_per_s_per_gpu": 0.35, "usd_per_million_output_tokens": 0.5, "output_tokens_per_joule": 0.15}',
 3600);

CREATE TABLE model_use_cases (
    model_id BIGINT NOT NULL,
    use_case VARCHAR NOT NULL,
    suitability_score DOUBLE NOT NULL,
    recommended BOOLEAN NOT NULL,
    priority INTEGER,
    configurations_tested INTEGER NOT NULL,
    configurations_meeting_sla INTEGER NOT NULL,
    performance_summary JSON NOT NULL,
    calculated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, use_case)
);

CREATE TABLE llm_daily_stats (
    model_id BIGINT NOT NULL,
    stats_date DATE NOT NULL,
    results INTEGER NOT NULL,
    configurations INTEGER NOT NULL,
    median_ttft_ms_p90 DOUBLE,
    median_tpot_ms_p90 DOUBLE,
    max_output_tokens_per_s DOUBLE,
    min_usd_per_million_output_tokens DOUBLE,
    max_output_tokens_per_joule DOUBLE,
    calculated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, stats_date)
);

-- A candidate that lacks a criterion most others have is stored unranked: rank and score NULL.
CREATE TABLE model_rankings (
    use_case VARCHAR NOT NULL,
    rank_position INTEGER,
    composite_score DOUBLE,
    model_id BIGINT NOT NULL,
    model_version_id BIGINT NOT NULL,
    hardware_config_id BIGINT NOT NULL,
    framework_id BIGINT,
    result_id BIGINT NOT NULL,
    concurrency INTEGER,
    request_rate DOUBLE,
    score_breakdown JSON NOT NULL,
    criteria_dropped JSON NOT NULL,
    candidates INTEGER NOT NULL,
    calculated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    inputs_fingerprint VARCHAR NOT NULL
);

-- When the answers were last computed and from what, also when no use case had a candidate (no rows).
CREATE TABLE llm_answers_state (
    id INTEGER PRIMARY KEY,
    inputs_fingerprint VARCHAR NOT NULL,
    calculated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
