"""Snapshots over HTTP: the version history (read), taking a snapshot (submit) and restoring one (admin).

The answers are the Python API's (``SnapshotsMixin.sync``, ``restore_cid``, ``version_history``), so the two
cannot drift apart. Taking and restoring hold the server's gate alone for the part that touches the warehouse
file: a snapshot checkpoints it through a read-write connection and a restore replaces it, and DuckDB refuses
the first next to this process's read-only connections, while a reader must never have the file swapped under
it. The OS writer lock that orders other processes is taken by the service itself.

Refusals are exceptions the handlers in ``errors.py`` answer: a name that is not a CID 400, one naming no
snapshot 404, a damaged snapshot 409 (the warehouse untouched).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from benchmark_pipeline.service.snapshots import snapshot_store

from .auth import Principal, require
from .errors import error_responses
from .models import ErrorOut, SnapshotOut, SnapshotRestoreOut, SnapshotSyncOut
from .read import PAGE_HEADERS, PageQ, PerPageQ, _offset, _paged
from .service import WRITE

log = logging.getLogger("benchmark_pipeline.rest")

router = APIRouter(tags=["snapshots"], dependencies=[Depends(require("read"))])


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


_DAMAGED = _error("The snapshot store is damaged where this needed it (a corrupt or missing block or manifest); "
                  "the message names it. `benchmark-db snapshot verify --all` lists every problem and "
                  "`snapshot repair` drops what cannot be healed")


def _exclusive(service):
    """The server's gate held alone, for as long as a writer waits for the OS lock (a snapshot is never dropped
    for being queued behind reads)."""
    return lambda: service.gate.hold(WRITE, exclusive=True, timeout_s=service.lock_timeout_s)


@router.get("/snapshots", response_model=list[SnapshotOut], summary="Snapshot history",
            responses={200: {"headers": PAGE_HEADERS}, **error_responses(400, 401, 403), 409: _DAMAGED})
def list_snapshots(request: Request, response: Response, page: PageQ = 1, per_page: PerPageQ = 100
                   ) -> list[dict[str, Any]]:
    """The warehouse's snapshots, newest first: their CIDs (manifest, database, export), when each was taken,
    its size and row counts, where its data is (local, published, pruned, missing) and the one before it.
    The same history as `benchmark-db snapshot list`."""
    state = request.app.state.api
    # Listing needs no IPFS node: a mistyped IPFS_API_URL must not hide the history.
    store, _node = snapshot_store(replace(state.settings, ipfs=None))
    history = state.service.version_history(store)
    _paged(request, response, len(history), page, per_page)
    start = _offset(page, per_page)
    return history[start:start + per_page]


@router.post(
    "/snapshots", status_code=201, response_model=None, summary="Take a snapshot",
    responses={201: {"model": SnapshotSyncOut, "description": "A new snapshot was taken and verified"},
               200: {"model": SnapshotSyncOut, "description": "The data is unchanged since the last snapshot, which "
                                                          "still verifies: nothing new was stored, its CIDs are "
                                                          "returned (and it is published now if it was not)"},
               **error_responses(400, 401, 403),
               404: _error("There is no warehouse yet to snapshot"),
               409: _DAMAGED,
               502: _error("The IPFS node reports other CIDs or bytes than ours: the snapshot is kept locally and "
                           "unpublished; check the node"),
               503: _error("The warehouse stayed busy past the server's bound, or IPFS_REQUIRED is set and the IPFS "
                           "node could not be used (the snapshot is kept locally; a retry publishes it); retry "
                           "after the Retry-After seconds")},
)
def take_snapshot(
    request: Request,
    principal: Annotated[Principal, Depends(require("submit"))],
    force: Annotated[bool, Query(description="Take a new snapshot even if the data is unchanged since the last "
                                             "one")] = False,
) -> Response:
    """Snapshot the warehouse, as `benchmark-db snapshot create` does: every block is read back and verified
    before it becomes the newest entry of the history. Unless `force`, data unchanged since the last snapshot
    stores nothing (200 with that snapshot). With `IPFS_API_URL` set the snapshot is pinned on that node;
    without one it stays local and `warning` says so. Needs submit."""
    state = request.app.state.api
    store, node = snapshot_store(state.settings)
    answer = state.service.sync(store, node, force=force, required=state.settings.ipfs_required,
                                guard=_exclusive(state.service))
    body = SnapshotSyncOut(**answer).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if answer["created"] else 200)


CID_PATH = Path(min_length=1, max_length=200,
                description="HEAD (the newest snapshot), or a snapshot's cid, database_cid or export_cid from "
                            "GET /snapshots")


@router.post(
    "/snapshots/{cid}/restore", response_model=SnapshotRestoreOut, summary="Restore a snapshot",
    responses={400: _error("The name is neither HEAD nor a CID"),
               **error_responses(401, 403),
               404: _error("No snapshot has this CID (nor a database or export CID), or there are no snapshots "
                           "yet; the message names the closest known ones"),
               409: _error("The snapshot is damaged (a block is missing or does not hash to its CID, or the "
                           "rebuilt file does not match its manifest): the restore was refused and the warehouse "
                           "left as it was"),
               503: _error("The warehouse stayed busy past the server's bound (retry after the Retry-After seconds), "
                           "or IPFS_API_URL is set to something that is not an http://host:port URL")},
)
def restore_warehouse(request: Request, cid: Annotated[str, CID_PATH],
                      principal: Annotated[Principal, Depends(require("admin"))]) -> dict[str, Any]:
    """Replace the warehouse by a snapshot, as `benchmark-db snapshot restore` does: the file is rebuilt beside
    the warehouse from verified blocks (fetched from the IPFS node when missing here) and checked against the
    manifest before it replaces the warehouse, whose previous file is kept beside it (`backup`). This server's
    writes and queries wait for it to finish. Tokens are kept beside the warehouse, not in it: they are the same
    after a restore. Needs admin."""
    state = request.app.state.api
    store, node = snapshot_store(state.settings)
    answer = state.service.restore_cid(store, cid, node=node, guard=_exclusive(state.service))
    log.warning("warehouse %s replaced by snapshot %s (restore by %s); previous file kept at %s", answer["target"],
                answer["cid"], principal.label, answer["backup"])
    return answer
