"""Who may do what: a FastAPI dependency per scope, checking the bearer token against the warehouse's token file.

Reads are open while the server listens on loopback only; a server started with ``--allow-remote`` on
another address needs a ``read`` token for them too. Writes always need ``submit`` (muting a whole
regression series: ``admin``). A token that is sent is always checked, even where none is needed, so a
revoked or mistyped token is reported instead of silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .tokens import AuthError

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer",
    description="`Authorization: Bearer <token>`, a token made with `benchmark-db token create --scope SCOPE` "
                "(scopes nest: admin > submit > read). Writes need submit (muting a series: admin); reads need "
                "read only when the server listens beyond loopback (`--allow-remote`).",
)


@dataclass(frozen=True)
class Principal:
    token_id: str | None  # None: an anonymous read on a loopback server
    scope: str | None
    name: str | None

    @property
    def label(self) -> str:
        """Who did it, for acknowledgements: the token's name, else its id."""
        if self.name:
            return self.name
        return f"token {self.token_id}" if self.token_id else "anonymous"


def require(scope: str):
    """The dependency that lets a request through with a token of ``scope`` (or above), else 401/403."""

    def check(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> Principal:
        state = request.app.state.api
        if credentials is None:
            if scope == "read" and not state.reads_need_token:
                return Principal(None, None, None)
            given = request.headers.get("authorization")
            how = ("the Authorization header is not 'Bearer <token>'" if given
                   else "no Authorization header was sent")
            raise AuthError(401, "missing_token",
                            f"this needs a token with scope {scope!r} or above and {how}; send "
                            f"'Authorization: Bearer <token>' (make one with `benchmark-db token create "
                            f"--scope {scope}`)")
        info = state.tokens.verify(credentials.credentials, scope)
        return Principal(info.id, info.scope, info.name)

    check.__name__ = f"require_{scope}"
    return check
