"""``token``: bearer tokens for the REST API (``benchmark-db serve``), stored hashed beside the warehouse."""

from __future__ import annotations

import argparse
import json
import sys

from .main import EXIT_OK, CliError, add_db_path_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "token", help="create, list and revoke REST API tokens",
        description="Bearer tokens for `benchmark-db serve`, with nested scopes: read < submit < admin (a token "
                    "can do what its scope and the scopes below it allow). They are stored as SHA-256 hashes in "
                    "<warehouse>.tokens.json beside the DuckDB file, never inside it, so a snapshot neither "
                    "carries nor restores them.",
    )
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="make a token; it is printed once, as the last line of stdout",
                            description="Make a token. The token itself is the last line of stdout (and the only "
                                        "one), so `TOKEN=$(benchmark-db token create --scope submit)` works; what "
                                        "was made is said on stderr. It cannot be shown again: only its hash is "
                                        "kept.")
    create.add_argument("--scope", required=True, choices=("read", "submit", "admin"),
                        help="read: GET endpoints and /query; submit: also POST results and acknowledge "
                             "regressions; admin: also mute a regression series")
    create.add_argument("--expires", type=float, metavar="DAYS", help="expire after this many days (default: never)")
    create.add_argument("--name", help="a label shown by `token list` (who or what uses it)")
    add_db_path_option(create)
    create.set_defaults(func=run_create)

    listing = sub.add_parser("list", help="list tokens (id, scope, name, dates, state; never the token)")
    listing.add_argument("--format", choices=("tsv", "json"), default="tsv")
    add_db_path_option(listing)
    listing.set_defaults(func=run_list)

    revoke = sub.add_parser("revoke", help="revoke a token by its id (from `token list`) or the token itself",
                            description="Revoke a token: the server refuses it from the next request on.")
    revoke.add_argument("token_id", metavar="ID")
    add_db_path_option(revoke)
    revoke.set_defaults(func=run_revoke)


def _store(args: argparse.Namespace):
    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.rest.tokens import TokenStore

    try:
        settings = Settings.from_env(db_path=args.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return TokenStore(settings.tokens_path), settings


def run_create(args: argparse.Namespace) -> int:
    from benchmark_pipeline.rest.tokens import TokenError

    store, settings = _store(args)
    try:
        token, info = store.create(args.scope, args.expires, args.name)
    except (TokenError, OSError) as exc:
        raise CliError(str(exc)) from None
    expires = f", expires {info.expires_at}" if info.expires_at else ", never expires"
    print(f"token {info.id}: scope {info.scope}{expires}; stored hashed in {store.path}", file=sys.stderr)
    if not settings.db_path.exists():
        print(f"note: {settings.db_path} does not exist yet; the token is for the warehouse that will be there",
              file=sys.stderr)
    print("keep it now: it is not shown again", file=sys.stderr)
    print(token)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from benchmark_pipeline.rest.tokens import TokenError

    store, _settings = _store(args)
    try:
        tokens = [t.public() for t in store.list()]
    except TokenError as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(tokens, indent=1))
        return EXIT_OK
    columns = ("id", "scope", "state", "name", "created_at", "expires_at", "revoked_at")
    print("\t".join(columns))
    for token in tokens:
        print("\t".join("" if token[c] is None else str(token[c]) for c in columns))
    if not tokens:
        print(f"no tokens yet for this warehouse ({store.path}); make one with `benchmark-db token create`",
              file=sys.stderr)
    return EXIT_OK


def run_revoke(args: argparse.Namespace) -> int:
    from benchmark_pipeline.rest.tokens import TokenError

    store, _settings = _store(args)
    try:
        info = store.revoke(args.token_id)
    except (TokenError, OSError) as exc:
        raise CliError(str(exc)) from None
    print(f"revoked\t{info.id}\t{info.scope}\t{info.revoked_at}")
    return EXIT_OK
