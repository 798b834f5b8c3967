"""The LLM answer tables (rankings per use case, suitability, daily stats) as one asset with an expiry.

Every write that changes the LLM facts already recomputes them in its own transaction (whoever wrote:
CLI, API, REST or a run), so this asset's work is the other half of the issue's "recomputed when they
expire or their inputs change": a ranking has a time to live (the taxonomy's ``ranking_ttl_s``), and
declarative automation runs the asset on the hour, when it recomputes only what expired. It also runs in
every drop's run and whenever ``llm_serving_results`` is materialized alone; then it usually finds the
answers fresh and says so.
"""

import dagster as dg
import pandas as pd

from benchmark_pipeline.defs.metadata import preview_markdown
from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource

LLM_ANSWERS = "llm_answers"
# On its inputs' change, and on the hour (a ranking lives an hour by default): the asset then recomputes
# only if something expired or changed, so a tick with nothing to do is a no-op run.
LLM_ANSWERS_AUTOMATION = dg.AutomationCondition.eager() | (
    dg.AutomationCondition.cron_tick_passed("5 * * * *", cron_timezone="UTC") & ~dg.AutomationCondition.in_progress())


class LlmAnswersConfig(dg.Config):
    force: bool = False  # recompute even when the stored answers are fresh


@dg.asset(
    name=LLM_ANSWERS,
    group_name="analytics",
    kinds={"duckdb", "python"},
    pool=DUCKDB_POOL,
    deps=[dg.AssetKey("llm_serving_results")],
    automation_condition=LLM_ANSWERS_AUTOMATION,
    description="TOPSIS rankings of LLM serving configurations per use case (model_rankings), per model x use case "
                "suitability (model_use_cases) and daily LLM statistics (llm_daily_stats), with their expiry.",
)
def llm_answers(context: dg.AssetExecutionContext, config: LlmAnswersConfig,
                warehouse: WarehouseResource) -> dg.MaterializeResult:
    service = warehouse.service()
    done = service.refresh_llm_answers(force=config.force)
    context.log.info(f"llm_answers: {'recomputed (' + done.reason + ')' if done.recomputed else 'fresh, kept'}")
    tops = []
    for case in service.llm_use_cases():
        ranking = service.llm_rankings(case["use_case"], limit=1)
        best = ranking["rankings"][0] if ranking["rankings"] else None
        tops.append({"use_case": case["use_case"], "candidates": ranking["candidates"],
                     "best": None if best is None else f"{best['model_name']} on {best['gpu_count'] or '?'}x "
                                                       f"{best['gpu']} at concurrency {best['concurrency']}",
                     "expires_at": ranking["expires_at"]})
    return dg.MaterializeResult(metadata={
        "recomputed": done.recomputed,
        "reason": done.reason,
        "ranked_configurations": done.rankings if done.recomputed else sum(t["candidates"] for t in tops),
        "best_per_use_case": dg.MetadataValue.md(preview_markdown(pd.DataFrame(tops))),
    })
