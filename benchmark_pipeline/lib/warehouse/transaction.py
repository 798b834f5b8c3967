"""One way to run work all-or-nothing on a connection, and to lend DuckDB a frame for the length of a block.

DuckDB has no nested transactions, so ``transaction`` joins the one already open on the connection:
a retract or a flag update can run alone or inside a larger write (an ingest and the derived
tables it brings along) without knowing which. Frames registered as views are always unregistered,
whatever the block raises.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb
import pandas as pd

_depth: dict[int, int] = {}  # id(connection) -> open transaction blocks


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT around the block, ROLLBACK if it raises; inside another block, part of that one."""
    key = id(conn)
    if _depth.get(key):
        _depth[key] += 1
        try:
            yield conn
        finally:
            _depth[key] -= 1
        return
    conn.execute("BEGIN TRANSACTION")
    _depth[key] = 1
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
    finally:
        _depth.pop(key, None)


def in_transaction(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(_depth.get(id(conn)))


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[str]:
    """``frame`` visible to SQL as ``name`` inside the block only."""
    conn.register(name, frame)
    try:
        yield name
    finally:
        conn.unregister(name)
