"""The FastAPI application: routes, auth, errors, limits and the OpenAPI document, over one ``ServerService``.

``create_app(settings)`` is what ``benchmark-db serve`` runs under uvicorn and what the tests drive. Every
path is served at the root (the original system's paths) and under ``/v1``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from benchmark_pipeline.config import Settings

from . import errors, pages, read, serving, snapshots, write
from .service import ServerService
from .tokens import TokenStore

API_PREFIX_ALIAS = "/v1"

DESCRIPTION = """\
Benchmark results in over HTTP, answers out: the REST face of the `benchmark-db` warehouse.

**Writes** (`POST /performance`, `/compatibility`, `/integration`, `/ingest`) take the same validation,
quarantine and ledger path as a dropped file and answer per record: the ids stored, or for each refused record
its index, field, value and reason (201 all stored, 207 some, 422 none). A submission is identified by its
content hash: a retried POST stores nothing twice (200, with the ids stored the first time).

**Auth**: `Authorization: Bearer <token>`, tokens made with `benchmark-db token create --scope SCOPE`
(read < submit < admin). Writes need submit (muting a series: admin); reads are open on a loopback server and
need a read token on one started with `--allow-remote`. Errors are JSON `{"error", "message"}`: 401 missing or
bad token, 403 scope too weak.

