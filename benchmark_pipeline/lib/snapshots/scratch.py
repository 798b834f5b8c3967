"""Temporary files of snapshot work, named so that the ones a killed process left can be found and removed.

A ``create`` copies the whole warehouse into ``<snapshots>/tmp/create-<pid>-<random>/`` and a ``push``
writes a CAR into ``tmp/push-<pid>-<random>/``; the process holds an ``flock`` on ``.owner`` inside
the folder for as long as it works there. A ``restore`` rebuilds the file as
``.<target name>.restore.<random>.tmp`` beside the target, under the target's writer lock.

A folder is stale when its process is gone: no process has its pid, or one has it but nobody holds
the ``.owner`` lock (the pid was reused) and the folder is older than ``GRACE_S`` (so that a folder
whose owner has not yet taken the lock is never mistaken for a stale one). A restore temp file is
stale as soon as the restore that finds it holds the target's writer lock, since every restore takes
that lock first. Folders named by the code before this scheme (32 hex digits, no pid) are stale once
older than ``LEGACY_AGE_S``.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GRACE_S = 60.0
LEGACY_AGE_S = 3600.0
OWNER = ".owner"
_WORK_DIR = re.compile(r"^(?P<kind>[a-z]+)-(?P<pid>\d+)-[0-9a-f]+$")
_LEGACY_WORK_DIR = re.compile(r"^[0-9a-f]{32}$")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner_gone(folder: Path) -> bool:
    """True when nobody holds the folder's ``.owner`` lock (a missing lock file counts as not held)."""
    try:
        fd = os.open(folder / OWNER, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases the lock if we got it
    return True


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def is_stale(folder: Path) -> bool:
    legacy = _LEGACY_WORK_DIR.match(folder.name)
    if legacy:
        return _age_s(folder) > LEGACY_AGE_S
    match = _WORK_DIR.match(folder.name)
    if not match:
        return False
    if not _pid_alive(int(match["pid"])):
        return True
    return _owner_gone(folder) and _age_s(folder) > GRACE_S


def remove_stale_work_dirs(tmp_root: Path) -> list[Path]:
    """Remove the work folders under ``tmp_root`` whose process is gone; return them."""
    removed = []
    try:
        entries = list(tmp_root.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and is_stale(entry):
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    return removed


@contextmanager
def work_dir(tmp_root: Path, kind: str) -> Iterator[Path]:
    """A fresh ``<kind>-<pid>-<random>`` folder under ``tmp_root``, owned (locked) while in use, then removed."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    folder = tmp_root / f"{kind}-{os.getpid()}-{secrets.token_hex(8)}"
    folder.mkdir()
    fd = os.open(folder / OWNER, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def restore_temp_name(target: Path) -> str:
    """The stem ``create_temp`` is given for the file a restore rebuilds beside ``target``."""
    return f"{target.name}.restore"


def remove_stale_restore_temps(target: Path) -> list[Path]:
    """Remove the files killed restores into ``target`` left beside it; call only under its writer lock."""
    current = re.compile(rf"^\.{re.escape(restore_temp_name(target))}\.[0-9a-f]+\.tmp$")
    legacy = re.compile(rf"^\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp$")  # before restores were named
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if (current.match(entry.name) or legacy.match(entry.name)) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def describe_removed(paths: list[Path]) -> str:
    names = ", ".join(str(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"removed {len(paths)} temporary file(s) a killed snapshot command left behind: {names}"
