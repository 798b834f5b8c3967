"""``benchmark-db snapshot ...``: content addressing from the command line.

Exit codes, as for every command: 0 success; 1 content problem (a corrupt block, a block missing
under a stored root, a bad or incomplete CAR); 2 usage or IO problem (via ``CliError``), including
a CID that does not parse or whose root block is not in the blockstore. The ``snapshot`` group has its own sub-parsers so the
snapshot commands (create / list / verify / restore ...) can join the content commands here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmark_pipeline.cli.main import EXIT_OK, EXIT_PROBLEMS, CliError

# Kept in sync with benchmark_pipeline.lib.content.unixfs.PROFILES (a test checks it); spelled out
# here so building the parser imports nothing from the content library.
PROFILE_NAMES = ("kubo-v1", "kubo-v0")
EXIT_CONTENT = EXIT_PROBLEMS


def add_blocks_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--blocks-dir",
        type=Path,
        default=None,
        help="blockstore directory (default: $BENCHMARK_BLOCKS_DIR or ./data/snapshots/blocks)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="content-addressed snapshots: CIDs, the local blockstore, CAR files",
        description="Content addressing compatible with kubo (IPFS): CIDs, a local blockstore, CARv1.",
        epilog="exit codes: 0 ok; 1 content problem (a corrupt snapshot or block, a block missing under a stored "
        "root, a bad or incomplete CAR, an IPFS node serving other bytes); 2 usage, IO or lock error (a CID that "
        "does not parse or names nothing stored, an IPFS node that is needed but cannot be used)",
    )
    commands = parser.add_subparsers(dest="snapshot_command", metavar="SUBCOMMAND", required=True)
    register_content_commands(commands)
    from benchmark_pipeline.cli.snapshot_history import register_history_commands

    register_history_commands(commands)


def register_content_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("cid", help="print the CID kubo would give FILE (nothing is stored)")
    p.add_argument("file", metavar="FILE", help="file to hash, or - for stdin")
    _add_profile_option(p)
    p.set_defaults(func=cmd_cid)

    p = commands.add_parser("add", help="import FILE into the blockstore and print its CID")
    p.add_argument("file", metavar="FILE", help="file to import, or - for stdin")
    _add_profile_option(p)
    add_blocks_dir_option(p)
    p.set_defaults(func=cmd_add)

    p = commands.add_parser("cat", help="write the file with this CID to stdout (every block verified)")
    p.add_argument("cid", metavar="CID")
    add_blocks_dir_option(p)
    p.set_defaults(func=cmd_cat)

    p = commands.add_parser("export-car", help="write the DAG under CID to a CARv1 file")
    p.add_argument("cid", metavar="CID")
    p.add_argument("out", metavar="OUT.car", type=Path)
    add_blocks_dir_option(p)
    p.set_defaults(func=cmd_export_car)

    p = commands.add_parser("import-car", help="verify and store every block of a CARv1 file; print its roots",
                            description="Every block is re-hashed before it is stored; a block the blockstore "
                                        "already holds with other (corrupt or torn) bytes is rewritten, so "
                                        "importing a good CAR heals the snapshots that share it.")
    p.add_argument("car", metavar="IN.car", type=Path)
    add_blocks_dir_option(p)
    p.set_defaults(func=cmd_import_car)


def _add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default=PROFILE_NAMES[0],
        help="kubo-v1 = `ipfs add --cid-version=1` (default), kubo-v0 = plain `ipfs add`",
    )


def _store(args: argparse.Namespace):
    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.lib.content.blockstore import BlockStore

    if args.blocks_dir is not None:
        return BlockStore(args.blocks_dir)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return BlockStore(settings.blockstore_dir())


def _parse_cid(text: str):
    from benchmark_pipeline.lib.content.cid import CID, CidError

    try:
        return CID.parse(text)
    except CidError as exc:
        raise CliError(str(exc)) from None


def _stored_root(store, cid) -> None:
    """A root CID that is not in the blockstore at all names nothing here: a usage error, not bad content."""
    if not store.has(cid):
        raise CliError(f"no block {cid} in {store.root} (import it with `benchmark-db snapshot add` or "
                       "`snapshot import-car`)")


def _content_failure(exc: Exception) -> int:
    print(f"benchmark-db: error: {exc}", file=sys.stderr)
    return EXIT_CONTENT


def _import(args: argparse.Namespace, sink):
    from benchmark_pipeline.lib.content.unixfs import get_profile, import_path, import_stream

    profile = get_profile(args.profile)
    try:
        if args.file == "-":
            return import_stream(sys.stdin.buffer, profile, sink)
        return import_path(args.file, profile, sink)
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None


def cmd_cid(args: argparse.Namespace) -> int:
    result = _import(args, None)
    print(result.cid)
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    store = _store(args)
    new = 0

    def sink(cid, data) -> None:
        nonlocal new
        try:
            new += store.put(cid, data, verify=False)  # the importer just hashed these bytes
        except OSError as exc:  # not the input's fault: keep it apart from _import's read errors
            raise CliError(f"cannot write to blockstore {store.root}: {exc.strerror or exc}") from None

    with store.batch():  # every block fsynced; each shard directory once, at the end
        result = _import(args, sink)
    print(result.cid)
    print(
        f"added {result.size} bytes as {result.blocks} blocks ({new} new) to {store.root}",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_cat(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.content.unixfs import iter_file

    cid = _parse_cid(args.cid)
    store = _store(args)
    _stored_root(store, cid)
    out = sys.stdout.buffer
    try:
        for piece in iter_file(store.get, cid):
            out.write(piece)
        out.flush()
    except ContentError as exc:
        return _content_failure(exc)
    except BrokenPipeError:  # `| head` closed the pipe: not an error for a cat
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def cmd_export_car(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.blockstore import create_temp
    from benchmark_pipeline.lib.content.car import export_car
    from benchmark_pipeline.lib.content.errors import ContentError

    cid = _parse_cid(args.cid)
    store = _store(args)
    _stored_root(store, cid)
    out_path: Path = args.out
    try:
        fd, tmp = create_temp(out_path.parent, out_path.name)
    except OSError as exc:
        raise CliError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            count = export_car(store, cid, fh)
        os.replace(tmp, out_path)
    except ContentError as exc:
        tmp.unlink(missing_ok=True)
        return _content_failure(exc)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    print(f"wrote {count} blocks under {cid} to {out_path}", file=sys.stderr)
    return EXIT_OK


def cmd_import_car(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.car import import_car
    from benchmark_pipeline.lib.content.errors import ContentError

    store = _store(args)
    try:
        with open(args.car, "rb") as fh:
            report = import_car(fh, store)
    except ContentError as exc:
        return _content_failure(exc)
    except OSError as exc:
        raise CliError(f"cannot import {args.car}: {exc.strerror or exc}") from None
    for root in report.roots:
        print(root)
    repaired = f", {report.repaired_blocks} corrupt stored copies rewritten" if report.repaired_blocks else ""
    print(
        f"imported {report.blocks} blocks ({report.new_blocks} new{repaired}) into {store.root}",
        file=sys.stderr,
    )
    if report.missing:
        shown = ", ".join(str(c) for c in report.missing[:3])
        more = f" and {len(report.missing) - 3} more" if len(report.missing) > 3 else ""
        print(
            f"benchmark-db: error: {args.car} is incomplete: {len(report.missing)} linked blocks are "
            f"neither in it nor in the blockstore ({shown}{more})",
            file=sys.stderr,
        )
        return EXIT_CONTENT
    return EXIT_OK
