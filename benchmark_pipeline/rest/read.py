"""Reads: results with filters and cursor paging, the catalogue, runs, comparisons, regressions, rankings,
reports, health and read-only SQL. Each is one service call; none opens the warehouse itself."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from benchmark_pipeline.lib.analytics.filters import Filters

from .auth import require
from .encode import json_ready, plain, records
from .errors import error_responses
from .models import (CompareOut, CompatibilityCellOut, CompatibilityPage, FlagOut, HardwareOut, HardwareSummaryOut,
                     HealthOut, IntegrationPage, ModelOut, ModelSummaryOut, PerformancePage, QueryIn, QueryOut,
                     RankingOut, RunOut)

INT32 = 2**31 - 1
INT64 = 2**63 - 1
MAX_PAGE = 1000  # results per cursor page
MAX_PER_PAGE = 1000  # items per page of the small lists

router = APIRouter(dependencies=[Depends(require("read"))], responses=error_responses(400, 401, 403, 404, 409, 503))

Metric = Literal["throughput", "latency", "memory", "power", "efficiency"]
ReportKind = Literal["summary", "performance", "compatibility", "regressions", "hardware", "model"]

# -- shared parameters -----------------------------------------------------------------------------

ModelQ = Annotated[str | None, Query(min_length=1, max_length=300, description="Only this model (any case; an "
                                     "unknown name is a 404 naming the closest known ones)")]
HardwareQ = Annotated[str | None, Query(min_length=1, max_length=300, description="Only this hardware: a type "
                                        "(cuda, gpu, cpu, …, any alias) or a device name")]
SinceQ = Annotated[datetime | None, Query(description="Only results from this time on (ISO 8601 date or date-time; "
                                          "UTC unless it says otherwise)")]
UntilQ = Annotated[datetime | None, Query(description="Only results before this time (ISO 8601)")]
SimulatedQ = Annotated[bool, Query(description="Include the original system's simulated (not measured) results")]
PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")]
PerPageQ = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page (at most {MAX_PER_PAGE})")]
LimitQ = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Results per page (at most {MAX_PAGE})")]
AfterQ = Annotated[int | None, Query(ge=0, le=INT64, description="Cursor: only results with a larger id; pass the "
                                    "previous page's page.next_after_id")]

PAGE_HEADERS = {
    "X-Total-Count": {"description": "How many items match in all (every page)", "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 links to the next and previous pages, where there are some",
             "schema": {"type": "string"}},
}
CURSOR_HEADERS = {"Link": {"description": "RFC 8288 link to the next page (rel=next), when there may be one",
                           "schema": {"type": "string"}}}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The time range in UTC. One the wrong way round is refused like any other bad parameter (400): a swapped
    pair is reported to whoever sent it instead of being answered with nothing."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        raise RequestValidationError([{
            "loc": ("query", "until"), "type": "value_error",
            "msg": f"until ({until.isoformat()}) is before since ({since.isoformat()}); give since <= until "
                   "(results from since on, before until)"}])
    return since, until


def _service(request: Request):
    return request.app.state.api.service


def _url(request: Request, **changes: Any) -> str:
    params = dict(request.query_params) | {k: str(v) for k, v in changes.items()}
    return f"{request.url.path}?{urlencode(params)}"


def _paged(request: Request, response: Response, total: int, page: int, per_page: int) -> None:
    response.headers["X-Total-Count"] = str(total)
    links = []
    if page * per_page < total:
        links.append(f'<{_url(request, page=page + 1)}>; rel="next"')
    if page > 1:
        links.append(f'<{_url(request, page=page - 1)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)


def _offset(page: int, per_page: int) -> int:
    return (page - 1) * per_page


# -- results ---------------------------------------------------------------------------------------

_ID_COLUMNS = {"performance": "result_id", "compatibility": "compatibility_id", "integration": "test_result_id"}


def _results(request: Request, response: Response, category: str, limit: int, after_id: int | None,
             **filters: Any) -> dict[str, Any]:
    rows = _service(request).find_results(category, limit=limit, after_id=after_id, **filters)
    rows = [plain(row) for row in rows]
    next_after = rows[-1][_ID_COLUMNS[category]] if len(rows) == limit else None
    if next_after is not None:
        response.headers["Link"] = f'<{_url(request, after_id=next_after)}>; rel="next"'
    return {"items": rows, "page": {"limit": limit, "count": len(rows), "next_after_id": next_after}}


@router.get("/performance", response_model=PerformancePage, tags=["results"], summary="Performance results",
            responses={200: {"headers": CURSOR_HEADERS}})
def get_performance(
    request: Request, response: Response, model: ModelQ = None, hardware: HardwareQ = None,
    precision: Annotated[str | None, Query(min_length=1, max_length=50, description="fp32, fp16, int8, …")] = None,
    batch_size: Annotated[int | None, Query(ge=0, le=INT32, description="Only this batch size")] = None,
    since: SinceQ = None, until: UntilQ = None,
    run_id: Annotated[int | None, Query(ge=0, le=INT64, description="Only results of this test run")] = None,
    include_simulated: SimulatedQ = True, limit: LimitQ = 100, after_id: AfterQ = None,
) -> dict[str, Any]:
    """Stored performance results with model and hardware names, oldest id first. Page with the cursor
    (`after_id` = the previous page's `page.next_after_id`): pages stay put while new results arrive."""
    return _results(request, response, "performance", limit, after_id, model=model, hardware=hardware,
                    precision=precision, batch_size=batch_size, since=_utc(since), until=_utc(until), run_id=run_id,
                    include_simulated=include_simulated)


@router.get("/compatibility", response_model=CompatibilityPage, tags=["results"], summary="Compatibility results",
            responses={200: {"headers": CURSOR_HEADERS}})
def get_compatibility(
    request: Request, response: Response, model: ModelQ = None, hardware: HardwareQ = None,
    since: SinceQ = None, until: UntilQ = None,
    run_id: Annotated[int | None, Query(ge=0, le=INT64, description="Only results of this test run")] = None,
    include_simulated: SimulatedQ = True, limit: LimitQ = 100, after_id: AfterQ = None,
) -> dict[str, Any]:
    """Stored hardware compatibility results, oldest id first, cursor-paged like /performance."""
    return _results(request, response, "compatibility", limit, after_id, model=model, hardware=hardware,
                    since=_utc(since), until=_utc(until), run_id=run_id, include_simulated=include_simulated)


@router.get("/integration", response_model=IntegrationPage, tags=["results"], summary="Integration test results",
            responses={200: {"headers": CURSOR_HEADERS}})
def get_integration(
    request: Request, response: Response, model: ModelQ = None, hardware: HardwareQ = None,
    since: SinceQ = None, until: UntilQ = None,
    run_id: Annotated[int | None, Query(ge=0, le=INT64, description="Only results of this test run")] = None,
    include_simulated: SimulatedQ = True, limit: LimitQ = 100, after_id: AfterQ = None,
) -> dict[str, Any]:
    """Stored integration test results, oldest id first, cursor-paged like /performance."""
    return _results(request, response, "integration", limit, after_id, model=model, hardware=hardware,
                    since=_utc(since), until=_utc(until), run_id=run_id, include_simulated=include_simulated)


@router.get("/compatibility/matrix", response_model=list[CompatibilityCellOut], tags=["results"],
            summary="Compatibility matrix", responses={200: {"headers": PAGE_HEADERS}})
def get_compatibility_matrix(
    request: Request, response: Response,
    level: Annotated[Literal["model", "family"] | None, Query(description="Rows per model or per model family")]
    = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=300, description="One model or family")] = None,
    hardware_type: Annotated[str | None, Query(min_length=1, max_length=50, description="One hardware type")] = None,
    since: SinceQ = None, until: UntilQ = None,
    page: PageQ = 1, per_page: PerPageQ = 500,
) -> list[dict[str, Any]]:
    """Per model (or family) and hardware type: compatible, partial, incompatible or untested, with a score
    (what the dashboard's heatmap draws). Over all time, from the derived table compatibility_matrix; with
    `since`/`until`, from the compatibility tests in that range only (a cell with none there is untested)."""
    since, until = _range(since, until)
    rows, total = _service(request).compatibility_cells(level, subject, hardware_type, per_page,
                                                        _offset(page, per_page), since=since, until=until)
    _paged(request, response, total, page, per_page)
    return [plain(r) for r in rows]


