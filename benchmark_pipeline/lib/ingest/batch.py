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
from operator import itemgetter
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK
from typing import Callable, Iterable

import pandas as pd

# Defined in the contract module; importable from here too (the service and lib/ingest/parallel.py do).
from benchmark_pipeline.lib.batch_contract import (ABSORBS_COLUMN, CID_COLUMN, CONTEXT_COLUMN, FILE_COLUMNS,
                                                   QUARANTINE_COLUMNS, ValidatedBatch)
from benchmark_pipeline.lib.content.file_cid import cid_of_bytes
from benchmark_pipeline.lib.legacy import convert_document
from benchmark_pipeline.lib.llm.adapters import mlperf
from benchmark_pipeline.lib.llm.defaults import SIDECAR_SUFFIX, LlmDefaults
from benchmark_pipeline.lib.normalize import timestamp_from_file_name
from benchmark_pipeline.lib.vocabulary import CATEGORIES, LEGACY, LLM_DROP, LLM_SERVING

from .jsonfile import TOO_DEEP, parse_json_bytes
from .limits import MB
from .llm import is_sidecar, looks_like_llm, read_llm_content, recognised_document
from .validate import CategoryRecords, normalize_failures, validate_category


class DiscoveryError(ValueError):
    """A path that cannot be ingested as asked (missing, or no category can be told)."""


# Why a listed file is never read (``Discovered.skipped``, and the outcome of a file that could not be read).
OUTSIDE_ROOTS = "outside the ingest roots"
NOT_REGULAR = "not a regular file"
NAME_NOT_UTF8 = "file name is not valid UTF-8"
CANNOT_READ = "cannot read"
TOO_LARGE = "too large"
NOT_JSON = "not a *.json file"
SIDECAR = "a sidecar"
MLPERF_OTHER_LOG = "an MLPerf loadgen log other than its summary and detail (accuracy, trace): not a result"
NO_CATEGORY = ("not an LLM benchmark result, and not under a performance/, compatibility/ or integration/ "
               "directory (pass --type to ingest it as one)")
# Skips that mean a file the ingest was asked for was not read; the rest (wrong name, no category) are
# simply not result files.
REFUSED = (OUTSIDE_ROOTS, NOT_REGULAR, NAME_NOT_UTF8, CANNOT_READ, TOO_LARGE)


def refused(why: str) -> bool:
    """True when a skip reason says a candidate result file was refused or could not be read."""
    return why.startswith(REFUSED)


@dataclass
class Discovered:
    files: pd.DataFrame  # source_path, category, size_bytes, mtime_ns
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


# What an LLM tool may write: JSON, JSON lines (SGLang) and text logs (MLPerf loadgen).
CANDIDATE_SUFFIXES = (".json", ".jsonl", ".txt")
# A text log is told by its head: loadgen's summary banner or detail prefix is in its first lines.
_LOG_HEAD_BYTES = 4096


