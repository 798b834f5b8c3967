"""What an ingest does with each file, decided against the ledger before any row is written.

Pure pandas over the files of a batch and the ledger, so ``--dry-run`` and the writer agree.
"""

from __future__ import annotations

import os
from typing import Iterable

import pandas as pd

from benchmark_pipeline.lib.batch_contract import CONTEXT_COLUMN
from benchmark_pipeline.lib.vocabulary import ACTIVE_LEDGER_STATUSES as ACTIVE_STATUSES

# Actions
UNCHANGED = "unchanged"  # this exact (path, sha256) is already in the ledger
DUPLICATE = "duplicate"  # the same bytes are already ledgered (or earlier in this batch) at another path
INGEST = "ingest"  # new file, new version of a known path, or a retracted version coming back
# Ledger statuses whose version is taken again when an ingest brings other options (or another sidecar) for
# what the file lacks: something of it was refused, and the options may be what it needed (--gpu, ...).
REFILLABLE = ("quarantined", "partial")


def plan_files(files: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """One row per file: ``file_id``, ``action``, ``duplicate_of``, ``replaces`` (path has an older active version).

    ``files`` has file_id, source_path, sha256 (batch order = priority); ``ledger`` has
    source_path, sha256, status.
    """
    return FilePlanner(ledger).plan(files)


class FilePlanner:
    """``plan_files`` over a batch that arrives in chunks: each chunk is planned as if the earlier chunks
    of the same batch were already in the ledger, so chunked and whole-batch plans are the same.

    A known version is unchanged, except one that was (partly) refused and now comes with an
    ``ingest_context`` (the options and sidecar that fill an LLM file's gaps) other than the one it was
    ledgered with: that is ingested again, replacing its rows, since the refusal may be what the new
    options fix. An ingest without options never disturbs what an earlier one stored with them.
    """

    def __init__(self, ledger: pd.DataFrame | None = None) -> None:
        self.known_versions: set[tuple[str, str]] = set()
        self.refillable: dict[tuple[str, str], str | None] = {}
        self.first_path_by_sha: dict[str, str] = {}
        self.active_paths: set[str] = set()
        if ledger is not None:
            self.learn(ledger)

    def learn(self, ledger: pd.DataFrame) -> None:
        """Take in ledger rows (in ledger order). A writer learns, before each chunk, only the rows of that chunk's
        paths and contents: all a plan looks up, so a one-file drop does not load a ledger of 100,000 files.
        Rows of the versions this planner already knows change nothing."""
        active = ledger[ledger["status"].isin(ACTIVE_STATUSES)]
        contexts = active[CONTEXT_COLUMN] if CONTEXT_COLUMN in active else pd.Series(None, index=active.index)
        for path, sha, status, context in zip(active["source_path"], active["sha256"], active["status"], contexts):
            if (path, sha) in self.known_versions:
                continue
            self.known_versions.add((path, sha))
            if status in REFILLABLE:
                self.refillable[(path, sha)] = None if pd.isna(context) else context
            if status != DUPLICATE:
                self.first_path_by_sha.setdefault(sha, path)
            self.active_paths.add(path)

    def plan(self, files: pd.DataFrame) -> pd.DataFrame:
        rows = []
        contexts = files[CONTEXT_COLUMN] if CONTEXT_COLUMN in files else [None] * len(files)
        for file_id, path, sha, context in zip(files["file_id"], files["source_path"], files["sha256"], contexts):
            duplicate_of = None
            context = None if not isinstance(context, str) else context
            if (path, sha) in self.refillable and context is not None and context != self.refillable[(path, sha)]:
                action = INGEST
                del self.refillable[(path, sha)]
            elif (path, sha) in self.known_versions:
                action = UNCHANGED
            elif sha in self.first_path_by_sha and self.first_path_by_sha[sha] != path:
                action, duplicate_of = DUPLICATE, self.first_path_by_sha[sha]
            else:
                action = INGEST
                self.first_path_by_sha.setdefault(sha, path)
            rows.append({"file_id": file_id, "action": action, "duplicate_of": duplicate_of,
                         "replaces": action != UNCHANGED and path in self.active_paths})
            self.known_versions.add((path, sha))
        plan = pd.DataFrame(rows, columns=["file_id", "action", "duplicate_of", "replaces"])
        return plan.astype({"file_id": "int64", "replaces": "bool"})


def relative_spellings(ledgered: Iterable[object], files: Iterable[str], cwd: str) -> dict[str, str]:
    """``{relative: absolute}``: ledgered relative paths that name one of ``files`` when read from ``cwd``.

    A file's identity is its absolute real path (``lib.ingest.batch.file_identity``). Ingests before that
    stored a file inside their working directory relative to it, and did not record the directory. Such a
    path is read from ``cwd`` (the real working directory of the ingest at hand): the old code would have
    stored the very same spelling for the file had it run here, so it is taken to be that file. From any
    other directory it names nothing in the batch and is left alone. URIs (``api://``) are not paths.
    """
    wanted = set(files)
    found: dict[str, str] = {}
    for path in ledgered:
        if not isinstance(path, str) or os.path.isabs(path) or "://" in path:
            continue
        absolute = os.path.normpath(os.path.join(cwd, path))
        if absolute in wanted:
            found[path] = absolute
    return found


def file_status(problem: object, records_total: int, records_quarantined: int, is_result: bool = True) -> str:
    """Ledger status of an ingested file from what validation (and shape detection) found."""
    if isinstance(problem, str):
        return "quarantined"
    if not is_result or records_total == 0:
        return "not a result"
    if records_quarantined >= records_total:
        return "quarantined"
    if records_quarantined:
        return "partial"
    return "ingested"
