"""Bearer tokens for the REST API, kept (hashed) in a small JSON file beside the warehouse, never inside it.

A token is ``bdb_<id>_<secret>``: the id (8 hex digits) names it in listings and revocations, the secret
(32 random bytes) is what proves it. Only the SHA-256 of the whole token is stored, so the file gives no
token away; a snapshot or restore of the DuckDB file neither carries nor brings back tokens.

Scopes nest: ``admin`` can do what ``submit`` can, ``submit`` what ``read`` can. Changes are written to a
temporary file and renamed over the old one under an exclusive lock, mode 0600; the server re-reads the
file whenever it changes, so a revocation holds from the next request on.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

SCOPES = ("read", "submit", "admin")  # each includes the ones before it
PREFIX = "bdb_"
_TOKEN = re.compile(r"^bdb_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")
FORMAT_VERSION = 1


class TokenError(ValueError):
    """A token command that cannot be done as asked (unknown id, bad scope, unreadable file)."""


class AuthError(Exception):
    """A request's token is missing, malformed, unknown, expired or revoked (401), or too weak (403)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class TokenInfo:
    id: str
    scope: str
    name: str | None
    created_at: str  # ISO 8601, UTC
    expires_at: str | None
    revoked_at: str | None
    sha256: str

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= now

    def state(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expired(now) else "active"

    def public(self, now: datetime | None = None) -> dict:
        """What a listing shows: everything but the hash."""
        now = now or datetime.now(timezone.utc)
        return {k: v for k, v in asdict(self).items() if k != "sha256"} | {"state": self.state(now)}


def covers(granted: str, required: str) -> bool:
    """Whether a token of scope ``granted`` may do what needs ``required``."""
    return SCOPES.index(granted) >= SCOPES.index(required)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class TokenStore:
    """The tokens of one warehouse (``Settings.tokens_path``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: tuple[tuple[int, int, int], dict[str, TokenInfo]] | None = None
        self._cache_lock = threading.Lock()

    # -- file ------------------------------------------------------------------------------------

    def _read(self) -> dict[str, TokenInfo]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TokenError(f"{self.path}: cannot read the token file: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise TokenError(f"{self.path}: not a token file (expected an object with a 'tokens' list)")
        tokens = {}
        for entry in data["tokens"]:
            try:
                info = TokenInfo(**{k: entry.get(k) for k in TokenInfo.__dataclass_fields__})
            except TypeError as exc:
                raise TokenError(f"{self.path}: a token entry is malformed: {exc}") from exc
            tokens[info.id] = info
        return tokens

    def _write(self, tokens: dict[str, TokenInfo]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        body = {"format": FORMAT_VERSION, "note": "REST API tokens; only SHA-256 hashes are stored",
                "tokens": [asdict(t) for t in tokens.values()]}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, TokenInfo]]:
        """Read-modify-write under an exclusive lock (two `token create` at once both land)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tokens = self._read()
            yield tokens
            self._write(tokens)
        finally:
            os.close(fd)

    def _current(self) -> dict[str, TokenInfo]:
        """The tokens as the file holds them now (re-read only when the file changed)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            if self._cache is None or self._cache[0] != key:
                self._cache = (key, self._read())
            return self._cache[1]

    # -- commands --------------------------------------------------------------------------------

    def create(self, scope: str, expires_days: float | None = None, name: str | None = None) -> tuple[str, TokenInfo]:
        """A new token (returned once, in clear) and what is stored of it."""
        if scope not in SCOPES:
            raise TokenError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
        if expires_days is not None and not expires_days > 0:
            raise TokenError("--expires must be a positive number of days")
        now = _now()
        with self._locked() as tokens:
            token_id = secrets.token_hex(4)
            while token_id in tokens:
                token_id = secrets.token_hex(4)
            token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            info = TokenInfo(id=token_id, scope=scope, name=name, created_at=now.isoformat(),
                             expires_at=(now + timedelta(days=expires_days)).isoformat() if expires_days else None,
                             revoked_at=None, sha256=_digest(token))
            tokens[token_id] = info
        return token, info

    def list(self) -> list[TokenInfo]:
        return sorted(self._read().values(), key=lambda t: (t.created_at, t.id))

    def revoke(self, token_id: str) -> TokenInfo:
        token_id = token_id.strip().lower()
        if token_id.startswith(PREFIX):  # the whole token pasted: its id is the second part
            match = _TOKEN.match(token_id)
            token_id = match.group(1) if match else token_id
        with self._locked() as tokens:
            if token_id not in tokens:
                known = ", ".join(sorted(tokens)) or "none"
                raise TokenError(f"no token with id {token_id!r} (known ids: {known}; see `benchmark-db token list`)")
            info = tokens[token_id]
            if info.revoked_at is None:
                info = TokenInfo(**{**asdict(info), "revoked_at": _now().isoformat()})
                tokens[token_id] = info
        return info

    def verify(self, token: str, required: str) -> TokenInfo:
        """The token's entry if it may do what needs ``required``, else ``AuthError`` saying why not."""
        match = _TOKEN.match(token.strip())
        if not match:
            raise AuthError(401, "invalid_token", "the bearer token is not a benchmark-db token "
                                                  "(expected bdb_<id>_<secret>, made by `benchmark-db token create`)")
        info = self._current().get(match.group(1))
        if info is None or not hmac.compare_digest(info.sha256, _digest(token.strip())):
            raise AuthError(401, "invalid_token", "unknown token: it was never issued for this warehouse "
                                                  "(tokens are per warehouse; see `benchmark-db token list`)")
        now = datetime.now(timezone.utc)
        if info.revoked_at:
            raise AuthError(401, "revoked_token", f"token {info.id} was revoked at {info.revoked_at}; "
                                                  "ask for a new one (`benchmark-db token create`)")
        if info.expired(now):
            raise AuthError(401, "expired_token", f"token {info.id} expired at {info.expires_at}; "
                                                  "ask for a new one (`benchmark-db token create`)")
        if not covers(info.scope, required):
            raise AuthError(403, "insufficient_scope", f"token {info.id} has scope {info.scope!r}; this needs "
                                                       f"{required!r} or above ({' < '.join(SCOPES)})")
        return info
