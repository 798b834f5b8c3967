"""Every failure as JSON (``ErrorOut``) with a message a person can act on; never a traceback.

The service's own refusals (an unknown name, a refused query, a busy warehouse, ...) are the errors the
CLI prints whole (``_user_errors`` there); here each gets an HTTP status. Anything else is logged with
its traceback on the server and answered with a 500 that names only the exception's type.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .models import ErrorOut
from .tokens import AuthError, TokenError

log = logging.getLogger("benchmark_pipeline.rest")
RETRY_AFTER_S = 5
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "unprocessable", 429: "too_many_requests", 502: "bad_gateway", 503: "unavailable"}

# Documented on every operation (status -> description); the body is always ErrorOut.
ERROR_RESPONSES = {
    400: "The request is malformed (a parameter or body field is invalid, unknown or out of range), an SLA term "
         "cannot be read (the message names it), or a /query statement was refused or failed",
    401: "No token, or a token that is unknown, expired or revoked, where one is needed",
    403: "The token's scope is too weak for this",
    404: "A model, hardware, run, flag, report or use case named in the request does not exist (the message names "
         "close ones), or there is no warehouse yet",
    409: "The answer comes from data not computed yet (regression detection never ran, a derived table missing, "
         "a warehouse older than the LLM-serving answers)",
    413: "The request body is larger than the server accepts",
    503: "The warehouse stayed busy with writers (or other requests) past the server's bound; retry after the "
         "Retry-After seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    chosen = statuses or tuple(ERROR_RESPONSES)
    return {status: {"model": ErrorOut, "description": ERROR_RESPONSES[status]} for status in chosen}


def error_body(status: int, code: str, message: str, detail: list | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorOut(error=code, message=message, detail=detail).model_dump(exclude_none=True)
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S), **(headers or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _service_errors() -> list[tuple[type[BaseException], int, str]]:
    """(exception, status, code); ``WarehouseBusyError`` (a ``WarehouseLockedError``) has its own handler."""
    from benchmark_pipeline.lib.analytics.compare import CompareError
    from benchmark_pipeline.lib.analytics.safe_query import QueryFailed, QueryRefused
    from benchmark_pipeline.lib.analytics.serving import SlaError
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.names import UnknownNameError
    from benchmark_pipeline.lib.snapshots.errors import NodeCidMismatchError, NodeError
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, WarehouseMissingError
    from benchmark_pipeline.lib.warehouse.regressions import FlagLookupError, NoFlagsError, ThresholdError
    from benchmark_pipeline.lib.warehouse.retract import NotInLedgerError
    from benchmark_pipeline.lib.warehouse.schema import SchemaTooNewError
    from benchmark_pipeline.service.serving import LlmAnswersUnavailable
    from benchmark_pipeline.service.snapshots import RestoreRefusedError, SnapshotCidError, UnknownSnapshotError
    from benchmark_pipeline.service.web import NotComputedError, NotFoundError

    from .gate import GateTimeout

    return [
        (WarehouseMissingError, 404, "no_warehouse"),
        (WarehouseLockedError, 503, "warehouse_locked"),
        (GateTimeout, 503, "server_busy"),
        (SchemaTooNewError, 503, "schema_too_new"),
        (UnknownNameError, 404, "unknown_name"),
        (CompareError, 404, "not_found"),
        (FlagLookupError, 404, "unknown_flag"),
        (NotInLedgerError, 404, "not_in_ledger"),
        (NotFoundError, 404, "not_found"),
        (NoFlagsError, 409, "no_detection"),
        (NotComputedError, 409, "not_computed"),
        (QueryRefused, 400, "query_refused"),
        (QueryFailed, 400, "query_failed"),
        (ThresholdError, 400, "invalid_threshold"),
        (SlaError, 400, "invalid_sla"),
        (LlmAnswersUnavailable, 409, "llm_answers_unavailable"),
        # Snapshots: the most specific class wins (handlers are looked up along the exception's MRO), so a
        # mistyped or unknown CID is the caller's 400/404 while any other content error is a damaged store.
        (SnapshotCidError, 400, "invalid_cid"),
        (UnknownSnapshotError, 404, "unknown_snapshot"),
        (RestoreRefusedError, 409, "restore_refused"),
        (ContentError, 409, "snapshot_damaged"),
        (NodeCidMismatchError, 502, "ipfs_mismatch"),
        (NodeError, 503, "ipfs_unavailable"),
    ]


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    def handler_for(status: int, code: str):
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            return error_body(status, code, _message(exc))
        return handle

    for exc_type, status, code in _service_errors():
        app.add_exception_handler(exc_type, handler_for(status, code))

    from benchmark_pipeline.lib.warehouse.connection import WarehouseBusyError

    async def busy(request: Request, exc: Exception) -> JSONResponse:
        # The library's message speaks to whoever runs a command; a client of the API can only retry.
        wait = request.app.state.api.service.wait_s
        return error_body(503, "warehouse_busy", f"another process is writing the warehouse and it could not be "
                                                 f"read within the server's wait of {wait:g} s "
                                                 f"(BENCHMARK_API_WAIT_S); retry after {RETRY_AFTER_S} s",
                          [{"cause": _message(exc)}])

    app.add_exception_handler(WarehouseBusyError, busy)

    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": f'Bearer error="{exc.code}"'} if exc.status == 401 else None
        return error_body(exc.status, exc.code, exc.message, headers=headers)

    async def token_file_error(request: Request, exc: TokenError) -> JSONResponse:
        log.error("token file: %s", exc)
        return error_body(503, "token_file_unreadable", f"the server cannot read its token file: {exc}")

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"location": ".".join(str(part) for part in err.get("loc", ())),
                   "problem": str(err.get("msg", "")), "type": str(err.get("type", ""))} for err in exc.errors()]
        where = "; ".join(f"{d['location']}: {d['problem']}" for d in detail[:5])
        return error_body(400, "invalid_request", f"the request does not match the API: {where} "
                                                  "(see /openapi.json or /docs)", detail)

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs for the endpoints)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path} (see /docs)"
        return error_body(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_body(500, "internal_error", f"unexpected {type(exc).__name__} on the server; the server "
                                                 "log has the details")

    app.add_exception_handler(AuthError, auth_error)
    app.add_exception_handler(TokenError, token_file_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
