-- Version 2: power and energy. Per-result averages on performance_results (for comparisons and
-- efficiency rankings) and a power_metrics table for the detailed readings.
ALTER TABLE performance_results ADD COLUMN power_watts DOUBLE;
ALTER TABLE performance_results ADD COLUMN energy_joules DOUBLE;
ALTER TABLE performance_results ADD COLUMN items_per_joule DOUBLE;

CREATE SEQUENCE seq_power_metric_id START 1;

CREATE TABLE power_metrics (
    metric_id BIGINT NOT NULL,
    result_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    hardware_id BIGINT NOT NULL,
    power_watts_avg DOUBLE,
    power_watts_peak DOUBLE,
    power_watts_idle DOUBLE,
    energy_joules DOUBLE,
    temperature_celsius DOUBLE,
    monitoring_duration_ms DOUBLE,
    items_per_joule DOUBLE,
    thermal_throttling_detected BOOLEAN,
    battery_impact_percent_per_hour DOUBLE,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    ingestion_run_id VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    is_simulated BOOLEAN NOT NULL DEFAULT false,
    simulation_reason VARCHAR
);
