"""``Idempotency-Key`` on the writes: a key names one submission for 24 hours, kept in a small SQLite file beside
the warehouse.

Retries are safe without a key (a submission's identity is the hash of its content, so the same body twice is
stored once). What a key adds is a promise about the key itself: it stands for one body. The same key with the
same body answers as the first request did; the same key with another body (or for another endpoint) is
refused before anything is stored, so a client whose keys repeat by mistake (a counter that restarted, a key
made of a run number that recurs) hears about it instead of having a second body stored under the first one's
name. A key is bound from the moment the server starts to store its body, even if that attempt then fails (as
Stripe does): a retry must send the same body. Keys are forgotten 24 hours after their first use, and are kept
per token, so two clients can neither collide on a key nor learn which keys the other used.

SQLite rather than a JSON file like the tokens: every keyed POST reads and writes the map, from several request
threads and several server processes. ``BEGIN IMMEDIATE`` takes the file's write lock before the key is looked
up, so two requests with the same key cannot both find it free, and a check costs one indexed lookup instead
of rewriting a whole file. The file sits beside the warehouse, never inside it: a snapshot neither carries nor
restores keys.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

KEY_TTL_S = 24 * 3600.0
MAX_KEY_LENGTH = 255  # Stripe's bound; the IETF draft leaves it to the server
BUSY_TIMEOUT_S = 30.0  # how long a check waits for another process's check

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,          -- the token the key was sent with
    key TEXT NOT NULL,
    operation TEXT NOT NULL,      -- e.g. POST /performance
    fingerprint TEXT NOT NULL,    -- SHA-256 of the content the key stands for
    first_used_at REAL NOT NULL,  -- Unix seconds
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (first_used_at);
"""


class IdempotencyStoreError(RuntimeError):
    """The key file cannot be opened, read or written (the message names it)."""


@dataclass(frozen=True)
class KeyUse:
    """What a key was first used for."""

    operation: str
    fingerprint: str
    first_used_at: float  # Unix seconds

    def when(self) -> str:
        return datetime.fromtimestamp(self.first_used_at, timezone.utc).replace(microsecond=0).isoformat()


def store_path(db_path: Path) -> Path:
    """Where the keys of the warehouse at ``db_path`` are kept."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".idempotency.sqlite")


def key_problem(key: str) -> str | None:
    """Why ``key`` (the header's value) cannot be a key, or None when it can."""
    if not key.strip():
        return "the Idempotency-Key header is empty; send a unique key per submission (a UUID, say) or no header"
    if len(key) > MAX_KEY_LENGTH:
        return (f"the Idempotency-Key is {len(key)} characters long; at most {MAX_KEY_LENGTH} (a UUID is 36)")
    return None


class IdempotencyStore:
    """The keys of one warehouse. ``clock`` gives Unix seconds (tests pass one to age keys)."""

    def __init__(self, path: Path, ttl_s: float = KEY_TTL_S, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.ttl_s = ttl_s
        self.clock = clock
        self.busy_timeout_s = busy_timeout_s
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # created private, as the tokens are
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        if not self._ready:
            try:
                conn.executescript(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._ready = True
        return conn

    def claim(self, scope: str, key: str, operation: str, fingerprint: str) -> KeyUse | None:
        """Bind ``key`` (of the token ``scope``) to ``operation`` and ``fingerprint`` unless it is bound already.

        None when the request may go ahead: the key was free (or had expired), or is bound to this very
        operation and content (a retry). Otherwise the earlier use, and nothing is changed.
        """
        now = self.clock()
        try:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM idempotency_keys WHERE first_used_at <= ?", (now - self.ttl_s,))
                row = conn.execute("SELECT operation, fingerprint, first_used_at FROM idempotency_keys "
                                   "WHERE scope = ? AND key = ?", (scope, key)).fetchone()
                if row is None:
                    conn.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?)",
                                 (scope, key, operation, fingerprint, now))
                conn.execute("COMMIT")
            finally:
                conn.close()  # an unfinished transaction is rolled back
        except (sqlite3.Error, OSError) as exc:
            raise IdempotencyStoreError(f"{self.path}: {exc}") from exc
        if row is None:
            return None
        earlier = KeyUse(*row)
        return None if (earlier.operation, earlier.fingerprint) == (operation, fingerprint) else earlier
