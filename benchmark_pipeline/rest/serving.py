"""LLM-serving answers over HTTP: the use cases, the cheapest configuration under an SLA, costs, the Pareto front,
TOPSIS rankings per use case, suitability and daily statistics.

Each route is one call of the service's ``ServingMixin``, the same call the CLI and the Python API make, so the
answers cannot drift apart; this module reads parameters and shapes answers, nothing else. The refusals are the
service's exceptions, answered by ``errors.py``: an SLA it cannot read is a 400 naming the term, a model without
LLM results or an unknown use case a 404 naming the closest ones, a warehouse older than the answer tables a 409.

Answers leave out what the service does not answer (``response_model_exclude_unset``) rather than inventing
nulls: the cost table, for instance, has no TTFT, and an SLA answer's workload names only what was asked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from benchmark_pipeline.lib.analytics.serving import CRITERIA, LENGTH_TOLERANCE, Workload, json_value
from benchmark_pipeline.lib.llm.result import WORKLOAD_TYPES

from .auth import require
from .encode import plain, records
from .errors import error_responses
from .models import (LlmCostOut, LlmDailyOut, LlmParetoOut, LlmRankingsOut, LlmSlaOut, LlmSuitabilityOut,
                     LlmUseCaseOut)
from .read import PAGE_HEADERS, MAX_PAGE, PageQ, PerPageQ, SinceQ, UntilQ, _offset, _paged, _range, _service

router = APIRouter(tags=["llm"], dependencies=[Depends(require("read"))],
                   responses=error_responses(400, 401, 403, 404, 409, 503))

_TERMS = ", ".join(CRITERIA)
_WITHIN = f"within ±{LENGTH_TOLERANCE:.0%}"

SlaQ = Annotated[str, Query(min_length=1, max_length=2000,
                            description="Terms COLUMN<=LIMIT or COLUMN>=LIMIT joined by commas ('<' reads as '<='), "
                                        f"over the criteria {_TERMS}; e.g. ttft_ms_p90<=300,user_tokens_per_s>=20. "
                                        "A term that cannot be read is a 400 naming it")]
LlmModelQ = Annotated[str | None, Query(min_length=1, max_length=300,
                                        description="Only this model (any case); one without LLM-serving results "
                                                    "is a 404 naming the closest that have some")]
UseCaseQ = Annotated[str, Query(min_length=1, max_length=100,
                                description="A use case of GET /llm/use-cases, e.g. chatbot; an unknown one is a 404 "
                                            "naming the closest")]
LlmLimitQ = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most this many rows (at most {MAX_PAGE})")]


def _workload(
    model: LlmModelQ = None,
    workload_type: Annotated[Literal[WORKLOAD_TYPES] | None, Query(
        description="online (requests arrive over time) or offline (all submitted at once)")] = None,
    dataset: Annotated[str | None, Query(min_length=1, max_length=200,
                                         description="Only loads drawn from this dataset (any case)")] = None,
    input_tokens: Annotated[float | None, Query(gt=0, le=10_000_000, description="Only loads of about this many "
                                                f"input tokens per request ({_WITHIN})")] = None,
    output_tokens: Annotated[float | None, Query(gt=0, le=10_000_000, description="Only loads of about this many "
                                                 f"output tokens per request ({_WITHIN})")] = None,
) -> Workload:
    """The load points a question is about, as the service takes them."""
    return Workload(model=model, workload_type=workload_type, dataset=dataset, input_tokens=input_tokens,
                    output_tokens=output_tokens)


WorkloadQ = Annotated[Workload, Depends(_workload)]
_ANSWER = {"response_model_exclude_unset": True}


@router.get("/llm/use-cases", response_model=list[LlmUseCaseOut], summary="LLM use cases")
def get_use_cases(request: Request) -> list[dict[str, Any]]:
    """The use-case taxonomy: per use case, the workload it means (tokens in and out per request), the SLA a
    configuration must meet to serve it and the default TOPSIS weights of its ranking."""
    return [plain(row) for row in _service(request).llm_use_cases()]


@router.get("/llm/sla", response_model=LlmSlaOut, summary="Cheapest configuration meeting an SLA", **_ANSWER)
def get_sla(request: Request, sla: SlaQ, workload: WorkloadQ, since: SinceQ = None, until: UntilQ = None,
            limit: LlmLimitQ = 10) -> dict[str, Any]:
    """The load points whose latest result meets every term of the SLA, cheapest per million output tokens first.
    A point lacking a value a term needs (a TTFT p90 its tool never reported, say) cannot be judged: it is left out
    and counted per criterion (`left_out`, `left_out_missing`), so the answer says on how much evidence it rests."""
    since, until = _range(since, until)
    return plain(_service(request).llm_sla(sla, workload, since=since, until=until, limit=limit))


@router.get("/llm/costs", response_model=list[LlmCostOut], summary="$ per million output tokens",
            responses={200: {"headers": PAGE_HEADERS}}, **_ANSWER)
def get_costs(request: Request, response: Response, workload: WorkloadQ, since: SinceQ = None,
              until: UntilQ = None, page: PageQ = 1, per_page: PerPageQ = 100) -> list[dict[str, Any]]:
    """Every load point's price per hour, output throughput, $ per million output tokens (at the load measured)
    and output tokens per joule where energy or power was measured; cheapest first."""
    since, until = _range(since, until)
    table = _service(request).llm_costs(workload, since=since, until=until)
    _paged(request, response, len(table), page, per_page)
    start = _offset(page, per_page)
    return records(table.iloc[start:start + per_page])


@router.get("/llm/pareto", response_model=LlmParetoOut, summary="Pareto front: tokens/s per GPU against per user",
            **_ANSWER)
def get_pareto(request: Request, workload: WorkloadQ, since: SinceQ = None, until: UntilQ = None) -> dict[str, Any]:
    """The serving trade-off: more concurrency earns a GPU more output tokens/s and gives each user fewer. Every
    load point with both values, the ones on the front (no other point has more of both) marked; points lacking
    either are counted in `left_out`."""
    since, until = _range(since, until)
    return plain(_service(request).llm_pareto(workload, since=since, until=until))


@router.get("/llm/rankings", response_model=LlmRankingsOut, summary="TOPSIS ranking for a use case", **_ANSWER)
def get_llm_rankings(request: Request, use_case: UseCaseQ, limit: LlmLimitQ = 20) -> dict[str, Any]:
    """Serving configurations ranked for a use case by TOPSIS with its default weights, each by its best load point
    within the use case's workload that meets its SLA. Read from the stored rankings while they are fresh
    (`cached`: true, valid until `expires_at`); computed for the request when they expired or the results changed
    since (`cached`: false, `reason` says which)."""
    return plain(_service(request).llm_rankings(use_case, limit=limit))


@router.get("/llm/suitability", response_model=list[LlmSuitabilityOut], summary="Suitability of models per use case",
            responses={200: {"headers": PAGE_HEADERS}})
def get_suitability(request: Request, response: Response, model: LlmModelQ = None, page: PageQ = 1,
                    per_page: PerPageQ = 100) -> list[dict[str, Any]]:
    """Per model and use case: the share of its configurations tested in the use case's workload that meet the
    SLA, its best figures and best rank, and whether it is recommended (stored with the results)."""
    rows = records(_service(request).llm_suitability(model))
    for row in rows:
        row["performance_summary"] = json_value(row["performance_summary"])
    return _page(request, response, rows, page, per_page)


@router.get("/llm/daily", response_model=list[LlmDailyOut], summary="Daily LLM-serving statistics",
            responses={200: {"headers": PAGE_HEADERS}})
def get_daily(request: Request, response: Response, model: LlmModelQ = None, page: PageQ = 1,
              per_page: PerPageQ = 100) -> list[dict[str, Any]]:
    """Per model and UTC day, over every result of the day: how many results and configurations, median TTFT and
    TPOT p90, best output throughput, lowest $ per million output tokens, best tokens per joule."""
    return _page(request, response, records(_service(request).llm_daily_stats(model)), page, per_page)


def _page(request: Request, response: Response, rows: list[dict[str, Any]], page: int, per_page: int
          ) -> list[dict[str, Any]]:
    _paged(request, response, len(rows), page, per_page)
    start = _offset(page, per_page)
    return rows[start:start + per_page]
