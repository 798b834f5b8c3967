"""A batch of result files from disk to validated frames: discover, hash, parse, validate.

This is the shared core of ``benchmark-db ingest`` and of the Dagster ingest assets. Its output is a
``ValidatedBatch`` (``lib.batch_contract``), which the warehouse writer takes; nothing here knows
the warehouse.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from stat import S_ISREG
from typing import Callable, Iterable

import pandas as pd

# Defined in the contract module; importable from here too (the service and lib/ingest/parallel.py do).
from benchmark_pipeline.lib.batch_contract import CID_COLUMN, FILE_COLUMNS, QUARANTINE_COLUMNS, ValidatedBatch
from benchmark_pipeline.lib.content.file_cid import cid_of_bytes
from benchmark_pipeline.lib.legacy import convert_document
from benchmark_pipeline.lib.normalize import timestamp_from_file_name
from benchmark_pipeline.lib.vocabulary import CATEGORIES, LEGACY

from .jsonfile import parse_json_bytes
from .validate import CategoryRecords, normalize_failures, validate_category



class DiscoveryError(ValueError):
    """A path that cannot be ingested as asked (missing, or no category can be told)."""


@dataclass
class Discovered:
    files: pd.DataFrame  # source_path, category, size_bytes, mtime_ns
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def discover(paths: Iterable[str | os.PathLike[str]], category: str | None = None,
             missing_ok: bool = False, unknown_category_ok: bool = False) -> Discovered:
    """List ``*.json`` files under the given files/directories, each with its category.

    The category is ``category`` when given, else the nearest parent directory named after one
    (``.../performance/...``). Other files are reported as skipped, never read.
    """
    rows: list[dict] = []
    skipped: list[tuple[str, str]] = []
    display = _DisplayPaths()
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            if missing_ok:
                continue
            raise DiscoveryError(f"{root}: no such file or directory")
        candidates = [(root, root.stat())] if root.is_file() else sorted(_files_under(root), key=lambda c: c[0])
        for path, stat in candidates:
            if path.suffix.lower() != ".json":
                skipped.append((display(path), "not a *.json file"))
                continue
            file_category = category or _category_from_path(path)
            if file_category is None and unknown_category_ok:
                skipped.append((display(path), "not under a performance/, compatibility/ or integration/ directory"))
                continue
            if file_category is None:
                raise DiscoveryError(
                    f"{path}: cannot tell its category; put it under a performance/, compatibility/ or "
                    "integration/ directory or pass --type"
                )
            rows.append({"source_path": display(path), "category": file_category,
                         "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    files = pd.DataFrame(rows, columns=["source_path", "category", "size_bytes", "mtime_ns"])
    return Discovered(files.drop_duplicates("source_path").reset_index(drop=True), skipped)


def display_path(path: Path) -> str:
    """Path as stored in the ledger: relative to the working directory when inside it, else absolute.

    Relative paths keep the warehouse identical for the same files in two checkouts.
    """
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


_IGNORED_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # what Path.is_file() ignores


def _files_under(root: Path) -> list[tuple[Path, os.stat_result]]:
    """Regular files (symlinks followed) below ``root`` that are not hidden, each with its one ``stat``."""
    found = []
    for path in root.rglob("*"):
        try:
            stat = path.stat()
        except OSError as exc:
            if exc.errno in _IGNORED_ERRNOS:
                continue
            raise
        except ValueError:
            continue
        if S_ISREG(stat.st_mode) and not path.name.startswith("."):
            found.append((path, stat))
    return found


class _DisplayPaths:
    """``display_path`` for many files: the working directory and each parent directory resolved once."""

    def __init__(self) -> None:
        self.cwd = Path.cwd().resolve()
        self.parents: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink() or path.name in ("", ".", ".."):
            resolved = path.resolve()
        else:  # resolving the parent and appending a name that is no link is what resolve() does
            parent = self.parents.get(path.parent)
            if parent is None:
                parent = self.parents[path.parent] = path.parent.resolve()
            resolved = parent / path.name
        try:
            return str(resolved.relative_to(self.cwd))
        except ValueError:
            return str(resolved)


def _category_from_path(path: Path) -> str | None:
    for parent in path.parents:
        if parent.name in CATEGORIES or parent.name == LEGACY:
            return parent.name
    return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Records validated together: big enough for whole-column work, small enough that the raw record dicts
# (the bulk of an ingest's memory) of only one chunk are alive at a time. Chunks end at file boundaries,
# so per-file rules (exact duplicates) see whole files.
CHUNK_RECORDS = 100_000


def read_and_validate(
    files: pd.DataFrame, seen_at: datetime | None = None, progress: Callable[[int, int], None] | None = None,
    payloads: dict[str, bytes] | None = None,
) -> ValidatedBatch:
    """Parse and validate the given files (``source_path``, ``category``); never raises for bad content.

    ``payloads`` gives the bytes of sources that are not files on disk (records submitted through the
    API): they take exactly the path of a file's bytes from here on.
    """
    seen_at = seen_at or datetime.now(timezone.utc)
    batches = {c: CategoryRecords() for c in CATEGORIES}
    failures = CategoryRecords()
    file_rows: list[dict] = []
    parts: list[ValidatedBatch] = []
    chunk_start, chunk_records = 0, 0
    total = len(files)
    for file_id, (path, category) in enumerate(zip(files["source_path"], files["category"])):
        if progress is not None:
            progress(file_id, total)
        data = payloads[path] if payloads is not None else Path(path).read_bytes()
        parsed = parse_json_bytes(data)
        records_total, detected, is_result, note = 0, category, True, None
        if parsed.problem is not None:
            detected = "unreadable"
        if parsed.problem is None and category == LEGACY:
            conversion = convert_document(parsed.document, source_name=path)
            detected, is_result, note = conversion.shape, conversion.is_result, conversion.reason
            for record_category, records in conversion.records.items():
                batches[record_category].extend(file_id, records)
                records_total += len(records)
            failures.extend(file_id, conversion.failures)
            records_total += len(conversion.failures)
        elif parsed.problem is None:
            records = parsed.document if isinstance(parsed.document, list) else [parsed.document]
            batches[category].extend(file_id, records)
            records_total = len(records)
        digest = hashlib.sha256(data).digest()
        file_rows.append({
            "file_id": file_id, "source_path": path, "category": category, "size_bytes": len(data),
            "sha256": digest.hex(), "cid": cid_of_bytes(data, digest), "seen_at": seen_at,
            "file_name_time": timestamp_from_file_name(path), "problem": parsed.problem,
            "detail": parsed.detail, "records_total": records_total, "detected_type": detected,
            "is_result": is_result, "note": note,
        })
        del parsed, data
        chunk_records += records_total
        if chunk_records >= CHUNK_RECORDS:
            parts.append(validate_records(_file_frame(file_rows[chunk_start:]), batches, failures))
            batches = {c: CategoryRecords() for c in CATEGORIES}
            failures = CategoryRecords()
            chunk_start, chunk_records = len(file_rows), 0
    if chunk_records or not parts:
        parts.append(validate_records(_file_frame(file_rows[chunk_start:]), batches, failures))
    return _concat_batches(_file_frame(file_rows), parts)


def _file_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FILE_COLUMNS + [CID_COLUMN])
    for column in ("seen_at", "file_name_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


def _concat_batches(files: pd.DataFrame, parts: list[ValidatedBatch]) -> ValidatedBatch:
    if len(parts) == 1:
        parts[0].files = files
        return parts[0]
    frames = {}
    for name in ValidatedBatch.FRAMES:
        if name == "files":
            continue
        pieces = [getattr(p, name) for p in parts]
        non_empty = [f for f in pieces if not f.empty]
        frames[name] = (pd.concat(non_empty, ignore_index=True) if len(non_empty) > 1
                        else (non_empty or pieces)[0].reset_index(drop=True))
    return ValidatedBatch(files=files, **frames, duplicates_dropped=sum(p.duplicates_dropped for p in parts))


def validate_records(files: pd.DataFrame, batches: dict[str, CategoryRecords],
                     failures: CategoryRecords | None = None) -> ValidatedBatch:
    """Validate already-parsed records (also used by quarantine replay and the legacy converter)."""
    by_id = files.set_index("file_id")
    results = {c: validate_category(c, batches[c], by_id) for c in CATEGORIES}
    perf, compat, integ = results["performance"], results["compatibility"], results["integration"]
    quarantine = pd.concat(
        [r.quarantine for r in results.values() if not r.quarantine.empty]
        or [pd.DataFrame(columns=QUARANTINE_COLUMNS)], ignore_index=True,
    )
    return ValidatedBatch(
        files=files,
        performance=perf.frame,
        batch_results=perf.children["batch_results"],
        power_metrics=perf.children["power_metrics"],
        compatibility=compat.frame,
        integration=integ.frame,
        assertions=integ.children["assertions"],
        quarantine=quarantine,
        failures=normalize_failures(failures or CategoryRecords(), by_id),
        duplicates_dropped=sum(r.duplicates_dropped for r in results.values()),
    )