# -- catalogue -------------------------------------------------------------------------------------

@router.get("/models", response_model=list[ModelOut], tags=["catalogue"], summary="Models",
            responses={200: {"headers": PAGE_HEADERS}})
def get_models(request: Request, response: Response, page: PageQ = 1, per_page: PerPageQ = 100) -> list[dict]:
    """Every model, by name, with how many performance results and platforms it has."""
    rows, total = _service(request).list_models(per_page, _offset(page, per_page))
    _paged(request, response, total, page, per_page)
    return [plain(r) for r in rows]


@router.get("/models/{model_name:path}", response_model=ModelSummaryOut, tags=["catalogue"],
            summary="One model on every hardware")
def get_model(request: Request,
              model_name: Annotated[str, Path(min_length=1, max_length=300, description="The model (any case)")]
              ) -> dict[str, Any]:
    """Every hardware the model ran on, per batch size and precision: medians, latest values, speed-up over CPU
    and throughput rank (rows of hardware_comparison)."""
    summary = _service(request).model_summary(model_name)
    return {"model_name": summary["model_name"], "hardware": [plain(r) for r in summary["hardware"]]}


@router.get("/hardware", response_model=list[HardwareOut], tags=["catalogue"], summary="Hardware platforms",
            responses={200: {"headers": PAGE_HEADERS}})
