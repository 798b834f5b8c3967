-- Version 5: compute units in hardware fingerprints print as integers. Before, a load whose
-- platforms included one without compute units printed the others' as "40.0 CU", so one machine
-- could become two platforms ("... | 40 CU" and "... | 40.0 CU"). Each "N.0 CU" platform is merged
-- into its "N CU" twin (its facts and flags move to the twin) or, without a twin, renamed.
-- Acknowledgements are user data: they are re-keyed to the series and flag ids the fixed
-- fingerprint gives (same formulas as lib/warehouse/regressions.py and lib/changepoint/series.py),
-- so they still apply after the next detection.
CREATE TEMP TABLE fingerprint_fix AS
SELECT f.old_id, f.new_fingerprint, coalesce(h.hardware_id, f.old_id) AS new_id
FROM (
    SELECT hardware_id AS old_id,
           regexp_replace(fingerprint, ' \| (\d+)\.0 CU( \||$)', ' | \1 CU\2') AS new_fingerprint
    FROM hardware_platforms
    WHERE regexp_matches(fingerprint, ' \| \d+\.0 CU( \||$)')
) f
LEFT JOIN hardware_platforms h ON h.fingerprint = f.new_fingerprint;

CREATE TEMP TABLE ack_rekey AS
SELECT DISTINCT flag_id AS old_flag_id, series_id AS old_series_id, new_series_id,
       left(sha256(new_series_id || chr(31) || run_id::VARCHAR || chr(31) || kind), 16) AS new_flag_id
FROM (
    SELECT r.flag_id, r.series_id, r.run_id, r.kind,
           left(sha256(concat_ws(chr(31), r.model_name, x.new_fingerprint, r.batch_size::VARCHAR,
                                 coalesce(r.sequence_length::VARCHAR, '\N'), coalesce(r.precision, '\N'),
                                 r.test_case, r.metric)), 16) AS new_series_id
    FROM regression_flags r JOIN fingerprint_fix x ON r.hardware_id = x.old_id
);

UPDATE regression_acks SET flag_id = k.new_flag_id
FROM ack_rekey k WHERE regression_acks.flag_id = k.old_flag_id;
UPDATE regression_acks SET series_id = k.new_series_id
FROM (SELECT DISTINCT old_series_id, new_series_id FROM ack_rekey) k
WHERE regression_acks.series_id = k.old_series_id;

UPDATE performance_results SET hardware_id = x.new_id
FROM fingerprint_fix x WHERE performance_results.hardware_id = x.old_id AND x.new_id <> x.old_id;
UPDATE power_metrics SET hardware_id = x.new_id
FROM fingerprint_fix x WHERE power_metrics.hardware_id = x.old_id AND x.new_id <> x.old_id;
UPDATE hardware_compatibility SET hardware_id = x.new_id
FROM fingerprint_fix x WHERE hardware_compatibility.hardware_id = x.old_id AND x.new_id <> x.old_id;
UPDATE integration_test_results SET hardware_id = x.new_id
FROM fingerprint_fix x WHERE integration_test_results.hardware_id = x.old_id AND x.new_id <> x.old_id;
UPDATE regression_flags SET hardware_id = x.new_id
FROM fingerprint_fix x WHERE regression_flags.hardware_id = x.old_id AND x.new_id <> x.old_id;

DELETE FROM hardware_platforms WHERE hardware_id IN (SELECT old_id FROM fingerprint_fix WHERE new_id <> old_id);
UPDATE hardware_platforms SET fingerprint = x.new_fingerprint
FROM fingerprint_fix x WHERE hardware_platforms.hardware_id = x.old_id AND x.new_id = x.old_id;

DROP TABLE ack_rekey;
DROP TABLE fingerprint_fix;
