-- Version 6: regression flags carry the noise model and a confirmation (issue 18), and users can
-- set how large a change must be per metric or per series.
-- confirmation: 'confirmed' once a run after the flag agrees, 'suspected' for a last run that the
-- next run has to confirm. Flags already stored were all detected with persistence, hence confirmed.
ALTER TABLE regression_flags ADD COLUMN confirmation VARCHAR NOT NULL DEFAULT 'confirmed';
ALTER TABLE regression_flags ADD COLUMN noise DOUBLE;
ALTER TABLE regression_flags ADD COLUMN noise_floor DOUBLE;

-- One threshold per scope: a series (scope = its series_id) or a whole metric (scope = 'metric:'
-- followed by the metric name). A series' own threshold wins over its metric's.
CREATE TABLE regression_thresholds (
    scope VARCHAR PRIMARY KEY,
    metric VARCHAR NOT NULL,
    series_id VARCHAR,
    kind VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    note VARCHAR,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL,
    CHECK (kind IN ('relative', 'absolute', 'noise')),
    CHECK (value >= 0)
);