def get_hardware(request: Request, response: Response, page: PageQ = 1, per_page: PerPageQ = 100) -> list[dict]:
    """Every hardware platform (type and device) with how many results and models it has."""
    rows, total = _service(request).list_hardware(per_page, _offset(page, per_page))
    _paged(request, response, total, page, per_page)
    return [plain(r) for r in rows]


@router.get("/hardware/{hardware:path}", response_model=HardwareSummaryOut, tags=["catalogue"],
            summary="Every model on one hardware")
def get_one_hardware(request: Request,
                     hardware: Annotated[str, Path(min_length=1, max_length=300,
                                                   description="A hardware type (any alias) or a device name")]
                     ) -> dict[str, Any]:
    """Every model on this hardware type or device, ranked by throughput (rows of model_comparison)."""
    summary = _service(request).hardware_summary(hardware)
    return {"hardware": summary["hardware"], "models": [plain(r) for r in summary["models"]]}


@router.get("/runs/{run_id}", response_model=RunOut, tags=["catalogue"], summary="One test run")
def get_run(request: Request,
            run_id: Annotated[int, Path(ge=0, le=INT64, description="A run id (results carry theirs)")]) -> dict:
    """A test run: where it came from (file or submission, commit, branch), and its results per category."""
    return plain(_service(request).run_details(run_id))


# -- comparisons -----------------------------------------------------------------------------------

def _compare_out(kind: str, metric: str | None, table, sides, note: str) -> dict[str, Any]:
    out = {"kind": kind, "metric": metric, "columns": list(table.columns), "rows": [plain(list(r)) for r in table.rows],
           "note": note}
    if sides:
        out["side_a"] = {"label": sides[0].label, "run_ids": list(sides[0].run_ids)}
        out["side_b"] = {"label": sides[1].label, "run_ids": list(sides[1].run_ids)}
    return out


@router.get("/compare/hardware", response_model=CompareOut, tags=["comparisons"],
            summary="Hardware side by side for a model")
def compare_hardware(
    request: Request,
    model: Annotated[str, Query(min_length=1, max_length=300, description="The model")],
    metric: Annotated[Metric, Query(description="What to compare (medians)")] = "throughput",
    since: SinceQ = None, until: UntilQ = None, include_simulated: SimulatedQ = False,
) -> dict[str, Any]:
    """Rows: batch size and precision; one column per hardware with the median of the metric over the results
    from `since` on and before `until`; `best` names the best hardware of the row. Simulated results are left
    out unless asked for."""
    since, until = _range(since, until)
    table, sides = _service(request).compare(model=model, metric=metric, until=until,
                                             filters=Filters(since=since, include_simulated=include_simulated))
    return _compare_out("hardware", metric, table, sides, f"median {metric} per batch size and precision; one column "
                                                          "per hardware; best: the best column of the row")


