"""What a browser loads: the dashboard at ``/``, its script and style, plotly.js from the installed plotly package,
and the interactive API docs with Swagger UI's files from the installed fastapi-offline package. Nothing comes
from a CDN, so every page works offline."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

STATIC = resources.files(__package__).joinpath("static")
# The dashboard's own files; everything it loads is same-origin (its data from the JSON endpoints).
DASHBOARD_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                 "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
                 "frame-ancestors 'none'")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}


@functools.lru_cache(maxsize=1)
def plotly_js() -> tuple[bytes, str]:
    """The installed plotly's bundle (the one reports ship) and its ETag."""
    from plotly.offline import get_plotlyjs

    data = get_plotlyjs().encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()[:32]


def _asset(data: bytes, etag: str, media_type: str, request: Request) -> Response:
    headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@functools.lru_cache(maxsize=16)
def _static_file(name: str) -> tuple[bytes, str]:
    data = STATIC.joinpath(name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@router.get("/")
def dashboard() -> HTMLResponse:
    html = STATIC.joinpath("dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": DASHBOARD_CSP, "Cache-Control": "no-cache"})


@router.get("/static/plotly.min.js")
@router.get("/reports/plotly.min.js")  # what the HTML reports load from beside themselves
def plotly_bundle(request: Request) -> Response:
    data, etag = plotly_js()
    return _asset(data, etag, _TYPES[".js"], request)


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    if name not in ("dashboard.js", "dashboard.css"):
        raise HTTPException(404, f"no static file {name!r}")
    data, etag = _static_file(name)
    return _asset(data, etag, _TYPES[Path(name).suffix], request)


def _docs_assets() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).with_name("static")


@router.get("/static/docs/{name}")
def docs_asset(name: str, request: Request) -> Response:
    if name not in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        raise HTTPException(404, f"no docs file {name!r}")
    data = (_docs_assets() / name).read_bytes()
    return _asset(data, hashlib.sha256(data).hexdigest()[:32], _TYPES[Path(name).suffix], request)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title="benchmark-db API",
                               swagger_js_url=f"{root}/static/docs/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}/static/docs/swagger-ui.css",
                               swagger_favicon_url=f"{root}/static/docs/favicon.png")
