-- Version 4: regression flags (change points and outliers per benchmark series), their
-- acknowledgements, and one fingerprint per analysed series so detection can skip unchanged ones.
-- Flags are derived data (rewritten per series on each detection); acks are user data and are
-- keyed by flag_id / series_id, both deterministic hashes, so they survive re-detection.
CREATE TABLE regression_flags (
    flag_id VARCHAR PRIMARY KEY,
    series_id VARCHAR NOT NULL,
    model_name VARCHAR NOT NULL,
    hardware_id BIGINT NOT NULL,
    hardware_fingerprint VARCHAR NOT NULL,
    hardware_type VARCHAR,
    device_name VARCHAR,
    batch_size INTEGER NOT NULL,
    sequence_length INTEGER,
    precision VARCHAR,
    test_case VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    change_index INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    result_id BIGINT NOT NULL,
    run_time TIMESTAMPTZ NOT NULL,
    mean_before DOUBLE,
    stdev_before DOUBLE,
    mean_after DOUBLE,
    stdev_after DOUBLE,
    pct_change DOUBLE,
    pvalue DOUBLE,
    is_latest_change BOOLEAN NOT NULL,
    recovered BOOLEAN NOT NULL,
    series_points INTEGER NOT NULL,
    mode VARCHAR NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE regression_acks (
    flag_id VARCHAR NOT NULL,
    series_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    note VARCHAR NOT NULL,
    acknowledged_by VARCHAR NOT NULL,
    acknowledged_at TIMESTAMPTZ NOT NULL,
    CHECK (kind IN ('ack', 'mute'))
);

CREATE TABLE regression_series_state (
    series_id VARCHAR PRIMARY KEY,
    point_count BIGINT NOT NULL,
    max_result_id BIGINT NOT NULL,
    points_hash UBIGINT NOT NULL,
    params_hash VARCHAR NOT NULL,
    flag_count INTEGER NOT NULL,
    analysed_at TIMESTAMPTZ NOT NULL
);
