-- Version 7: identities from typed values. A hardware platform was known by its fingerprint, a
-- display string ("cuda | A100 | 80 GB | 108 CU | driver 550"), and series ids hashed that string,
-- so changing how a platform is printed meant a data migration (version 5 was one). From here on a
-- platform is known by hardware_key, computed by the hardware_key macro below from the typed
-- columns; the fingerprint is only a label, and series ids hash the key. The macros live in the
-- warehouse, so the loader, detection and this migration all compute keys with the same definition.
--
-- Memory is keyed in whole MiB (an integer prints the same in every DuckDB release; a double may
-- not); strings as declared; a missing value as \N, which no declared value can equal.
CREATE MACRO hardware_key(hardware_type, device_name, memory_gb, compute_units, driver_version) AS
    left(sha256(concat_ws(chr(31), 'hw1', hardware_type, coalesce(device_name, '\N'),
                          coalesce(CAST(round(memory_gb * 1024) AS BIGINT)::VARCHAR, '\N'),
                          coalesce(CAST(compute_units AS BIGINT)::VARCHAR, '\N'),
                          coalesce(driver_version, '\N'))), 16);

CREATE MACRO series_key(model_name, hardware_key, batch_size, sequence_length, precision, test_case, metric) AS
    left(sha256(concat_ws(chr(31), model_name, hardware_key, CAST(batch_size AS BIGINT)::VARCHAR,
                          coalesce(CAST(sequence_length AS BIGINT)::VARCHAR, '\N'), coalesce(precision, '\N'),
                          test_case, metric)), 16);

ALTER TABLE hardware_platforms ADD COLUMN hardware_key VARCHAR;
UPDATE hardware_platforms
SET hardware_key = hardware_key(hardware_type, device_name, memory_gb, compute_units, driver_version);
-- (NOT NULL cannot be added in the transaction that fills it; the has_hardware_key invariant checks it.)

-- Every series id and flag id that regression detection stored changes with the key. Old ids are
-- computed as version 4 defined them (from the fingerprint), over the facts, so series without
-- flags keep their detection state too. Acknowledgements and thresholds are user data: they follow.
CREATE TEMP TABLE series_rekey AS
WITH wide AS (
    SELECT m.model_name, h.fingerprint, h.hardware_key, r.batch_size, r.sequence_length, r.precision, r.test_case
    FROM performance_results r
    JOIN models m ON m.model_id = r.model_id
    JOIN hardware_platforms h ON h.hardware_id = r.hardware_id
    GROUP BY ALL
), metrics AS (
    SELECT unnest(['average_latency_ms', 'latency_p50_ms', 'latency_p90_ms', 'latency_p95_ms', 'latency_p99_ms',
                   'throughput_items_per_second', 'memory_peak_mb', 'power_watts', 'energy_joules',
                   'items_per_joule']) AS metric
    UNION SELECT DISTINCT metric FROM regression_flags
)
SELECT DISTINCT
    left(sha256(concat_ws(chr(31), model_name, fingerprint, batch_size::VARCHAR,
                          coalesce(sequence_length::VARCHAR, '\N'), coalesce(precision, '\N'),
                          test_case, metric)), 16) AS old_series_id,
    series_key(model_name, hardware_key, batch_size, sequence_length, precision, test_case, metric) AS new_series_id
FROM wide CROSS JOIN metrics;

-- Flags of series whose facts are gone (retracted since the last detection) keep their key parts.
INSERT INTO series_rekey
SELECT DISTINCT f.series_id,
       series_key(f.model_name, h.hardware_key, f.batch_size, f.sequence_length, f.precision, f.test_case, f.metric)
FROM regression_flags f JOIN hardware_platforms h ON h.hardware_id = f.hardware_id
WHERE f.series_id NOT IN (SELECT old_series_id FROM series_rekey);

-- flag_id = first 16 hex of sha256(series_id, run_id, kind), as lib/changepoint/series.py computes it.
CREATE TEMP TABLE flag_rekey AS
SELECT f.flag_id AS old_flag_id, k.new_series_id,
       left(sha256(k.new_series_id || chr(31) || f.run_id::VARCHAR || chr(31) || f.kind), 16) AS new_flag_id
FROM regression_flags f JOIN series_rekey k ON k.old_series_id = f.series_id;

-- Keys are replaced by insert-then-delete: the new ids never equal old ones (different hash input).
CREATE TEMP TABLE flags_rekeyed AS
SELECT * REPLACE (k.new_flag_id AS flag_id, k.new_series_id AS series_id)
FROM regression_flags f JOIN flag_rekey k ON k.old_flag_id = f.flag_id;
DELETE FROM regression_flags WHERE flag_id IN (SELECT old_flag_id FROM flag_rekey);
INSERT INTO regression_flags BY NAME SELECT * EXCLUDE (old_flag_id, new_series_id, new_flag_id) FROM flags_rekeyed;

UPDATE regression_acks SET flag_id = k.new_flag_id, series_id = k.new_series_id
FROM flag_rekey k WHERE regression_acks.flag_id = k.old_flag_id;
UPDATE regression_acks SET series_id = k.new_series_id
FROM series_rekey k WHERE regression_acks.series_id = k.old_series_id;

CREATE TEMP TABLE state_rekeyed AS
SELECT s.* REPLACE (k.new_series_id AS series_id)
FROM regression_series_state s JOIN series_rekey k ON k.old_series_id = s.series_id;
DELETE FROM regression_series_state WHERE series_id IN (SELECT old_series_id FROM series_rekey);
INSERT INTO regression_series_state BY NAME SELECT * FROM state_rekeyed;

CREATE TEMP TABLE thresholds_rekeyed AS
SELECT t.* REPLACE (k.new_series_id AS series_id, k.new_series_id AS scope)
FROM regression_thresholds t JOIN series_rekey k ON k.old_series_id = t.series_id;
DELETE FROM regression_thresholds WHERE series_id IN (SELECT old_series_id FROM series_rekey);
INSERT INTO regression_thresholds BY NAME SELECT * FROM thresholds_rekeyed;

DROP TABLE thresholds_rekeyed;
DROP TABLE state_rekeyed;
DROP TABLE flags_rekeyed;
DROP TABLE flag_rekey;
DROP TABLE series_rekey;
