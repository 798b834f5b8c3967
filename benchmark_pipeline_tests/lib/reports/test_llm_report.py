"""The summary report's LLM-serving sections: the service's answers (the numbers of the five vLLM runs of
``llm_runs.py``, computed by hand there), in markdown, HTML and JSON; nothing at all for a warehouse
without LLM results, so such reports read as they did."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pandas as pd
import pytest

from benchmark_pipeline.lib.analytics.queries import Filters
from benchmark_pipeline.lib.analytics.serving import Workload
from benchmark_pipeline.lib.reports.build import LLM_TOP, MAX_SHOWN_ROWS, build_report
from benchmark_pipeline.lib.reports.render import SCHEMA_PATH, render, to_json
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.llm_runs import MODEL, write_llm_drops

LLM_SECTIONS = ["llm-serving", "llm-rankings", "llm-pareto"]


@pytest.fixture(scope="module")
def llm_db(tmp_path_factory) -> Path:
    """The five vLLM runs and one performance result (another model, so a filter can leave the LLM runs out)."""
    root = tmp_path_factory.mktemp("llm-report")
    db = root / "warehouse.duckdb"
    service = BenchmarkService(db)
    service.ingest_paths([str(p) for p in write_llm_drops(root / "drops")])
    service.ingest_records("performance", perf_record())
    return db


def _summary(db: Path, filters: Filters = Filters()):
    with duckdb.connect(str(db), read_only=True) as conn:
        return build_report(conn, "summary", filters)


def _section(report, section_id: str):
    return next(s for s in report.sections if s.id == section_id)


def _missing(value) -> bool:
    return bool(pd.isna(value))


def _sla_terms(case: dict) -> str:
    return ",".join(f"{column}{'<=' if bound == 'max' else '>='}{limit}" for column, bounds in case["sla"].items()
                    for bound, limit in bounds.items())


def _case_workload(case: dict, model: str | None = None) -> Workload:
    shape = case["characteristics"]
    return Workload(model=model, input_range=tuple(shape["input_tokens"]), output_range=tuple(shape["output_tokens"]))


def test_each_use_case_gets_the_service_answers(llm_db):
    report = _summary(llm_db)
    assert [s.id for s in report.sections if s.id.startswith("llm-")] == LLM_SECTIONS
    overview = _section(report, "llm-serving").table.set_index("use_case")
    service = BenchmarkService(llm_db)
    cases = {c["use_case"]: c for c in service.llm_use_cases()}
    assert sorted(overview.index) == sorted(cases)
    for name, case in cases.items():
        row = overview.loc[name]
        ranking = service.llm_rankings(name, limit=1000)
        assert row["candidates"] == ranking["candidates"], name
        if case["sla"]:
            assert row["sla_terms"] == _sla_terms(case), name
        if ranking["rankings"]:
            best = ranking["rankings"][0]
            assert (row["best_result_id"], row["best_rank"]) == (best["result_id"], 1), name
            assert row["best_score"] == pytest.approx(best["composite_score"]), name
        else:
            assert _missing(row["best_result_id"]), name
        if case["sla"]:
            answer = service.llm_sla(_sla_terms(case), _case_workload(case))
            cheapest = answer["cheapest"]
        else:  # no SLA (batch generation): every point meets it; the cheapest is the cost table's first
            answer = None
            costs = service.llm_costs(_case_workload(case))
            cheapest = costs.iloc[0].to_dict() if len(costs) else None
        if cheapest is None:
            assert _missing(row["cheapest_result_id"]), name
        else:
            assert row["cheapest_result_id"] == cheapest["result_id"], name
            assert row["cheapest_usd_per_million_output_tokens"] == pytest.approx(
                cheapest["usd_per_million_output_tokens"]), name
        if answer is not None:
            assert (row["considered"], row["left_out"], row["meeting"]) == \
                (answer["considered"], answer["left_out"], answer["meeting"]), name

    # By hand (test_serving.py): under the chatbot SLA the H100 (no TTFT p90 in its file) is left out, the L4 at
    # 8 users misses it, and 2x A100 at 32 users is the cheapest of the three that meet it.
    chatbot = overview.loc["chatbot"]
    assert (chatbot["considered"], chatbot["left_out"], chatbot["left_out_missing"], chatbot["meeting"]) == \
        (5, 1, "ttft_ms_p90: 1", 3)
    assert chatbot["cheapest_configuration"] == "acme/llm-8b · 2× A100-SXM4-80GB · vllm 0.6.3"
    assert chatbot["cheapest_load"] == "c32"
    assert chatbot["cheapest_usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)
    assert overview.loc["batch-generation", "cheapest_usd_per_million_output_tokens"] == pytest.approx(
        6.98 / (1500 * 3600) * 1e6)  # the H100: no SLA to miss
    assert overview.loc["code-completion", "meeting"] == 0  # 30 tokens/s per user: only the H100 is that fast
    assert overview.loc["rag-qa", "considered"] == 0  # 512-token prompts are not RAG's 1024 and more


def test_the_top_configurations_are_the_service_rankings(llm_db):
    top = _section(_summary(llm_db), "llm-rankings")
    service = BenchmarkService(llm_db)
    for name in ("chatbot", "batch-generation"):
        stored = service.llm_rankings(name, limit=1000)["rankings"]
        mine = top.table[top.table["use_case"] == name]
        assert [(r["result_id"], r["rank_position"]) for r in stored] == \
            list(zip(mine["result_id"], mine["rank_position"])), name
        assert mine["composite_score"].tolist() == pytest.approx([r["composite_score"] for r in stored])
        shown = top.shown[top.shown["use case"] == name]
        assert shown["#"].tolist() == list(range(1, min(LLM_TOP, len(stored)) + 1))
    assert set(top.table["use_case"]) == {"chatbot", "batch-generation"}  # no other use case has a candidate


def test_the_pareto_front_is_the_service_front(llm_db):
    section = _section(_summary(llm_db), "llm-pareto")
    front = BenchmarkService(llm_db).llm_pareto()
    assert dict(zip(section.table["result_id"], section.table["on_front"])) == \
        {p["result_id"]: p["on_front"] for p in front["points"]}
    # per user / per GPU: L4 c1 25/24, L4 c8 22.2/150, A100 22.2/350, 2x A100 21/400, H100 33.3/1500: H100 alone.
    assert section.shown["load"].tolist() == ["c64"] and section.shown["tokens/s per GPU"].tolist() == [1500.0]
    drawn = {(x, y) for trace in section.figure.data if trace.name == "acme/llm-8b" for x, y in zip(trace.x, trace.y)}
    assert drawn == {(p["user_tokens_per_s"], p["output_tokens_per_s_per_gpu"]) for p in front["points"]}


def test_markdown_html_and_json_carry_the_sections(llm_db):
    report = _summary(llm_db)
    markdown = render(report, "markdown")
    for title in ("## LLM serving by use case", "## LLM serving: top configurations per use case (TOPSIS)",
                  "## LLM serving: Pareto front"):
        assert title in markdown
    assert markdown.index("## Compatibility matrix") < markdown.index("## LLM serving by use case") < \
        markdown.index("## Latest results")
    chatbot = next(line for line in markdown.splitlines() if line.startswith("| chatbot | TTFT p90"))
    assert "2× A100-SXM4-80GB · vllm 0.6.3 · c32 | 2.549 | 3 of 4 judged | 1 (1 without ttft_ms_p90) |" in chatbot

    page = render(report, "html")
    for section_id in LLM_SECTIONS:
        assert f'<section id="{section_id}">' in page
    assert 'id="chart-llm-pareto"' in page and "<td>1 (1 without ttft_ms_p90)</td>" in page
    for section_id in LLM_SECTIONS:  # short tables, as every report's: the columns that matter fit on a screen
        table = re.search(rf'<section id="{section_id}">.*?(<table>.*?</table>)', page, flags=re.S).group(1)
        assert 0 < table.count("<th>") <= 9 and table.count("<tr>") - 1 <= MAX_SHOWN_ROWS, section_id

    document = json.loads(render(report, "json"))
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()), cls=jsonschema.Draft202012Validator)
    sections = {s["id"]: s for s in document["sections"]}
    overview = sections["llm-serving"]["table"]
    chat = dict(zip(overview["columns"], next(r for r in overview["rows"] if r[0] == "chatbot")))
    assert chat["cheapest_usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)
    assert sections["llm-pareto"]["chart"]["type"] == "scatter"
    assert sections["llm-rankings"]["table"]["total_rows"] == len(_section(report, "llm-rankings").table)


def test_filters_narrow_the_answers_and_keep_the_service_ranks(llm_db):
    report = _summary(llm_db, Filters(model=MODEL.upper(), hardware="NVIDIA L4"))
    overview = _section(report, "llm-serving").table.set_index("use_case")
    # On the L4 only: 8 users miss the chatbot's TTFT; 1 user meets it at 0.80 / (24 x 3600) x 1e6 = $9.259.
    assert overview.loc["chatbot", "cheapest_usd_per_million_output_tokens"] == pytest.approx(0.80 / (24 * 3600) * 1e6)
    assert (overview.loc["chatbot", "considered"], overview.loc["chatbot", "meeting"]) == (2, 1)
    everywhere = BenchmarkService(llm_db).llm_rankings("chatbot")["rankings"]
    l4 = next(r for r in everywhere if r["gpu"] == "NVIDIA L4")
    assert (overview.loc["chatbot", "best_result_id"], overview.loc["chatbot", "best_rank"]) == \
        (l4["result_id"], l4["rank_position"])  # its rank among every configuration, not among the L4's
    assert l4["rank_position"] > 1
    front = _section(report, "llm-pareto").table
    assert set(front["gpu"]) == {"NVIDIA L4"} and front["on_front"].all()  # 25/24 and 22.2/150: neither dominates

    assert not [s for s in _summary(llm_db, Filters(model="bert-base-uncased")).sections if s.id.startswith("llm-")]
    assert not [s for s in _summary(llm_db, Filters(since=date(2025, 11, 6))).sections if s.id.startswith("llm-")]
    via_service = BenchmarkService(llm_db).report("summary", Filters(hardware="NVIDIA L4"))
    assert _section(via_service, "llm-pareto").table["result_id"].tolist() == front["result_id"].tolist()


def test_a_warehouse_without_llm_results_reads_as_before(tmp_path, llm_db):
    plain = tmp_path / "plain.duckdb"
    BenchmarkService(plain).ingest_records("performance", perf_record())
    ids = [s.id for s in _summary(plain).sections]
    assert ids and not [i for i in ids if i.startswith("llm")]
    assert [s.id for s in _summary(llm_db).sections if not s.id.startswith("llm-")] == ids

    older = tmp_path / "older.duckdb"  # a warehouse from before the LLM answer tables (schema version 8)
    shutil.copy(llm_db, older)
    with duckdb.connect(str(older)) as conn:
        conn.execute("DROP TABLE use_case_taxonomy")
    report = _summary(older)
    assert not [s for s in report.sections if s.id.startswith("llm-")]
    jsonschema.validate(to_json(report), json.loads(SCHEMA_PATH.read_text()), cls=jsonschema.Draft202012Validator)


def test_open_llm_regressions_are_named_by_their_serving_configuration(tmp_path):
    """The sample's planted TTFT regression (H100, after the vLLM upgrade) reads as a person names it."""
    from benchmark_pipeline.lib.llm.synthetic import REGRESSION
    from benchmark_pipeline.lib.sample_data import write_sample

    write_sample(tmp_path / "sample")
    service = BenchmarkService(tmp_path / "w.duckdb")
    service.ingest_paths([str(tmp_path / "sample" / "llm")])
    service.update_regressions()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        report = build_report(conn, "summary")
    shown = next(s for s in report.sections if s.id == "open-regressions").shown
    assert len(shown) and all("concurrency" in config and "b?" not in config for config in shown["config"])
    assert all("time to first token" in change for change in shown["change"])
    assert {h.split(": ")[1] for h in shown["hardware"]} == {"NVIDIA H100 NVL"}  # the upgraded deployment only
    assert all(REGRESSION["framework"].split("==")[0] in config for config in shown["config"])