@router.get("/compare/models", response_model=CompareOut, tags=["comparisons"], summary="Models on a hardware")
def compare_models(
    request: Request,
    hardware: Annotated[str, Query(min_length=1, max_length=300, description="A hardware type or device name")],
    metric: Annotated[Metric, Query(description="What to compare (medians)")] = "throughput",
    since: SinceQ = None, include_simulated: SimulatedQ = False,
) -> dict[str, Any]:
    """Rows: hardware, batch size and precision; one column per model with the median of the metric."""
    table, sides = _service(request).compare(hardware=hardware, metric=metric,
                                             filters=Filters(since=_utc(since), include_simulated=include_simulated))
    return _compare_out("models", metric, table, sides, f"median {metric} per hardware, batch size and precision; "
                                                        "one column per model")


@router.get("/compare/runs", response_model=CompareOut, tags=["comparisons"], summary="Run against run")
def compare_runs(
    request: Request,
    a: Annotated[str, Query(min_length=1, max_length=64, description="Run A: a run id, or a git commit (prefix of "
                                                                     "4+ hex digits) naming all its runs")],
    b: Annotated[str, Query(min_length=1, max_length=64, description="Run B, the same way")],
    metric: Annotated[Metric | None, Query(description="One metric; default: all the run metrics")] = None,
    since: SinceQ = None, include_simulated: SimulatedQ = False,
) -> dict[str, Any]:
    """Every series both sides measured, with the % change from A to B, the noise band (the change the series'
    own run-to-run spread explains, or your threshold) and a verdict: better, worse or same (within noise)."""
    table, sides = _service(request).compare(runs=(a, b), metric=metric,
                                             filters=Filters(since=_utc(since), include_simulated=include_simulated))
    return _compare_out("runs", metric, table, sides, "value_a, value_b: medians; change_pct: from A to B; "
                                                      "noise_band: a change within it is 'same'")


# -- regressions and rankings ----------------------------------------------------------------------

@router.get("/regressions", response_model=list[FlagOut], tags=["regressions"], summary="Regression flags",
            responses={200: {"headers": {**PAGE_HEADERS, "X-Stale-Series": {
                "description": "With count_stale=true: series whose points changed since the last detection "
                               "(flags may be behind; POST /regressions/update)", "schema": {"type": "integer"}}}}})
def get_regressions(
    request: Request, response: Response, model: ModelQ = None, hardware: HardwareQ = None,
    since: SinceQ = None,
    only_open: Annotated[bool, Query(description="Only open regressions (suspected ones too)")] = False,
    kind: Annotated[str | None, Query(min_length=1, max_length=40, description="regression, improvement, …")]
    = None,
    confirmed_only: Annotated[bool, Query(description="Leave out suspected flags")] = False,
    count_stale: Annotated[bool, Query(description="Count the series changed since detection (X-Stale-Series; a "
                                                   "scan of every point)")] = False,
    page: PageQ = 1, per_page: PerPageQ = 100,
) -> list[dict[str, Any]]:
    """Flags newest first, each with kind, direction, % change, confirmation and status (open, acknowledged,
    muted, recovered, superseded)."""
    listing = _service(request).regression_flags(model=model, hardware=hardware, since=_utc(since),
                                                  only_open=only_open, kind=kind, confirmed_only=confirmed_only,
                                                  count_stale=count_stale)
    flags = records(listing.flags)
    _paged(request, response, len(flags), page, per_page)
    if count_stale:
        response.headers["X-Stale-Series"] = str(listing.stale_series)
    start = _offset(page, per_page)
    return flags[start:start + per_page]


@router.get("/rankings", response_model=list[RankingOut], tags=["comparisons"], summary="Hardware rankings",
            responses={200: {"headers": PAGE_HEADERS}})
