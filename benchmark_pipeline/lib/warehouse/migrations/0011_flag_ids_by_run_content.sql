-- Version 11: a flag's id hashes its first bad run's file content (test_runs.source_sha256) instead of
-- the run's surrogate id. A file retracted and ingested again gets new run ids; keyed by them, its
-- acknowledged regression came back unacknowledged and with a new first-detection time. Both the
-- stored flags and the acknowledgements (user data) move to the new ids, with the formula
-- lib/changepoint/series.py `flag_id` uses: first 16 hex of sha256(series_id, run sha256, kind).
-- Flags whose run is already gone (retracted since the last detection) keep their old id: their
-- series is re-detected on the next refresh, and an acknowledgement of one could not have come back
-- under the old ids either.
CREATE TEMP TABLE flag_rekey AS
SELECT f.flag_id AS old_flag_id,
       left(sha256(f.series_id || chr(31) || t.source_sha256 || chr(31) || f.kind), 16) AS new_flag_id
FROM regression_flags f JOIN test_runs t ON t.run_id = f.run_id;

-- Keys are replaced by insert-then-delete, as in version 7 (an UPDATE of a primary key is refused).
CREATE TEMP TABLE flags_rekeyed AS
SELECT * REPLACE (k.new_flag_id AS flag_id)
FROM regression_flags f JOIN flag_rekey k ON k.old_flag_id = f.flag_id;
DELETE FROM regression_flags WHERE flag_id IN (SELECT old_flag_id FROM flag_rekey);
INSERT INTO regression_flags BY NAME SELECT * EXCLUDE (old_flag_id, new_flag_id) FROM flags_rekeyed;

UPDATE regression_acks SET flag_id = k.new_flag_id
FROM flag_rekey k WHERE regression_acks.flag_id = k.old_flag_id;

DROP TABLE flags_rekeyed;
DROP TABLE flag_rekey;
