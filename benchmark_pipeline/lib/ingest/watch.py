"""What a drop-folder watcher should ingest next, decided from a directory listing alone.

The listing never opens a file: ``os.scandir`` gives name, size and times. A file counts as settled
once neither its mtime nor its ctime moved for ``settle_s``: ``cp -p``, ``rsync -a`` and ``tar x``
keep an old mtime but cannot keep the ctime, which the kernel sets on every write and rename, so a
copy still in progress (or just renamed into place) is never taken early.

The cursor is a watermark over those change times, plus the files already requested but not yet
in the ledger. Each tick also compares the listing with the ledger (path and size), so a file the
watermark would miss (a filesystem without ctime updates, a lost cursor, a failed run) is found on
the next tick; when the ledger cannot be read the watermark alone decides and nothing is lost,
only delayed. A retracted file stays in the ledger, so it is not ingested again unless it changes.

The LLM drop folder (``incoming/llm/``) also holds the ``*.jsonl`` and ``*.txt`` files LLM tools write, and
``<file>.meta.json`` sidecars; a sidecar is never a file of its own, but a new or changed one counts as a
change of its file (its times are folded into the file's), so a result refused for missing hardware is
taken again once its sidecar says what it ran on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Iterable, Mapping

from benchmark_pipeline.lib.llm.defaults import SIDECAR_SUFFIX
from benchmark_pipeline.lib.vocabulary import CATEGORIES, LEGACY, LLM_DROP, LLM_SERVING

IGNORED_SUFFIXES = (".tmp", ".partial", ".part", ".crdownload")
CATEGORY_DIRS = frozenset(CATEGORIES) | {LEGACY, LLM_DROP}
LLM_DIRS = frozenset({LLM_DROP, LLM_SERVING})
# What an LLM tool writes besides JSON: JSON lines (SGLang) and text logs (MLPerf loadgen).
LLM_SUFFIXES = (".json", ".jsonl", ".txt")


@dataclass(frozen=True)
class Entry:
    path: str  # absolute
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def changed_ns(self) -> int:
        return max(self.mtime_ns, self.ctime_ns)


def scan(roots: Iterable[os.PathLike[str] | str]) -> list[Entry]:
    """``*.json`` files under the roots that the ingest can categorise (and ``*.jsonl`` / ``*.txt`` under an
    LLM drop folder); temp names, dotfiles and sidecars left out, and so are symbolic links and anything but
    regular files, which an ingest of the file alone never reads."""
    found: list[Entry] = []
    for root in roots:
        root_path = Path(root).resolve()
        if root_path.is_dir():
            _walk(str(root_path), root_path.name in CATEGORY_DIRS, root_path.name in LLM_DIRS, found)
    return found


def _walk(directory: str, categorised: bool, llm: bool, found: list[Entry]) -> None:
    try:
        iterator = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return  # vanished or unreadable between listings: the next tick sees it again
    here: list[Entry] = []
    sidecars: dict[str, int] = {}  # the name a sidecar describes -> its last change
    with iterator:
        for item in iterator:
            name = item.name
            if name.startswith("."):
                continue
            try:
                if item.is_dir(follow_symlinks=False):
                    _walk(item.path, categorised or name in CATEGORY_DIRS, llm or name in LLM_DIRS, found)
                    continue
                lowered = name.lower()
                if not categorised or not lowered.endswith(LLM_SUFFIXES if llm else ".json") \
                        or name.endswith(IGNORED_SUFFIXES):
                    continue
                if item.is_symlink():
                    continue  # an ingest of the file by itself would refuse it (it may lead anywhere)
                stat = item.stat()
            except FileNotFoundError:
                continue
            if not S_ISREG(stat.st_mode):
                continue  # a FIFO or a device: never read
            if lowered.endswith(SIDECAR_SUFFIX):
                sidecars[name[:-len(SIDECAR_SUFFIX)]] = max(stat.st_mtime_ns, stat.st_ctime_ns)
            here.append(Entry(item.path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    entries, described = _with_sidecars(here, sidecars)
    sidecar_paths = {entry.path for entry in described}
    found.extend(entry for entry in entries if entry.path not in sidecar_paths)


def _with_sidecars(entries: list[Entry], sidecars: dict[str, int]) -> tuple[list[Entry], list[Entry]]:
    """(the entries with each sidecar's change folded into its file's ctime, the sidecars that describe a file).

    A sidecar ``run.json.meta.json`` or ``run.meta.json`` describes ``run.json``; one without its file is an
    ordinary candidate (the ingest decides what it is).
    """
    if not sidecars:
        return entries, []
    names = {os.path.basename(e.path): e for e in entries}
    out, used = [], []
    for entry in entries:
        name = os.path.basename(entry.path)
        stem = name.rsplit(".", 1)[0]
        changed = max(sidecars.get(name, -1), sidecars.get(stem, -1) if stem != name else -1)
        if name.lower().endswith(SIDECAR_SUFFIX):
            base = name[:-len(SIDECAR_SUFFIX)]
            if base in names or any(other.rsplit(".", 1)[0] == base and not other.lower().endswith(SIDECAR_SUFFIX)
                                    for other in names):
                used.append(entry)
        out.append(Entry(entry.path, entry.size, entry.mtime_ns, max(entry.ctime_ns, changed)) if changed > 0
                   else entry)
    return out, used


@dataclass
class WatchState:
    """The sensor cursor: a change-time watermark and the requested files not yet past it."""

    watermark_ns: int | None = None
    pending: dict[str, list[float]] = field(default_factory=dict)  # path -> [size, mtime_ns, requested_at_s]

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "WatchState":
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(data.get("watermark_ns"), {k: list(v) for k, v in data.get("pending", {}).items()})

    def to_cursor(self) -> str:
        return json.dumps({"watermark_ns": self.watermark_ns, "pending": self.pending}, sort_keys=True)


@dataclass
class TickPlan:
    batch: list[Entry]
    state: WatchState
    listed: int
    unsettled: int
    capped: bool
    mode: str  # "ledger" (reconciled with the ledger) or "watermark" (ledger unreadable)


def plan_tick(
    entries: list[Entry], known: Mapping[str, set[int]] | None, state: WatchState, now_ns: int,
    settle_s: float, max_files: int, pending_ttl_s: float,
) -> TickPlan:
    """Pick the next batch. ``known`` maps absolute ledger paths to their ledgered sizes, None if unreadable."""
    settle_ns = int(settle_s * 1e9)
    settled = [e for e in entries if now_ns - e.changed_ns >= settle_ns]
    watermark = state.watermark_ns
    now_s = now_ns / 1e9
    by_path = {e.path: e for e in settled}

    def landed(entry: Entry) -> bool:
        return known is not None and entry.size in known.get(entry.path, ())

    pending: dict[str, list[float]] = {}
    for path, (size, mtime_ns, requested_at) in state.pending.items():
        entry = by_path.get(path)
        if entry is None or entry.size != size or entry.mtime_ns != mtime_ns or now_s - requested_at > pending_ttl_s:
            continue  # gone, changed since (a new request follows) or its run never landed it: ask again
        if landed(entry) and watermark is not None and entry.changed_ns <= watermark:
            continue
        pending[path] = [size, mtime_ns, requested_at]

    if known is None and watermark is None:
        # Nothing to compare with yet: wait for the ledger rather than re-request every file.
        return TickPlan([], WatchState(watermark, pending), len(entries), len(entries) - len(settled), False,
                        "watermark")

    def wanted(entry: Entry) -> bool:
        if entry.path in pending:
            return False
        newer = watermark is not None and entry.changed_ns > watermark
        if known is None:
            return newer
        return newer or not landed(entry)

    candidates = sorted((e for e in settled if wanted(e)), key=lambda e: (e.changed_ns, e.path))
    batch = candidates[:max_files]
    capped = len(candidates) > max_files
    if capped:
        new_watermark = candidates[max_files].changed_ns - 1
    else:
        new_watermark = max((e.changed_ns for e in settled), default=-1)
    if watermark is not None:
        new_watermark = max(watermark, new_watermark)
    for entry in batch:
        pending[entry.path] = [entry.size, entry.mtime_ns, now_s]
    return TickPlan(batch, WatchState(new_watermark if new_watermark >= 0 else watermark, pending),
                    len(entries), len(entries) - len(settled), capped, "ledger" if known is not None else "watermark")


def run_key(batch: Iterable[Entry]) -> str:
    """Stable identity of a batch: the same files at the same versions give the same key."""
    digest = hashlib.sha256()
    for entry in sorted(batch, key=lambda e: e.path):
        digest.update(f"{entry.path}\0{entry.size}\0{entry.mtime_ns}\n".encode())
    return "ingest-" + digest.hexdigest()[:40]


def known_from_ledger(rows: Iterable[tuple[str, int]], cwd: Path | None = None) -> dict[str, set[int]]:
    """Ledger (source_path, size_bytes) rows keyed by absolute path (ledger paths may be cwd-relative)."""
    base = cwd or Path.cwd()
    known: dict[str, set[int]] = {}
    for path, size in rows:
        absolute = path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))
        known.setdefault(absolute, set()).add(int(size))
    return known