def get_rankings(
    request: Request, response: Response, model: ModelQ = None, hardware: HardwareQ = None,
    batch_size: Annotated[int | None, Query(ge=0, le=INT32, description="Only this batch size")] = None,
    precision: Annotated[str | None, Query(min_length=1, max_length=50, description="Only this precision")] = None,
    pareto_only: Annotated[bool, Query(description="Only hardware on the Pareto front")] = False,
    since: SinceQ = None, until: UntilQ = None,
    page: PageQ = 1, per_page: PerPageQ = 100,
) -> list[dict[str, Any]]:
    """Per model, batch size and precision, the hardware ranked by TOPSIS over latency, throughput, memory and
    power (and cost where known), with the Pareto-optimal ones marked. Over all time, from the derived table
    hardware_recommendations; with `since`/`until`, ranked the same way over the medians of the results in that
    range only."""
    since, until = _range(since, until)
    rows, total = _service(request).rankings(model, hardware, batch_size, precision, pareto_only, per_page,
                                             _offset(page, per_page), since=since, until=until)
    _paged(request, response, total, page, per_page)
    return [plain(r) for r in rows]


# -- reports ---------------------------------------------------------------------------------------

def _report_schema_ref() -> dict[str, str]:
    return {"$ref": "#/components/schemas/Report"}


@router.get(
    "/reports/{kind}", tags=["reports"], summary="A report", response_class=Response,
    responses={200: {"description": "The report in the format asked for",
                     "content": {"text/markdown": {"schema": {"type": "string"}},
                                 "text/html": {"schema": {"type": "string"}},
                                 "application/json": {"schema": _report_schema_ref()}}}},
)
def get_report(
    request: Request,
    kind: Annotated[ReportKind, Path(description="Which report")],
    format: Annotated[Literal["markdown", "html", "json"], Query(description="markdown, html (charts load "
                      "plotly.min.js from beside the report, served here) or json (report.schema.json)")]
    = "markdown",
    model: ModelQ = None, hardware: HardwareQ = None, since: SinceQ = None,
    include_simulated: SimulatedQ = False,
) -> Response:
    """The same reports as `benchmark-db report`, built from the derived tables."""
    from benchmark_pipeline.lib.reports.render import render

    report = _service(request).report(kind, Filters(model, hardware, _utc(since), include_simulated))
    media = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
             "json": "application/json"}[format]
    return Response(render(report, format), media_type=media)


# -- health and SQL --------------------------------------------------------------------------------

@router.get("/health", response_model=HealthOut, tags=["service"], summary="Health",
            responses={503: {"model": HealthOut, "description": "The warehouse could not be opened in time"}})
def get_health(request: Request) -> Response:
    """Whether the warehouse opens, its schema version, the last ingest and how many regressions are open."""
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, WarehouseMissingError

    from .gate import GateTimeout

    state = request.app.state.api
    body: dict[str, Any] = {"warehouse": str(state.service.db_path), "reads_need_token": state.reads_need_token,
                            "schema_version": None, "code_schema_version": None, "last_ingest_at": None,
                            "last_ingest_run": None, "open_regressions": None, "performance_results": None,
                            "data_as_of": None, "data_age_s": None}
    status = 200
    try:
        found = state.service.health()
        copy = state.service.read_copy_state()
        body |= found | {"status": "ok", "warehouse_reachable": True, "data_as_of": copy.taken_at,
                         "data_age_s": round(copy.stale_for_s, 3),
                         "message": f"serving {found['performance_results']} performance results"}
    except WarehouseMissingError:
        body |= {"status": "empty", "warehouse_reachable": False,
                 "message": "no warehouse yet: the first POST (or an ingest) creates it"}
    except (WarehouseLockedError, GateTimeout) as exc:
        status = 503
        body |= {"status": "unavailable", "warehouse_reachable": False, "message": str(exc)}
    payload = HealthOut(**plain(body)).model_dump(mode="json")
    return JSONResponse(payload, status_code=status, headers={"Retry-After": "5"} if status == 503 else None)


@router.post("/query", response_model=QueryOut, tags=["service"], summary="Read-only SQL")
def post_query(request: Request, body: QueryIn) -> dict[str, Any]:
    """One read-only statement in the same sandbox as `benchmark-db query`: a read-only connection with file,
    network and extension access off and its configuration locked, a 1 GB memory limit, a time limit and a row
    limit. It can read the warehouse and nothing else; writes, COPY, ATTACH, SET, INSTALL/LOAD and file
    functions (read_csv, …) are refused with 400."""
    table, truncated = _service(request).query(body.sql, body.timeout_s, body.max_rows)
    rows = [json_ready(list(row)) for row in table.rows]
    return {"columns": list(table.columns), "rows": rows, "row_count": len(rows), "truncated": truncated}