**Paging**: results (`/performance`, …) by cursor (`after_id` = the previous page's `page.next_after_id`); small
lists by `page` and `per_page` with the total in `X-Total-Count`; both give a `Link` header.

**Readers and the writer**: this server is the writer for its own POSTs. Reads are answered from a read copy
of the last committed state, taken after each write has finished: a read never waits for an ingest or a
Dagster run, and sees the state before a write that is still under way. Every GET answer says how old its
data is: `X-Data-As-Of` (when the copy was taken) and `X-Data-Age` (0 while it is the newest state; during
another process's write, seconds since it was taken); `/health` gives both. `POST /query` reads the same
copy, in the sandbox. A repeated open GET read is answered from a cache kept per copy (`X-Cache: hit`); a
finished write empties it, and reads that carry a token always run.

**Snapshots**: `GET /snapshots` lists the warehouse's version history (content-addressed, newest first);
`POST /snapshots` (submit) takes a verified snapshot unless the data is unchanged and pins it on the IPFS node if
one is configured; `POST /snapshots/{cid}/restore` (admin) replaces the warehouse by a snapshot after verifying
every block (tokens live beside the warehouse, so a restore neither brings back nor drops any).

Every path is also served under `/v1`.
"""

TAGS = [
    {"name": "write", "description": "Store results (submit token)"},
    {"name": "results", "description": "Stored results, filtered, cursor-paged"},
    {"name": "catalogue", "description": "Models, hardware and runs"},
    {"name": "comparisons", "description": "Side by side, and rankings"},
    {"name": "regressions", "description": "Change-point flags; acknowledge (submit) or mute (admin)"},
    {"name": "llm", "description": "LLM serving: the cheapest configuration under an SLA, $ per million output "
                                   "tokens, the Pareto front, TOPSIS rankings per use case"},
    {"name": "reports", "description": "The reports of `benchmark-db report`"},
    {"name": "snapshots", "description": "Version history; take a snapshot (submit) or restore one (admin)"},
    {"name": "service", "description": "Health and read-only SQL"},
]


@dataclass
class ApiState:
    service: ServerService
    tokens: TokenStore
    reads_need_token: bool
    max_body_bytes: int
    settings: Settings  # the snapshot routes' store and IPFS node are configured here, not in the service


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 (by its Content-Length, or while it
    streams in), and every API answer says ``nosniff`` and ``no-store``."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._too_large(send)
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not read whole is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if exceeded and not started:
            await self._too_large(send)

    async def _too_large(self, send) -> None:
        body = json.dumps({"error": "too_large", "message": f"the request body is over the server's limit of "
                                                           f"{self.limit} bytes (BENCHMARK_API_MAX_BODY_MB); send "
                                                           "fewer records per POST, or a smaller file"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class DataAgeHeaders:
    """ASGI middleware: every GET answer says which committed state it was read from (see ``ReadCopies``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def with_age(message):
            if message["type"] == "http.response.start":
                copy = scope["app"].state.api.service.read_copy_state()
                if copy.taken_at is not None:
                    message = {**message, "headers": [
                        *message.get("headers", []), (b"x-data-age", f"{copy.stale_for_s:.3f}".encode()),
                        (b"x-data-as-of", copy.taken_at.isoformat(timespec="milliseconds").encode())]}
            await send(message)

        await self.app(scope, receive, with_age)


class ReadCache:
    """ASGI middleware: the answer to an open GET read is kept for as long as the read copy it came from is the one
    reads get (and at most ``ttl_s``, for the few answers that mention the time), so a dashboard's repeated
    reads cost a lookup instead of a query. The copy never changes while it is current, so a kept answer is
    the answer the query would give; a finished write makes a new copy and empties the cache. Requests that
    carry a token, or reach a server whose reads need one, always run (the token is checked every time).
    ``X-Cache`` says hit or miss.
    """

    CACHEABLE = re.compile(r"^(?:/v1)?/(?:performance|compatibility|integration|models|hardware|runs|compare|"
                           r"regressions|rankings|reports|llm)(?:/|$)")

    def __init__(self, app, max_entries: int = 512, max_bytes: int = 64 << 20, ttl_s: float = 60.0) -> None:
        self.app, self.max_entries, self.max_bytes, self.ttl_s = app, max_entries, max_bytes, ttl_s
        self.generation: int | None = None
        self.entries: OrderedDict[tuple[str, bytes], tuple[float, dict, bytes]] = OrderedDict()
        self.bytes = 0

    async def __call__(self, scope, receive, send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        copies = scope["app"].state.api.service.copies
        try:  # on the event loop when no copy has to be taken: a hit never waits for a worker thread
            generation = copies.settled_generation()
            if generation is None:
                generation = await run_in_threadpool(copies.generation)
        except Exception:  # no warehouse, or busy before the first copy: the route gives the proper answer
            await self.app(scope, receive, send)
            return
        if generation != self.generation:
            self.generation, self.bytes = generation, 0
            self.entries.clear()
        key = (scope["path"], scope.get("query_string", b""))
        kept = self.entries.get(key)
        if kept is not None and time.monotonic() - kept[0] <= self.ttl_s:
            self.entries.move_to_end(key)
            start, body = kept[1], kept[2]
            await send({**start, "headers": [*start["headers"], (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": body})
            return
        parts: list[bytes] = []
        start: dict = {}

        async def keep(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200:
                    self._keep(generation, key, start, b"".join(parts))
            await send(message)

        await self.app(scope, receive, keep)

    def _cacheable(self, scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or not self.CACHEABLE.match(scope["path"]):
            return False
        if scope["app"].state.api.reads_need_token:
            return False
        return not any(name.lower() == b"authorization" for name, _ in scope.get("headers", []))

    def _keep(self, generation: int, key: tuple[str, bytes], start: dict, body: bytes) -> None:
        if generation != self.generation or len(body) > self.max_bytes // 8:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old[2])
        self.entries[key] = (time.monotonic(), start, body)
        self.bytes += len(body)
        while self.entries and (len(self.entries) > self.max_entries or self.bytes > self.max_bytes):
            self.bytes -= len(self.entries.popitem(last=False)[1][2])


def create_app(settings: Settings, reads_need_token: bool = False, service: ServerService | None = None) -> FastAPI:
    """The application for the warehouse of ``settings``; ``reads_need_token`` for a server beyond loopback."""
    app = FastAPI(title="benchmark-db API", version=_version(), description=DESCRIPTION, openapi_tags=TAGS,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=_close_at_shutdown)
    app.state.api = ApiState(
        service=service or ServerService(settings.db_path, read_timeout_s=settings.api_wait_s,
                                         lock_timeout_s=settings.lock_timeout_s, wait_s=settings.api_wait_s),
        tokens=TokenStore(settings.tokens_path), reads_need_token=reads_need_token,
        max_body_bytes=settings.api_max_body_bytes, settings=settings)
    errors.install(app)
    app.include_router(pages.router)  # first: /reports/plotly.min.js before /reports/{kind}
    for prefix in ("", API_PREFIX_ALIAS):
        if prefix:
            app.add_api_route(f"{prefix}/reports/plotly.min.js", pages.plotly_bundle, include_in_schema=False)
        app.include_router(write.router, prefix=prefix, include_in_schema=not prefix)
        app.include_router(read.router, prefix=prefix, include_in_schema=not prefix)
        app.include_router(serving.router, prefix=prefix, include_in_schema=not prefix)
        app.include_router(snapshots.router, prefix=prefix, include_in_schema=not prefix)
    app.add_middleware(ReadCache)  # inside DataAgeHeaders: a kept answer gets the age of the copy now
    app.add_middleware(DataAgeHeaders)
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.openapi = lambda: _openapi(app)
    return app


@asynccontextmanager
async def _close_at_shutdown(app: FastAPI):
    yield
    app.state.api.service.close()  # the read copies go with the server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("benchmark_pipeline")
    except PackageNotFoundError:
        return "0+unknown"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the report schema as a component, minus the 422 responses FastAPI adds for request
    validation (this API answers those with 400)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                         tags=app.openapi_tags)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            ref = json.dumps(responses.get("422", {}))
            if "HTTPValidationError" in ref:
                del responses["422"]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in json.dumps(schema["paths"]):
            components.pop(unused, None)
    for name, body in components.items():
        if name.startswith("Body_") and not body.get("description"):
            body["description"] = "The multipart/form-data fields of the upload"
    components.update(_report_components())
    app.openapi_schema = schema
    return schema


def _report_components() -> dict[str, Any]:
    """report.schema.json as OpenAPI components: ``Report`` and one ``Report_<def>`` per ``$defs`` entry."""
    from benchmark_pipeline.lib.reports.render import SCHEMA_PATH

    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    definitions = document.pop("$defs", {})
    for key in ("$schema", "$id"):
        document.pop(key, None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (re.sub(r"^#/\$defs/", "#/components/schemas/Report_", v) if k == "$ref" and
                        isinstance(v, str) else rewrite(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    out = {"Report": rewrite(copy.deepcopy(document))}
    out.update({f"Report_{name}": rewrite(body) for name, body in definitions.items()})
    return out
