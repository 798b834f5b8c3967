"""``serve``: the REST API and the dashboard (FastAPI under uvicorn) over the warehouse, until stopped."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from .main import EXIT_OK, CliError, add_db_path_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the REST API and the dashboard",
        description="Serve the REST API (OpenAPI at /openapi.json, docs at /docs, every path also under /v1) and the "
                    "dashboard (/) over the warehouse until stopped (Ctrl-C). It listens on loopback only unless "
                    "--allow-remote is given; then reads need a read token too. Writes always need a submit token "
                    "(`benchmark-db token create --scope submit`). The server is the writer for its own POSTs "
                    "(taking the same lock as every other writer) and reads the live warehouse, waiting at most "
                    "$BENCHMARK_API_WAIT_S (default 15 s) for another process's write before answering 503.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; anything but loopback needs --allow-remote)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host; every request, reads included, then needs a token")
    parser.add_argument("--require-token", action="store_true",
                        help="reads need a read token even on loopback (a machine shared with other users)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                        help="uvicorn's log level (default info: one access line per request)")
    add_db_path_option(parser)
    parser.set_defaults(func=run_serve)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and 'localhost' are loopback; any other name or address is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server running? "
                           "choose another --port)") from None


def run_serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be between 1 and 65535, got {args.port}")
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise CliError(f"--host {args.host} is not a loopback address: the API would be reachable from other "
                       "machines. Pass --allow-remote to mean it (every request then needs a token), or serve on "
                       "127.0.0.1")
    from benchmark_pipeline.config import Settings

    try:
        settings = Settings.from_env(db_path=args.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    _check_port_free(args.host, args.port)

    import uvicorn

    from benchmark_pipeline.rest.app import create_app

    reads_need_token = remote or args.require_token
    app = create_app(settings, reads_need_token=reads_need_token)
    where = f"[{args.host}]" if ":" in args.host else args.host
    state = "exists" if settings.db_path.exists() else "does not exist yet: the first POST creates it"
    print(f"benchmark-db: serving {settings.db_path} ({state}) on http://{where}:{args.port}/ "
          f"(API docs /docs, OpenAPI /openapi.json); reads {'need a token' if reads_need_token else 'are open (loopback)'}, "
          f"writes need a submit token; tokens in {settings.tokens_path}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host.strip("[]"), port=args.port, log_level=args.log_level, server_header=False,
                proxy_headers=False, timeout_graceful_shutdown=10)
    return EXIT_OK
