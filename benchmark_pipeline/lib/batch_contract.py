"""What ingest hands the warehouse: a ``ValidatedBatch`` of pandas frames, and the columns its frames carry.

Both sides import this module and neither imports the other: ``lib.ingest`` turns files into a
``ValidatedBatch`` without knowing how it is stored, and ``lib.warehouse`` writes one without
knowing how files are parsed. A frame of the batch is keyed by ``file_id``, the row of its file in
``files``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# ``ValidatedBatch.files``: one row per file read (its content hash, what was found in it).
FILE_COLUMNS = ["file_id", "source_path", "category", "size_bytes", "sha256", "seen_at", "file_name_time",
                "problem", "detail", "records_total", "detected_type", "is_result", "note"]
# Files read from disk also carry the kubo-v1 CID of the bytes read (written with the ledger row);
# files rebuilt from the ledger (quarantine replay) may not.
CID_COLUMN = "cid"
# Files whose gaps the ingest filled (LLM results: --gpu, a sidecar, ...) carry what filled them, canonical JSON
# (``LlmDefaults.fingerprint``); the ledger keeps it, so the same bytes ingested again with other options are
# not taken for a repeat. Optional like ``cid``: files rebuilt from the ledger do not carry it.
CONTEXT_COLUMN = "ingest_context"
# A file whose run includes another file's (an MLPerf summary combined with its detail log) names that file's
# path here: a run stored earlier from that file alone is taken back when this one lands, or the run would be
# counted twice. Optional like ``cid``.
ABSORBS_COLUMN = "absorbs"
# ``ValidatedBatch.quarantine``: one row per failing field of a rejected record.
QUARANTINE_COLUMNS = ["file_id", "category", "record_index", "field", "value", "reason", "record_json"]


@dataclass
class ValidatedBatch:
    """Everything one ingest produces before it touches the warehouse."""

    files: pd.DataFrame
    performance: pd.DataFrame
    batch_results: pd.DataFrame
    power_metrics: pd.DataFrame
    compatibility: pd.DataFrame
    integration: pd.DataFrame
    assertions: pd.DataFrame
    quarantine: pd.DataFrame
    failures: pd.DataFrame
    llm_serving: pd.DataFrame  # LLM-serving runs (lib/ingest/fields.py LLM_SERVING_FIELDS)
    duplicates_dropped: int = 0

    FRAMES = ("files", "performance", "batch_results", "power_metrics", "compatibility", "integration",
              "assertions", "quarantine", "failures", "llm_serving")

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in self.FRAMES}
