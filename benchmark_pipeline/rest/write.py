"""Writes: records in the updater format, result file uploads, and regression acknowledgements.

Every write goes through the service's writer (validation, quarantine, ledger, derived tables, one
transaction). A submission's identity is its content hash, so a retried POST (with or without an
``Idempotency-Key``) stores nothing twice and answers with what the first one stored; a key also binds
itself to one body, and a different body under it is refused (see ``idempotency``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Callable, Literal

import orjson
from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from benchmark_pipeline.lib.ingest.fields import CHILDREN, FIELDS
from benchmark_pipeline.service.core import FACT_ID_COLUMNS
from benchmark_pipeline.service.core import canonical_json

from .auth import Principal, require
from .errors import error_body, error_responses
from .idempotency import KEY_TTL_S, MAX_KEY_LENGTH, IdempotencyStore, IdempotencyStoreError, key_problem, store_path
from .models import AckIn, AckOut, RegressionUpdateOut, SubmissionOut, UploadOut

MAX_RECORDS = 10_000  # per POST; bigger batches go as a file upload (POST /ingest) or a drop folder
_JSON_TYPES = {"str": {"type": "string"}, "float": {"type": "number"}, "int": {"type": "integer"},
               "bool": {"type": "boolean"}, "json": {}, "time": {"type": "string", "format": "date-time"}}
_WRITE_ERRORS = error_responses(400, 401, 403, 404, 413, 503)

UploadCategory = Literal["performance", "compatibility", "integration", "legacy"]  # service.web.UPLOAD_CATEGORIES

router = APIRouter()

IdempotencyKeyH = Annotated[str | None, Header(
    alias="Idempotency-Key", json_schema_extra={"minLength": 1, "maxLength": MAX_KEY_LENGTH},
    description=f"Optional: a unique key per submission (a UUID, say), echoed back. Sent again with the same body "
                f"(to the same endpoint, with the same token) it answers as the first time; sent with a different "
                f"body it is refused with 422 idempotency_key_reused and nothing is stored: use a new key for a new "
                f"submission. Keys are kept per token for {KEY_TTL_S / 3600:g} h after their first use, and across "
                f"server restarts; at most {MAX_KEY_LENGTH} characters (400 when empty or longer). Retries are safe "
                f"without a key too: a submission is identified by the hash of its content.")]


def _key_store(request: Request) -> IdempotencyStore:
    """The warehouse's key store, made by the first keyed request and kept on the application. Two threads making
    one at once is harmless: what they share is the file, which is safe between processes too."""
    state = request.app.state
    store = getattr(state, "idempotency_keys", None)
    if store is None:
        store = state.idempotency_keys = IdempotencyStore(store_path(state.api.service.db_path))
    return store


async def _key_refusal(request: Request, principal: Principal, key: str | None, operation: str,
                       fingerprint: Callable[[], str]) -> Response | None:
    """None when the request may be stored; else the answer that refuses it (nothing stored). ``fingerprint`` is
    only hashed when a key was sent."""
    if key is None:
        return None
    problem = key_problem(key)
    if problem:
        return error_body(400, "invalid_idempotency_key", problem)
    try:
        earlier = await run_in_threadpool(_key_store(request).claim, principal.token_id or "", key, operation,
                                          fingerprint())
    except IdempotencyStoreError as exc:
        return error_body(503, "idempotency_store_unavailable", f"the server cannot check the Idempotency-Key: "
                                                                f"{exc}; retry, or send the request without a key")
    if earlier is None:
        return None
    what = (f"with a different body for {operation}" if earlier.operation == operation
            else f"for {earlier.operation}, not {operation}")
    return error_body(422, "idempotency_key_reused",
                      f"Idempotency-Key {key!r} was first used at {earlier.when()} {what}; nothing was stored. Use "
                      f"a new key for a new submission (a key stands for one body for {KEY_TTL_S / 3600:g} h).",
                      headers={"Idempotency-Key": key})


def _field_schema(spec) -> dict[str, Any]:
    notes = []
    if spec.unit:
        notes.append(f"in {spec.unit}")
    if spec.aliases:
        notes.append("also read from " + ", ".join(
            name if factor == 1.0 else f"{name} (x{factor:g})" for name, factor in spec.aliases))
    return {**_JSON_TYPES[spec.kind], **({"description": "; ".join(notes)} if notes else {})}


def record_schema(category: str) -> dict[str, Any]:
    """The updater-format record of ``category`` as JSON Schema (documentation: the server validates each record
    itself and answers per record, so a wrong type comes back as a reason, not as a refused request)."""
    properties = {spec.name: _field_schema(spec) for spec in FIELDS[category]}
    for key, fields in CHILDREN.get(category, {}).items():
        child = {"type": "object", "properties": {s.name: _field_schema(s) for s in fields},
                 "additionalProperties": True}
        properties[key] = {"description": f"nested {key.replace('_', ' ')}, stored as child rows",
                           "anyOf": [{"type": "array", "items": child}, child]}
    return {"type": "object", "title": f"{category.title()}Record", "properties": properties,
            "additionalProperties": True,
            "description": f"One {category} record in the updater format (docs/input_format.md); unknown fields "
                           "are kept in the record's extra column."}


def _records_body(category: str) -> dict[str, Any]:
    record = record_schema(category)
    return {"requestBody": {"required": True, "description": "One record, or a list of records",
                            "content": {"application/json": {"schema": {"anyOf": [
                                record, {"type": "array", "items": record, "minItems": 1,
                                         "maxItems": MAX_RECORDS}]}}}}}


def _records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def _submission_response(category: str, records: int, sub, idempotency_key: str | None) -> JSONResponse:
    already = sub.status.startswith("unchanged")
    stored, refused = len(sub.stored_ids), len({q["record_index"] for q in sub.quarantined})
    if stored and not sub.quarantined:
        status = 200 if already else 201
        message = (f"already stored: the same {_records(records)} were sent before; nothing stored twice" if already
                   else f"stored {_records(stored)}")
    elif stored:
        status = 207
        message = f"stored {stored} of {_records(records)}; {refused} refused (see quarantined)"
    else:
        status = 422
        message = (f"nothing stored: {refused} of {_records(records)} refused (see quarantined)" if sub.quarantined
                   else f"nothing stored: {sub.status}")
    body = SubmissionOut(category=category, source_path=sub.source_path, status=sub.status, already_stored=already,
                         records=records, stored=stored, stored_ids=sub.stored_ids, quarantined=sub.quarantined,
                         message=message)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


_SUBMISSION_RESPONSES = {
    201: {"model": SubmissionOut, "description": "Every record was stored"},
    200: {"model": SubmissionOut, "description": "The same records were sent before: nothing stored twice; "
                                                 "stored_ids are the ids stored the first time"},
    207: {"model": SubmissionOut, "description": "Some records were stored, some refused: quarantined says which "
                                                 "record, field and value, and why"},
    422: {"description": "Nothing was stored: every record was refused (a SubmissionOut with the reasons per "
                          "record), or the Idempotency-Key was used before for a different body (an ErrorOut with "
                          "error idempotency_key_reused)",
          "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/SubmissionOut"},
                                                                {"$ref": "#/components/schemas/ErrorOut"}]}}}},
    **_WRITE_ERRORS,
}


def _records_route(category: str):
    async def post_records(
        request: Request,
        principal: Annotated[Principal, Depends(require("submit"))],
        idempotency_key: IdempotencyKeyH = None,
    ) -> Response:
        raw = await request.body()
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error_body(400, "invalid_json", f"the body is not JSON: {exc}; send one record (an object) or "
                                                   "a list of records")
        if isinstance(payload, dict):
            count = 1
        elif isinstance(payload, list) and payload and all(isinstance(r, dict) for r in payload):
            count = len(payload)
        else:
            what = "an empty list" if payload == [] else f"JSON of type {type(payload).__name__}"
            return error_body(400, "invalid_body", f"got {what}; send one record (an object) or a non-empty list of "
                                                   f"records (objects) in the {category} updater format")
        if count > MAX_RECORDS:
            return error_body(413, "too_many_records", f"{count} records in one POST; at most {MAX_RECORDS} (send "
                                                       "more in several POSTs, or upload a file to POST /ingest)")
        # The service's identity of a submission: key order and spacing do not make another body.
        refusal = await _key_refusal(request, principal, idempotency_key, f"POST /{category}",
                                     lambda: hashlib.sha256(canonical_json(payload)).hexdigest())
        if refusal is not None:
            return refusal
        sub = await run_in_threadpool(request.app.state.api.service.ingest_records, category, payload)
        return _submission_response(category, count, sub, idempotency_key)

    post_records.__name__ = f"post_{category}"
    return post_records


for _category in FACT_ID_COLUMNS:  # the categories a submission of records can hold (service.ingest_records)
    router.add_api_route(
        f"/{_category}", _records_route(_category), methods=["POST"], status_code=201, tags=["write"],
        summary=f"Store {_category} results",
        description=f"Store one {_category} record or a list of them, in the updater format (the same validation, "
                    "quarantine and ledger as a dropped file). The answer says what happened to each record: the ids "
                    "stored, and for every refused record its index, field, value and reason. Needs a submit token.",
        responses=_SUBMISSION_RESPONSES, openapi_extra=_records_body(_category),
        response_model=None,
    )


@router.post(
    "/ingest", tags=["write"], status_code=201, summary="Upload a result file",
    responses={201: {"model": UploadOut, "description": "Every record in the file was stored"},
               200: {"model": UploadOut, "description": "The same file was uploaded before: nothing stored twice"},
               207: {"model": UploadOut, "description": "Some records stored, some refused (see quarantined)"},
               422: {"description": "Nothing stored: not a result file, or every record refused (an UploadOut), or "
                                    "the Idempotency-Key was used before for a different file (an ErrorOut with "
                                    "error idempotency_key_reused)",
                     "content": {"application/json": {"schema": {"anyOf": [
                         {"$ref": "#/components/schemas/UploadOut"}, {"$ref": "#/components/schemas/ErrorOut"}]}}}},
               **_WRITE_ERRORS},
    response_model=None,
)
async def upload(
    request: Request,
    principal: Annotated[Principal, Depends(require("submit"))],
    file: Annotated[UploadFile, File(description="A JSON result file (updater format, or any shape of the "
                                                 "original system with category=legacy)")],
    category: Annotated[UploadCategory, Query(
        description="How to read the file: performance, compatibility or integration (updater format), or legacy "
                    "(the original system's shapes, recognised from the content). An LLM tool's result file is "
                    "recognised by content whatever this says")] = "legacy",
    gpu: Annotated[str | None, Query(max_length=200, description="LLM results: the GPU the run used, when the file "
                                                                 "does not say (or hosted:<provider>)")] = None,
    gpu_count: Annotated[int | None, Query(ge=1, le=4096, description="LLM results: how many GPUs")] = None,
    framework: Annotated[str | None, Query(max_length=200, description="LLM results: the inference framework, "
                                                                       "NAME or NAME==VERSION")] = None,
    quantization: Annotated[str | None, Query(max_length=100, description="LLM results: awq, gptq, fp8, ...")] = None,
    cost_per_hour: Annotated[float | None, Query(ge=0, le=1e6, description="LLM results: USD per hour of the whole "
                                                                           "configuration")] = None,
    model: Annotated[str | None, Query(max_length=300, description="LLM results: the model served, when the file "
                                                                   "names none")] = None,
    idempotency_key: IdempotencyKeyH = None,
) -> Response:
    """Store a result file as if it had been dropped in the watched folder. Its identity is its content hash and
    name, so uploading it again stores nothing twice. The server's body limit applies (413 beyond it). With an
    Idempotency-Key, the key stands for these bytes read as this category with these LLM options (not for the
    file's name). The LLM options fill only what an LLM result file does not say, as `benchmark-db ingest`'s do."""
    from benchmark_pipeline.lib.llm.defaults import LlmDefaults

    data = await file.read()
    if not data:
        return error_body(400, "empty_file", "the uploaded file is empty")
    options = {k: v for k, v in {"gpu": gpu, "gpu_count": gpu_count, "framework": framework,
                                 "quantization": quantization, "cost_per_hour": cost_per_hour,
                                 "model": model}.items() if v is not None}
    try:
        llm = LlmDefaults.from_options(**options) if options else None
    except ValueError as exc:
        return error_body(400, "invalid_llm_option", f"LLM options: {exc}")
    fingerprint = f"POST /ingest?category={category}" + (f"&llm={llm.fingerprint()}" if llm else "")
    refusal = await _key_refusal(request, principal, idempotency_key, fingerprint,
                                 lambda: hashlib.sha256(data).hexdigest())
    if refusal is not None:
        return refusal
    outcome = await run_in_threadpool(request.app.state.api.service.ingest_upload, category,
                                      file.filename or "upload.json", data, None, True, llm)
    already = outcome.status.startswith("unchanged") or outcome.status == "duplicate"
    stored, refused = outcome.stored, len({(q["category"], q["record_index"]) for q in outcome.quarantined})
    if stored and not outcome.quarantined:
        status = 200 if already else 201
        message = ("already stored: this file was uploaded before; nothing stored twice" if already
                   else f"stored {_records(stored)}")
    elif stored:
        status, message = 207, f"stored {_records(stored)}; {refused} refused (see quarantined)"
    else:
        status = 422
        message = f"nothing stored: {outcome.reason or outcome.status}"
    body = UploadOut(source_path=outcome.source_path, category=category, size_bytes=len(data), status=outcome.status,
                     already_stored=already, detected_type=outcome.detected_type, reason=outcome.reason,
                     duplicate_of=outcome.duplicate_of, stored=stored, stored_ids=outcome.stored_ids,
                     quarantined=outcome.quarantined, message=message)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _acknowledge(request: Request, flag_id: str, body: AckIn, principal: Principal, mute: bool) -> dict:
    row = request.app.state.api.service.acknowledge_regression(flag_id, body.note, body.by or principal.label,
                                                                mute=mute)
    return {**row, "acknowledged_by": row.get("acknowledged_by") or body.by or principal.label}


FLAG_ID = Path(description="A flag id from GET /regressions (a unique prefix is enough)", min_length=1,
               max_length=64)


@router.post("/regressions/{flag_id}/ack", tags=["regressions"], response_model=AckOut,
             summary="Acknowledge a regression flag", responses=_WRITE_ERRORS)
def acknowledge(request: Request, flag_id: Annotated[str, FLAG_ID], body: AckIn,
                principal: Annotated[Principal, Depends(require("submit"))]) -> dict:
    """Acknowledge one flag (it stops counting as open); later flags of the series still open. Needs submit."""
    return _acknowledge(request, flag_id, body, principal, mute=False)


@router.post("/regressions/{flag_id}/mute", tags=["regressions"], response_model=AckOut,
             summary="Mute a regression flag's series", responses=_WRITE_ERRORS)
def mute(request: Request, flag_id: Annotated[str, FLAG_ID], body: AckIn,
         principal: Annotated[Principal, Depends(require("admin"))]) -> dict:
    """Mute the whole series of this flag: this flag and every later one stop counting as open. Needs admin."""
    return _acknowledge(request, flag_id, body, principal, mute=True)


@router.post("/regressions/update", tags=["regressions"], response_model=RegressionUpdateOut,
             summary="Re-detect regressions", responses=_WRITE_ERRORS)
def update_regressions(request: Request,
                       principal: Annotated[Principal, Depends(require("submit"))]) -> RegressionUpdateOut:
    """Re-run change detection on the series whose points changed since the last detection (what
    `benchmark-db regressions update` does). Needs submit."""
    report = request.app.state.api.service.update_regressions()
    return RegressionUpdateOut(series_total=report.series_total, series_analysed=report.series_analysed,
                               flags_total=report.flags_total)
