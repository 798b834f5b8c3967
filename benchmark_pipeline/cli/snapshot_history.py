"""``benchmark-db snapshot create | list | show | verify | restore | migrate | push | prune | repair``.

Registered into the ``snapshot`` group next to the content commands. Exit codes are those of every
command: 0 ok; 1 content problem (a corrupt or incomplete snapshot, or an IPFS node serving other
bytes than ours); 2 usage, IO or lock error -- a CID that does not parse or names no snapshot, and
an IPFS node that was needed (``push``, or ``IPFS_REQUIRED=1``) but could not be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmark_pipeline.cli.main import EXIT_OK, EXIT_PROBLEMS, CliError, add_db_path_option, open_service
from benchmark_pipeline.cli.output import add_list_format_option, render_listing

EXIT_CONTENT = EXIT_PROBLEMS
SNAPSHOT_LIST_COLUMNS = ["cid", "created_at", "size_bytes", "state", "database", "export_cid"]


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshots-dir", type=Path, default=None,
                        help="snapshots folder with HEAD and manifests (default: $BENCHMARK_DATA_DIR/snapshots "
                             "or ./data/snapshots)")
    parser.add_argument("--blocks-dir", type=Path, default=None,
                        help="blockstore (default: $BENCHMARK_BLOCKS_DIR or <snapshots dir>/blocks)")


def register_history_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("create", help="snapshot the warehouse if it changed since its last snapshot")
    add_db_path_option(p)
    _add_store_options(p)
    p.add_argument("--profile", choices=("kubo-v1", "kubo-v0"), default="kubo-v1")
    p.add_argument("--force", action="store_true", help="snapshot even if the export is unchanged")
    p.set_defaults(func=cmd_create)

    p = commands.add_parser("list", help="the snapshot history, newest first",
                            description="state: local (only in the blockstore), published (pushed to an IPFS "
                                        "node), pruned (manifest kept, data dropped by prune), missing (data "
                                        "gone, not by prune) or damaged (the manifest itself is missing or "
                                        "corrupt: that snapshot is lost, and stderr says what it was). The "
                                        "listing goes on past damaged entries; `snapshot verify --all` checks "
                                        "every block and `snapshot repair` drops what is damaged.")
    add_list_format_option(p)
    _add_store_options(p)
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("show", help="print a snapshot's manifest (CID may be HEAD, a manifest, database or export CID)")
    p.add_argument("cid", metavar="CID")
    _add_store_options(p)
    p.set_defaults(func=cmd_show)

    p = commands.add_parser("verify", help="re-hash every block of a snapshot, or (--all) of every snapshot",
                            description="With --all, every snapshot in the history is checked, each distinct "
                                        "block once: one line per snapshot on stdout (ok, pruned or damaged), "
                                        "followed for a damaged one by each missing or corrupt block. Exit 1 "
                                        "if any snapshot is damaged, 0 if none is.")
    p.add_argument("cid", metavar="CID", nargs="?", help="the snapshot (HEAD, a manifest, database or export CID)")
    p.add_argument("--all", action="store_true", help="check every snapshot in the history instead of one")
    _add_store_options(p)
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser("restore", help="replace the warehouse (or --to PATH) with a snapshot, verified first")
    p.add_argument("cid", metavar="CID")
    p.add_argument("--to", type=Path, default=None,
                   help="file to restore into (default: the warehouse: $BENCHMARK_DB_PATH or ./data/warehouse/benchmarks.duckdb)")
    p.add_argument("--from-car", type=Path, default=None,
                   help="first import this CAR (as written by push / export-car) into the blockstore, verified")
    _add_store_options(p)
    p.set_defaults(func=cmd_restore)

    p = commands.add_parser("migrate", help="back up, snapshot and verify existing DuckDB files")
    p.add_argument("dbs", metavar="DB", nargs="+", type=Path)
    p.add_argument("--no-backup", action="store_true", help="skip the <DB>.pre-snapshot-<time> copy")
    _add_store_options(p)
    p.set_defaults(func=cmd_migrate)

    p = commands.add_parser("push", help="publish unpublished snapshots to the node at $IPFS_API_URL")
    p.add_argument("cids", metavar="CID", nargs="*", help="only these snapshots (default: every unpublished one)")
    _add_store_options(p)
    p.set_defaults(func=cmd_push)

    p = commands.add_parser("prune", help="drop the data of all but the newest N snapshots")
    p.add_argument("--keep", type=int, required=True, metavar="N")
    _add_store_options(p)
    p.set_defaults(func=cmd_prune)

    p = commands.add_parser(
        "repair", help="drop damaged snapshots from the history so that it is whole again",
        description="Checks the history as `snapshot verify --all` does, then drops every damaged entry (a "
                    "missing or corrupt manifest, or a snapshot with missing or corrupt blocks) from the chain: "
                    "the intact manifests above a dropped one are written again, linked past it, with a "
                    "`dropped` field recording what was lost, and HEAD moves to the newest of them. Their CIDs "
                    "change (the old ones still restore) and they are unpublished until the next push. Each "
                    "dropped snapshot is named on stderr with what it held; the new HEAD is printed on stdout. "
                    "Before dropping anything, try to heal it: `snapshot import-car` of a good CAR rewrites "
                    "corrupt blocks, and with $IPFS_API_URL set repair first fetches missing or corrupt blocks "
                    "from the node. Exit 0 if nothing was damaged, 1 if something was (and, without --dry-run, "
                    "dropped).")
    p.add_argument("--dry-run", action="store_true", help="say what would be dropped; change nothing")
    _add_store_options(p)
    p.set_defaults(func=cmd_repair)


def _settings():
    from benchmark_pipeline.config import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _store(args: argparse.Namespace):
    from benchmark_pipeline.lib.content.blockstore import BlockStore
    from benchmark_pipeline.lib.snapshots.store import SnapshotStore

    settings = _settings()
    root = args.snapshots_dir or settings.snapshots_dir
    return SnapshotStore(root, BlockStore(args.blocks_dir or settings.blockstore_dir(root)))


def _fail(exc: Exception, code: int = EXIT_CONTENT) -> int:
    print(f"benchmark-db: error: {exc}", file=sys.stderr)
    return code


def _print_notes(notes) -> None:
    for note in notes:
        print(f"benchmark-db: note: {note}", file=sys.stderr)


def _node():
    from benchmark_pipeline.lib.snapshots.errors import NodeError
    from benchmark_pipeline.lib.snapshots.node import node_client

    try:
        return node_client(_settings().ipfs)
    except NodeError as exc:
        raise CliError(str(exc)) from None


def _node_failure(exc: Exception) -> int:
    """A node that serves other bytes than ours is a content problem (1); one that cannot be used is IO (2)."""
    from benchmark_pipeline.lib.snapshots.errors import NodeCidMismatchError

    if isinstance(exc, NodeCidMismatchError):
        return _fail(exc, EXIT_CONTENT)
    raise CliError(str(exc)) from None


def _publish_or_warn(store, manifest) -> int:
    from benchmark_pipeline.lib.snapshots.errors import NodeError
    from benchmark_pipeline.lib.snapshots.node import try_publish

    try:
        published, warning = try_publish(store, manifest, _node(), required=_settings().ipfs_required)
    except NodeError as exc:
        return _node_failure(exc)
    if warning:
        print(f"benchmark-db: warning: {warning}", file=sys.stderr)
    elif published:
        print(f"published {manifest.cid} to the IPFS node", file=sys.stderr)
    return EXIT_OK


def _resolve(store, text: str):
    """The snapshot ``text`` names (HEAD, a manifest, database or export CID).

    A CID that does not parse, or that names no snapshot here, is a usage error (exit 2, with the
    closest known CIDs); a snapshot that exists but cannot be read stays a content problem (exit 1).
    """
    from benchmark_pipeline.lib.content.cid import CID, CidError
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.names import suggestion

    if text.strip().upper() == "HEAD":
        if store.head() is None:
            raise CliError(f"no snapshots yet in {store.root} (create one with `benchmark-db snapshot create`)")
        return store.resolve(text)
    try:
        cid = CID.parse(text)
    except CidError as exc:
        raise CliError(f"{text!r} is not a CID: {exc} (see `benchmark-db snapshot list`)") from None
    try:
        return store.resolve(text)
    except ContentError:
        from benchmark_pipeline.lib.snapshots.store import Manifest

        chain = store.chain()
        known = [c for m in chain for c in ((m.cid, m.database_cid, m.export_cid) if isinstance(m, Manifest)
                                            else (m.cid,))]
        key = (cid.codec, cid.digest)
        if any((k.codec, k.digest) == key for k in known) or store.blocks.has(cid):
            raise  # it is ours, but unreadable: a content problem
        names = [str(m.cid) for m in chain]
        raise CliError(f"no snapshot {text}; {suggestion(text, names, 'benchmark-db snapshot list')}") from None


def cmd_create(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

    store = _store(args)
    service = open_service(args, must_exist=False)
    if not service.db_path.is_file():
        raise CliError(f"{service.db_path}: no warehouse here to snapshot (run an ingest first, or give --db-path)")
    try:
        result = service.snapshot(store, profile=args.profile, force=args.force)
    except ContentError as exc:
        return _fail(exc)
    except (OSError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from None
    manifest = result.manifest
    print(manifest.cid)
    _print_notes(result.notes)
    if not result.created:
        print(f"unchanged since snapshot {manifest.cid} (same export {manifest.export_cid}); nothing stored",
              file=sys.stderr)
        return EXIT_OK
    repaired = f", {result.blocks_repaired} corrupt ones rewritten" if result.blocks_repaired else ""
    print(f"snapshot {manifest.cid}: database {manifest.database_cid} ({manifest.size} bytes, {result.blocks} blocks, "
          f"{result.blocks_new} new, {result.blocks_reused} reused from the previous snapshot{repaired}), "
          f"export {manifest.export_cid}, {result.seconds:.1f} s; every block verified", file=sys.stderr)
    return _publish_or_warn(store, manifest)


def cmd_list(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.store import DamagedManifest

    store = _store(args)
    try:
        chain = store.chain()
    except ContentError as exc:
        return _fail(exc)
    journal_state = store.journal_state()
    rows = []
    damaged = []
    for m in chain:
        if isinstance(m, DamagedManifest):
            damaged.append(m)
            size = m.salvaged.get("size")
            name = Path(m.salvaged["database_path"]).name if m.salvaged.get("database_path") else None
            rows.append((str(m.cid), m.salvaged.get("created_at"), int(size) if size else None, "damaged", name, None))
            continue
        rows.append((str(m.cid), m.created_at, m.size, store.state(m, journal_state), m.data["database"]["name"],
                     str(m.export_cid)))
    sys.stdout.write(render_listing(SNAPSHOT_LIST_COLUMNS, rows, args.list_format))
    for m in damaged:
        print(f"benchmark-db: warning: {m.describe()}", file=sys.stderr)
    if damaged:
        print("benchmark-db: warning: `benchmark-db snapshot verify --all` checks every snapshot; "
              "`benchmark-db snapshot repair` drops the damaged ones from the history", file=sys.stderr)
    print(f"{len(rows)} snapshots in {store.root}" if rows else f"no snapshots in {store.root}", file=sys.stderr)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError

    store = _store(args)
    try:
        manifest = _resolve(store, args.cid)
    except ContentError as exc:
        return _fail(exc)
    out = dict(manifest.data)
    out["cid"] = str(manifest.cid)
    out["published"] = store.published(manifest)
    out["present"] = store.is_present(manifest)
    print(json.dumps(out, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.store import verify_snapshot

    if args.all == (args.cid is not None):
        raise CliError("give either a snapshot CID or --all")
    store = _store(args)
    if args.all:
        return _verify_all(store)
    try:
        report = verify_snapshot(store, _resolve(store, args.cid))
    except ContentError as exc:
        return _fail(exc)
    print(f"ok: snapshot {report.manifest.cid}: {report.blocks} blocks verified, database {report.bytes} bytes",
          file=sys.stderr)
    return EXIT_OK


def _print_check_entry(item) -> None:
    print(f"{item.state}\t{item.cid}\t{item.created_at}\t{item.detail}")
    if item.health is not None:
        for kind, cids in (("missing", item.health.missing), ("corrupt", item.health.corrupt)):
            for cid in cids:
                print(f"\t{kind} block {cid}")


def _verify_all(store) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.repair import check_history

    try:
        check = check_history(store)
    except ContentError as exc:
        return _fail(exc)
    for item in check.entries:
        _print_check_entry(item)
    counts = check.counts()
    summary = (f"{len(check.entries)} snapshots in {store.root}: {counts['ok']} ok, {counts['pruned']} pruned, "
               f"{counts['damaged']} damaged")
    if check.damaged:
        print(f"benchmark-db: error: {summary}; `benchmark-db snapshot repair` drops the damaged ones from the "
              "history", file=sys.stderr)
        return EXIT_CONTENT
    print(summary if check.entries else f"no snapshots in {store.root}", file=sys.stderr)
    return EXIT_OK


def cmd_repair(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.node import fetching_getter
    from benchmark_pipeline.lib.snapshots.repair import repair_history
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

    store = _store(args)
    node = _node()
    try:
        report = repair_history(store, get=fetching_getter(store, node) if node is not None else None,
                                dry_run=args.dry_run)
    except ContentError as exc:
        return _fail(exc)
    except (OSError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from None
    _print_notes(report.notes)
    if not report.check.damaged:
        print(f"nothing to repair: {len(report.check.entries)} snapshots in {store.root}, none damaged",
              file=sys.stderr)
        if report.head is not None:
            print(report.head)
        return EXIT_OK
    verb = "would drop" if args.dry_run else "dropped"
    for item in report.dropped:
        print(f"{verb} {item.cid}: {item.detail}", file=sys.stderr)
    for old, new in report.relinked:
        print(f"relinked {old} as {new} (its old CID still restores)", file=sys.stderr)
    if args.dry_run:
        print(f"dry run: {len(report.dropped)} damaged snapshot(s) would be dropped; nothing changed",
              file=sys.stderr)
    else:
        kept = len(report.check.entries) - len(report.dropped)
        head = report.head if report.head is not None else "none (no intact snapshot left)"
        print(f"history repaired: {len(report.dropped)} snapshot(s) lost, {kept} kept; HEAD is {head}",
              file=sys.stderr)
        if report.head is not None:
            print(report.head)
    return EXIT_CONTENT


def cmd_restore(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.car import import_car
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.errors import SnapshotError
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError
    from benchmark_pipeline.service import BenchmarkService

    store = _store(args)
    service = BenchmarkService.from_settings(_settings())
    target = args.to if args.to is not None else service.db_path
    try:
        if args.from_car is not None:
            try:
                with open(args.from_car, "rb") as fh:
                    report = import_car(fh, store.blocks)
            except ContentError as exc:
                raise SnapshotError(f"{args.from_car} is not a usable snapshot CAR: {exc}") from None
            if report.missing:
                raise SnapshotError(f"{args.from_car} is incomplete: {len(report.missing)} linked blocks are "
                                    f"neither in it nor in the blockstore (first: {report.missing[0]})")
        manifest = _resolve(store, args.cid)
        result = service.restore(store, manifest, target, node=_node())
    except ContentError as exc:
        print(f"benchmark-db: error: restore refused, {target} left unchanged: {exc}", file=sys.stderr)
        return EXIT_CONTENT
    except (OSError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from None
    _print_notes(result.notes)
    backup = f"; previous file backed up to {result.backup}" if result.backup else ""
    print(f"restored snapshot {manifest.cid} ({result.bytes} bytes, every block verified) to {result.target} "
          f"in {result.seconds:.1f} s{backup}", file=sys.stderr)
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.migrate import migrate_database
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

    store = _store(args)
    missing = [str(db) for db in args.dbs if not Path(db).is_file()]
    if missing:
        raise CliError(f"no such database file: {', '.join(missing)} (nothing migrated)")
    code = EXIT_OK
    for db in args.dbs:
        try:
            outcome = migrate_database(store, db, backup=not args.no_backup)
        except ContentError as exc:
            code = _fail(f"{db}: {exc}")
            continue
        except (OSError, WarehouseLockedError) as exc:
            raise CliError(f"{db}: {exc}") from None
        print(outcome.manifest.cid)
        backup = f", backup {outcome.backup}" if outcome.backup else ", no backup"
        print(f"{db}: snapshot {outcome.manifest.cid} verified ({outcome.blocks} blocks; database CID "
              f"{outcome.manifest.database_cid} matches the live file){backup}", file=sys.stderr)
        node_code = _publish_or_warn(store, outcome.manifest)
        code = code or node_code
    return code


def cmd_push(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.errors import NodeError
    from benchmark_pipeline.lib.snapshots.node import API_URL_ENV, publish

    store = _store(args)
    node = _node()
    if node is None:
        raise CliError(f"{API_URL_ENV} is not set: no IPFS node to push to")
    try:
        targets = [_resolve(store, c) for c in args.cids] if args.cids else [
            m for m in reversed(store.history()) if store.is_present(m) and not store.published(m)]
    except ContentError as exc:
        return _fail(exc)
    for manifest in targets:
        try:
            publish(store, manifest, node)
        except ContentError as exc:
            return _fail(exc)
        except NodeError as exc:
            return _node_failure(exc)
        print(manifest.cid)
    print(f"published {len(targets)} snapshot(s) to {node.url}", file=sys.stderr)
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.store import prune

    if args.keep < 1:
        raise CliError("--keep must be at least 1 (HEAD is always kept)")
    store = _store(args)
    try:
        report = prune(store, args.keep)
    except ContentError as exc:
        return _fail(exc)
    _print_notes(report.notes)
    print(f"kept {len(report.kept)} snapshot(s), pruned the data of {len(report.pruned)}: removed "
          f"{report.blocks_removed} blocks ({report.bytes_removed} bytes)", file=sys.stderr)
    return EXIT_OK