def discover(paths: Iterable[str | os.PathLike[str]], category: str | None = None,
             missing_ok: bool = False, unknown_category_ok: bool = False,
             max_file_bytes: int | None = None) -> Discovered:
    """List the result files under the given files/directories, each with its category and identity.

    A file's ``source_path`` is its identity in the ledger: its real path (absolute, symbolic links
    followed; see ``file_identity``), the same whatever the working directory and however it was named.
    The category is ``category`` when given, else the nearest parent directory named after one
    (``.../performance/...``; ``llm/`` is ``llm_serving``). ``*.json`` files are results; ``*.jsonl`` and
    ``*.txt`` files only when an LLM tool wrote them, and so are ``*.json`` files outside any category
    directory: those are told by content (read here, before the ingest reads them again), wherever they
    lie. Other files are reported as skipped, never read, and so are the ``<file>.meta.json`` sidecars
    (read with their file), files that are not regular files (a FIFO would block the reader), files whose
    real path is outside the roots (the given directories, and the given files where they stand) and
    result files larger than ``max_file_bytes`` (None: no limit). A file given by itself that is neither
    categorised nor an LLM result raises ``DiscoveryError``; found in a directory, it is skipped.
    """
    rows: list[dict] = []
    skipped: list[tuple[str, str]] = []
    real_paths = _RealPaths()
    given = [Path(raw) for raw in paths]
    roots = _Roots(given)
    for root in given:
        try:
            root_stat = root.stat()
        except OSError as exc:
            if exc.errno not in _IGNORED_ERRNOS:
                skipped.append((_named(root), f"{CANNOT_READ}: {_strerror(exc)}"))
                continue
            root_stat = None
        except ValueError:  # a NUL in the path: no such file either
            root_stat = None
        if root_stat is None:
            if missing_ok:
                continue
            raise DiscoveryError(f"{root}: no such file or directory")
        given_alone = not S_ISDIR(root_stat.st_mode)
        if not given_alone:
            candidates, unreadable = _files_under(root)
            skipped.extend((_named(path), f"{CANNOT_READ}: {why}") for path, why in unreadable)
        else:
            candidates = [(str(root), str(root.parent), root.name, root, root_stat, _category_from_path(root))]
        for path, directory, name, entry, stat, path_category in candidates:
            try:
                shown = real_paths.resolved(path, directory, name, entry)  # the file's identity (file_identity)
            except (OSError, RuntimeError) as exc:  # changed while listed (RuntimeError: a link loop)
                skipped.append((_named(path), f"{CANNOT_READ}: {exc}"))
                continue
            if not roots.holds(shown):
                skipped.append((_named(path), f"{OUTSIDE_ROOTS} (it leads to {_named(shown)})"))
                continue
            if not S_ISREG(stat.st_mode):
                skipped.append((_named(path), f"{NOT_REGULAR}: {_file_kind(stat.st_mode)}, never opened"))
                continue
            if not _is_text(shown):
                skipped.append((_named(shown), NAME_NOT_UTF8))
                continue
            lower_name = name.lower()
            suffix = _suffix(name).lower()
            if suffix not in CANDIDATE_SUFFIXES:
                skipped.append((shown, NOT_JSON))
                continue
            # is_sidecar looks at the neighbours; the name rules most files out first.
            if lower_name.endswith(SIDECAR_SUFFIX) and is_sidecar(path):
                skipped.append((shown, f"{SIDECAR}: read with the result file beside it"))
                continue
            file_category = category or path_category
            if file_category is not None and category is None and lower_name.startswith(mlperf.LOG_PREFIX) \
                    and suffix == ".json":
                # Inside an MLPerf submission's .../performance/run_N/: loadgen's accuracy and trace logs.
                skipped.append((shown, MLPERF_OTHER_LOG))
                continue
            if max_file_bytes is not None and stat.st_size > max_file_bytes and suffix != ".txt":
                skipped.append((shown, too_large(stat.st_size, max_file_bytes)))
                continue
            if file_category != LLM_SERVING and (suffix != ".json" or file_category is None):
                try:
                    llm = _is_llm_file(shown, suffix, max_file_bytes)
                except OSError as exc:
                    skipped.append((shown, f"{CANNOT_READ}: {_unread_reason(exc)}"))
                    continue
                if llm:
                    file_category = LLM_SERVING
                elif suffix != ".json":
                    skipped.append((shown, NOT_JSON))
                    continue
            if max_file_bytes is not None and stat.st_size > max_file_bytes:  # a text log, told by its head
                skipped.append((shown, too_large(stat.st_size, max_file_bytes)))
                continue
            if file_category is None and (unknown_category_ok or not given_alone):
                skipped.append((shown, NO_CATEGORY))
                continue
            if file_category is None:
                raise DiscoveryError(
                    f"{path}: cannot tell its category: no LLM benchmark format recognises it; put it under a "
                    "performance/, compatibility/ or integration/ directory or pass --type"
                )
            rows.append({"source_path": shown, "category": file_category,
                         "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    files = pd.DataFrame(rows, columns=["source_path", "category", "size_bytes", "mtime_ns"])
    return Discovered(files.drop_duplicates("source_path").reset_index(drop=True), skipped)


def file_identity(path: str | os.PathLike[str]) -> str:
    """A file's identity in the ledger: its absolute real path, symbolic links followed.

    One file has one identity whoever ingests it from wherever (the CLI, Dagster, the Python API), by
    whatever name: a relative path, a path through a linked directory, a link inside the ingest roots
    all name the file they lead to. (Ingests before this stored a path relative to their working
    directory when the file was inside it; ``lib.warehouse.retract.adopt_relative_paths`` takes those over.)
    """
    return str(Path(path).resolve())


def too_large(size: int, limit: int) -> str:
    """Why a file is not read: its size and the limit, in MB (2^20 bytes)."""
    return f"{TOO_LARGE}: {size / MB:.1f} MB, over the limit of {limit / MB:g} MB; not read"


_IGNORED_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # what Path.is_file() ignores


def _files_under(root: Path) -> tuple[list[tuple], list[tuple[str, str]]]:
    """Everything but directories below ``root`` that is not hidden, in path order, each as
    ``(path, directory, name, entry, stat, category)``: its one ``stat`` (links followed) and the category
    its directories give it; and the entries that could not even be looked at, with why.

    Strings and ``os.scandir`` entries, not ``Path`` objects: their parsing and hashing was most of the
    time of a large discovery. What is listed, and the order of the unreadable entries, is that of
    ``root.rglob("*")``: each directory's entries, then its subdirectories one after the other (hidden
    ones entered, links to directories not followed; an unreadable directory passed over). Entries that
    vanish while listed, and links that lead nowhere, are left out as before.
    """
    found, unreadable = [], []
    pending = [(str(root), (), _category_within(root.parts))]
    while pending:
        directory, parts, directory_category = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except PermissionError:
            continue
        subdirectories = []
        for entry in entries:
            name = entry.name
            path = _child(directory, name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append((path, parts + (name,), _category_within((name,), directory_category)))
            except OSError as exc:
                if exc.errno not in _IGNORED_ERRNOS:
                    raise
            if name.startswith("."):
                continue
            try:
                stat = entry.stat()
            except OSError as exc:
                if exc.errno not in _IGNORED_ERRNOS:
                    unreadable.append((path, _strerror(exc)))
                continue
            if not S_ISDIR(stat.st_mode):
                found.append((parts + (name,), (path, directory, name, entry, stat, directory_category)))
        pending.extend(reversed(subdirectories))
    # Path order compares names part by part ("a/b" before "a-b/c"), which plain string order does not.
    found.sort(key=itemgetter(0))
    return [listed for _, listed in found], unreadable


def _child(directory: str, name: str) -> str:
    """``str(Path(directory) / name)`` for a plain name, without building a Path."""
    if directory == ".":
        return name
    return directory + name if directory.endswith("/") else directory + "/" + name


class _Roots:
    """The places an ingest may read: each given directory (its real path) and each given file, where it
    stands (its directory's real path, its own name: a given link is not followed for this)."""

    def __init__(self, given: list[Path]) -> None:
        directories: list[str] = []
        self.exact: set[str] = set()
        real_parents: dict[Path, Path] = {}  # the files a drop-folder run is given share a few directories
        for path in given:
            try:
                if path.is_dir():
                    directories.append(str(path.resolve()))
                elif path.name not in ("", ".", ".."):
                    parent = path.absolute().parent
                    if parent not in real_parents:
                        real_parents[parent] = parent.resolve()
                    self.exact.add(str(real_parents[parent] / path.name))
            except (OSError, ValueError):
                continue
        self.exact.update(directories)
        # Real paths are normalised strings, so a prefix test ending in a separator is Path.is_relative_to:
        # "/a/b" holds "/a/b/c", not "/a/bc".
        self.below = tuple(d if d.endswith("/") else d + "/" for d in directories)

    def holds(self, resolved: str) -> bool:
        return resolved in self.exact or resolved.startswith(self.below)


class _RealPaths:
    """``file_identity`` for many files: each directory resolved once."""

    def __init__(self) -> None:
        self.directories: dict[str, str] = {}

    def resolved(self, path: str, directory: str, name: str, entry: os.DirEntry | Path) -> str:
        """The real path of ``path`` (in ``directory``, named ``name``) as ``Path(path).resolve()`` gives it;
        ``entry`` (its listing entry, or the path itself) says whether it is a link."""
        if entry.is_symlink() or name in ("", ".", ".."):
            return str(Path(path).resolve())
        # Resolving the directory and appending a name that is no link is what resolve() does.
        real = self.directories.get(directory)
        if real is None:
            real = self.directories[directory] = str(Path(directory).resolve())
        return _child(real, name)


_FILE_KINDS = ((S_ISFIFO, "a named pipe (FIFO)"), (S_ISCHR, "a character device"), (S_ISBLK, "a block device"),
               (S_ISSOCK, "a socket"), (S_ISDIR, "a directory"))


def _file_kind(mode: int) -> str:
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a file")


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _named(path: str | Path) -> str:
    """A path for a skip line: bytes of its name that are not UTF-8 shown as ``\\xNN``, so it can be printed,
    logged and stored anywhere."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_text(name: str) -> bool:
    """False for a name holding bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _category_from_path(path: Path) -> str | None:
    return _category_within(path.parts[:-1])


def _category_within(directories: Iterable[str], enclosing: str | None = None) -> str | None:
    """The category of what lies in ``directories`` (names, outermost first) within a directory of category
    ``enclosing``: the nearest one named after a category decides."""
    found = enclosing
    for name in directories:
        if name in CATEGORIES or name == LEGACY:
            found = name
        elif name == LLM_DROP:
            found = LLM_SERVING
    return found


def _suffix(name: str) -> str:
    """``Path(name).suffix``: from the last dot, unless the name starts or ends with it."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _is_llm_file(path: str | Path, suffix: str, max_file_bytes: int | None) -> bool:
    """Whether an LLM tool wrote this file: a text log by its head, anything else by parsing it."""
    if suffix == ".txt":
        head = read_regular_file(path, head_bytes=_LOG_HEAD_BYTES)
        return mlperf.matches(head.decode("utf-8-sig", errors="replace"))
    return looks_like_llm(read_regular_file(path, max_file_bytes), str(path))


class NotRegularFile(OSError):
    """What was listed as a regular file is something else now (a FIFO, a device, a directory)."""


class FileTooLarge(OSError):
    """A file grew past the size limit after it was listed."""


def read_regular_file(path: str | os.PathLike[str], max_bytes: int | None = None,
                      head_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, refusing anything else without blocking on it.

    ``O_NONBLOCK`` lets the open of a FIFO return at once (a plain open waits for a writer), and the
    kind is checked on the open descriptor, so a file replaced after it was listed is refused, not
    read. ``O_NOFOLLOW``: ingest reads a file by its real path, which ends in no link unless the file
    was replaced by one since it was listed. A file over ``max_bytes`` (it grew since it was listed)
    is refused before reading, and reading stops one byte past the limit if it grows meanwhile.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    with open(fd, "rb", closefd=True) as handle:
        stat = os.fstat(handle.fileno())
        if not S_ISREG(stat.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{NOT_REGULAR}: {_file_kind(stat.st_mode)}, not read")
        if head_bytes is not None:  # only the start, to tell what the file is
            return handle.read(head_bytes)
        if max_bytes is None:
            return handle.read()
        if stat.st_size > max_bytes:
            raise FileTooLarge(errno.EFBIG, too_large(stat.st_size, max_bytes))
        data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLarge(errno.EFBIG, too_large(os.fstat(handle.fileno()).st_size, max_bytes))
        return data


def _unread_reason(exc: OSError) -> str:
    if isinstance(exc, NotRegularFile):
        return exc.strerror
    if isinstance(exc, FileTooLarge):
        return f"{exc.strerror} (it grew after it was listed)"
    if exc.errno == errno.ENOENT:
        return "no such file (removed after it was listed)"
    if exc.errno == errno.ELOOP:
        return "it became a symbolic link after it was listed"
    return _strerror(exc)


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
    payloads: dict[str, bytes] | None = None, max_file_bytes: int | None = None,
    llm_defaults: LlmDefaults | None = None,
) -> ValidatedBatch:
    """Parse and validate the given files (``source_path``, ``category``); never raises for bad content.

    ``payloads`` gives the bytes of sources that are not files on disk (records submitted through the
    API): they take exactly the path of a file's bytes from here on. A file on disk larger than
    ``max_file_bytes`` (None: no limit) is not read: it comes back like a file that could not be read.

    No file can stop the others: a file that cannot be read (gone, unreadable, no longer a regular
    file) comes back without a ``sha256`` and with the reason in ``problem`` / ``detail``, to be
    reported and never ledgered; a file whose content breaks parsing, conversion or validation in a
    way not foreseen is quarantined whole with what went wrong, and the rest of its chunk validated
    without it.

    Whatever its folder, a file an LLM tool wrote becomes ``llm_serving`` records (``lib/ingest/llm.py``);
    ``llm_defaults`` (the ingest's --gpu, --framework, ...) fill what such a file does not say.
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
        try:
            data = payloads[path] if payloads is not None else read_regular_file(path, max_file_bytes)
        except OSError as exc:
            file_rows.append(_unread_row(file_id, path, category, seen_at, _unread_reason(exc)))
            continue
        content = _read_content(data, path, category, llm_defaults, max_file_bytes)
        for record_category, records in content.records.items():
            batches[record_category].extend(file_id, records)
        failures.extend(file_id, content.failures)
        digest = hashlib.sha256(data).digest()
        file_rows.append({
            "file_id": file_id, "source_path": path, "category": content.category or category,
            "size_bytes": len(data), "sha256": digest.hex(), "cid": cid_of_bytes(data, digest), "seen_at": seen_at,
            "file_name_time": timestamp_from_file_name(path), "problem": content.problem,
            "detail": content.detail, "records_total": content.records_total, "detected_type": content.detected,
            "is_result": content.is_result, "note": content.note, CONTEXT_COLUMN: content.context,
            ABSORBS_COLUMN: content.absorbs,
        })
        del content, data
        chunk_records += file_rows[-1]["records_total"]
        if chunk_records >= CHUNK_RECORDS:
            parts.append(_validate_isolating(file_rows[chunk_start:], batches, failures))
            batches = {c: CategoryRecords() for c in CATEGORIES}
            failures = CategoryRecords()
            chunk_start, chunk_records = len(file_rows), 0
    if chunk_records or not parts:
        parts.append(_validate_isolating(file_rows[chunk_start:], batches, failures))
    return _concat_batches(_file_frame(file_rows), parts)


# A file whose content broke a step no rule foresaw; its reason says which step and what was raised.
UNPROCESSABLE = "could not be processed"


@dataclass
class _Content:
    """What one file's bytes hold: records per category (and legacy failure rows), or why none."""

    records: dict[str, list] = field(default_factory=dict)
    failures: list = field(default_factory=list)
    records_total: int = 0
    detected: str | None = None
    is_result: bool = True
    note: str | None = None
    problem: str | None = None
    detail: str | None = None
    category: str | None = None  # what the content turned out to be, when not the category it was listed under
    context: str | None = None  # what filled its gaps (CONTEXT_COLUMN)
    absorbs: str | None = None  # the file whose run this file's run includes (ABSORBS_COLUMN)


# A file in the LLM drop folder (or ingested --type llm_serving) that no LLM tool wrote.
NOT_LLM = "no LLM benchmark format recognises this content"


def _read_content(data: bytes, path: str, category: str, llm_defaults: LlmDefaults | None = None,
                  max_file_bytes: int | None = None) -> _Content:
    """Parse (and for the original system's files, convert) one file; whatever it holds, never raises.

    An LLM tool's file is recognised by content first, in any category: its shape says what it is better
    than the folder it was dropped in.
    """
    try:
        parsed = parse_json_bytes(data)
        if parsed.problem is not None or recognised_document(parsed.document):
            llm = read_llm_content(data, path, llm_defaults, lambda sibling: read_regular_file(sibling, max_file_bytes))
            if llm is not None:
                records = {LLM_SERVING: llm.records} if llm.records else {}
                return _Content(records=records, failures=llm.failures,
                                records_total=len(llm.records) + len(llm.failures), detected=llm.detected,
                                is_result=llm.is_result, note=llm.note, problem=llm.problem, detail=llm.detail,
                                category=LLM_SERVING, context=llm.context, absorbs=llm.absorbs)
        if category == LLM_SERVING and (parsed.problem is None or not path.lower().endswith(".json")):
            return _Content(detected=LLM_SERVING, is_result=False, note=NOT_LLM)
        if parsed.problem is not None:
            return _Content(detected="unreadable", problem=parsed.problem, detail=parsed.detail)
        if category == LEGACY:
            conversion = convert_document(parsed.document, source_name=path)
            return _Content(
                records=dict(conversion.records), failures=list(conversion.failures),
                records_total=sum(map(len, conversion.records.values())) + len(conversion.failures),
                detected=conversion.shape, is_result=conversion.is_result, note=conversion.reason,
            )
        records = parsed.document if isinstance(parsed.document, list) else [parsed.document]
        return _Content(records={category: records}, records_total=len(records), detected=category)
    except RecursionError:
        return _Content(detected="unreadable", problem=TOO_DEEP,
                        detail="arrays and objects nested deeper than the reader follows")
    except Exception as exc:  # no content may stop the other files: this one is quarantined with the cause
        return _Content(detected="unreadable", problem=UNPROCESSABLE, detail=_exception_text("reading", exc))


def _exception_text(step: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{step} failed: {type(exc).__name__}" + (f": {text[0][:300]}" if text else "")


def _unread_row(file_id: int, path: str, category: str, seen_at: datetime, why: str) -> dict:
    """A file that could not be read: no bytes, so no hash, no ledger row; reported with why."""
    return {
        "file_id": file_id, "source_path": path, "category": category, "size_bytes": 0, "sha256": None,
        "cid": None, "seen_at": seen_at, "file_name_time": None, "problem": CANNOT_READ, "detail": why,
        "records_total": 0, "detected_type": "unreadable", "is_result": False, "note": None, CONTEXT_COLUMN: None,
        ABSORBS_COLUMN: None,
    }


def _validate_isolating(rows: list[dict], batches: dict[str, CategoryRecords],
                        failures: CategoryRecords) -> ValidatedBatch:
    """``validate_records`` for a chunk; if it fails, file by file, so one file's content fails only that file.

    A file whose records make validation raise is quarantined whole (its row in ``rows`` gets the
    problem); the others are validated exactly as they would have been together.
    """
    try:
        return validate_records(_file_frame(rows), batches, failures)
    except Exception:
        pass
    parts = []
    for row in rows:
        file_id = row["file_id"]
        own = {c: batches[c].of_file(file_id) for c in CATEGORIES}
        try:
            parts.append(validate_records(_file_frame([row]), own, failures.of_file(file_id)))
        except Exception as exc:
            row.update(problem=UNPROCESSABLE, detail=_exception_text("validation", exc))
            parts.append(validate_records(_file_frame([row]), {c: CategoryRecords() for c in CATEGORIES}))
    return _concat_batches(_file_frame(rows), parts)


def _file_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FILE_COLUMNS + [CID_COLUMN, CONTEXT_COLUMN, ABSORBS_COLUMN])
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
        llm_serving=results[LLM_SERVING].frame,
        duplicates_dropped=sum(r.duplicates_dropped for r in results.values()),
    )

