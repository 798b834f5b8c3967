"""Reading over HTTP: filters, cursor and page paging with their headers, comparisons, reports, health, the SQL
sandbox, remote mode, errors without tracebacks, and an OpenAPI document that describes everything."""

from __future__ import annotations

import re

import pytest


def test_results_filter_and_page_by_cursor(api):
    everything = api.client.get("/performance", params={"model": "t5-small", "limit": 1000}).json()["items"]
    assert len(everything) == 96 and all(r["model_name"] == "t5-small" for r in everything)
    seen, after, pages = [], None, 0
    while True:
        params = {"model": "t5-small", "limit": 25, **({"after_id": after} if after is not None else {})}
        answer = api.client.get("/performance", params=params)
        page = answer.json()
        seen += [r["result_id"] for r in page["items"]]
        pages += 1
        after = page["page"]["next_after_id"]
        if after is None:
            assert "Link" not in answer.headers
            break
        assert f"after_id={after}" in answer.headers["Link"] and 'rel="next"' in answer.headers["Link"]
    assert seen == [r["result_id"] for r in everything] and pages == 4 and seen == sorted(seen)

    narrow = api.client.get("/performance", params={"model": "t5-small", "hardware": "NVIDIA T4", "batch_size": 8,
                                                    "precision": "fp32", "since": "2025-03-05",
                                                    "until": "2025-03-07T00:00:00Z"}).json()["items"]
    assert [(r["hardware"], r["batch_size"], r["run_time"][:10]) for r in narrow] == [
        ("cuda: NVIDIA T4", 8, "2025-03-05"), ("cuda: NVIDIA T4", 8, "2025-03-06")]
    run = narrow[0]["run_id"]
    by_run = api.client.get("/performance", params={"run_id": run, "limit": 1000}).json()["items"]
    assert by_run and {r["run_id"] for r in by_run} == {run}
    measured = api.client.get("/performance", params={"include_simulated": False, "limit": 1000}).json()["items"]
    assert measured and not any(r["is_simulated"] for r in measured)


def test_unknown_names_are_404_naming_the_closest(api):
    answer = api.client.get("/performance", params={"model": "bert-base-uncsed"})
    assert answer.status_code == 404
    assert answer.json()["error"] == "unknown_name" and "bert-base-uncased" in answer.json()["message"]
    assert api.client.get("/compare/hardware", params={"model": "nope"}).status_code == 404
    assert api.client.get("/hardware/quantum-annealer").status_code == 404
    missing_run = api.client.get("/runs/123456")
    assert missing_run.status_code == 404 and "run ids go up to" in missing_run.json()["message"]


def test_small_lists_page_with_total_count(api):
    first = api.client.get("/hardware", params={"per_page": 4})
    total = int(first.headers["X-Total-Count"])
    assert total == 6 and len(first.json()) == 4 and 'rel="next"' in first.headers["Link"]
    second = api.client.get("/hardware", params={"per_page": 4, "page": 2})
    assert len(second.json()) == 2
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    labels = [h["hardware"] for h in first.json() + second.json()]
    assert len(set(labels)) == 6 and "cuda: NVIDIA T4" in labels
    models = api.client.get("/models")
    assert models.headers["X-Total-Count"] == "3"
    assert [m["model_name"] for m in models.json()] == ["bert-base-uncased", "t5-small", "vit-base-patch16-224"]
    over = api.client.get("/models", params={"per_page": 5000})
    assert over.status_code == 400 and over.json()["error"] == "invalid_request" and "per_page" in over.json()["message"]
    cells = api.client.get("/compatibility/matrix", params={"level": "model", "per_page": 3})
    assert len(cells.json()) == 3 and int(cells.headers["X-Total-Count"]) > 3


def test_comparisons(api):
    hw = api.client.get("/compare/hardware", params={"model": "bert-base-uncased", "metric": "latency"}).json()
    assert hw["columns"][:2] == ["batch_size", "precision"] and hw["columns"][-1] == "best"
    assert "cuda: NVIDIA A100-SXM4-80GB" in hw["columns"] and len(hw["rows"]) == 2
    best = {row[0]: row[-1] for row in hw["rows"]}
    assert best[1] == "cuda: NVIDIA A100-SXM4-80GB"  # lowest latency at batch 1
    models = api.client.get("/compare/models", params={"hardware": "cuda"}).json()
    assert {"bert-base-uncased", "t5-small", "vit-base-patch16-224"} <= set(models["columns"])
    runs = api.client.get("/compare/runs", params={"a": "1", "b": "12", "metric": "throughput"}).json()
    assert runs["side_a"]["run_ids"] == [1] and runs["side_b"]["run_ids"] == [12]
    verdicts = {(r[0], r[1], r[3]): r[-1] for r in runs["rows"]}
    assert verdicts[("bert-base-uncased", "cuda: NVIDIA A100-SXM4-80GB", 8)] == "worse"  # the sample's 30 % step
    assert api.client.get("/compare/runs", params={"a": "1", "b": "99999"}).status_code == 404
    bad_metric = api.client.get("/compare/hardware", params={"model": "t5-small", "metric": "speed"})
    assert bad_metric.status_code == 400 and "metric" in bad_metric.json()["message"]


def test_regressions_and_rankings(api):
    flags = api.client.get("/regressions", params={"model": "bert-base-uncased", "only_open": True,
                                                   "count_stale": True})
    assert flags.status_code == 200 and flags.headers["X-Stale-Series"] == "0"
    assert int(flags.headers["X-Total-Count"]) == len(flags.json()) > 0
    throughput = [f for f in flags.json() if f["metric"] == "throughput_items_per_second"]
    assert throughput and all(f["device_name"] == "NVIDIA A100-SXM4-80GB" and f["direction"] == "down"
                              for f in throughput)
    ranks = api.client.get("/rankings", params={"model": "t5-small", "batch_size": 8, "precision": "fp32"}).json()
    assert [r["topsis_rank"] for r in ranks] == list(range(1, len(ranks) + 1)) and len(ranks) == 4
    pareto = api.client.get("/rankings", params={"model": "t5-small", "pareto_only": True}).json()
    assert pareto and all(r["pareto_optimal"] for r in pareto)


def _tested(cells: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(c["subject"], c["hardware_type"]): (c["tests"], c["compatible_tests"]) for c in cells if c["tests"]}


def test_the_dashboard_endpoints_take_a_time_range(api):
    """The sample's compatibility tests are all of 2025-03-01 but one of t5-small on openvino (03-02); its performance
    results run from 03-01 to 03-12, with bert on the A100 30 % slower from 03-09."""
    cells = api.client.get("/compatibility/matrix", params={"level": "model", "per_page": 1000}).json()
    late = api.client.get("/compatibility/matrix", params={"level": "model", "per_page": 1000, "since": "2025-03-02"})
    early = api.client.get("/compatibility/matrix", params={"level": "model", "per_page": 1000,
                                                            "until": "2025-03-02T00:00:00Z"})
    assert late.status_code == early.status_code == 200
    assert len(_tested(cells)) == 8 and _tested(late.json()) == {("t5-small", "openvino"): (1, 1)}
    assert _tested(early.json()) == {**_tested(cells), ("t5-small", "openvino"): (1, 0)}  # without 03-02's pass
    assert {(c["subject"], c["hardware_type"]) for c in late.json()} == {(c["subject"], c["hardware_type"])
                                                                          for c in cells}  # the rest: untested
    assert [c["status"] for c in late.json() if c["subject"] == "bert-base-uncased"] == ["untested"] * len(
        [c for c in cells if c["subject"] == "bert-base-uncased"])
    families = api.client.get("/compatibility/matrix", params={"level": "family", "since": "2025-03-02"}).json()
    assert "llama" in {c["subject"] for c in api.client.get("/compatibility/matrix", params={"level": "family"}).json()}
    assert "llama" not in {c["subject"] for c in families}  # known only from a test before the range
    # The whole history computed from the facts is what the derived table holds.
    assert api.client.get("/compatibility/matrix", params={"per_page": 1000, "since": "1970-01-01"}).json() == \
        api.client.get("/compatibility/matrix", params={"per_page": 1000}).json()

    everything = api.client.get("/rankings", params={"model": "bert-base-uncased", "per_page": 1000}).json()
    ranked_late = api.client.get("/rankings", params={"model": "bert-base-uncased", "since": "2025-03-10"}).json()
    assert len(ranked_late) == len(everything) > 0
    a100 = "cuda: NVIDIA A100-SXM4-80GB"

    def throughput(rows):
        return {(r["batch_size"], r["precision"]): r["throughput_items_per_second"] for r in rows
                if r["hardware"] == a100}

    assert throughput(everything) and throughput(ranked_late).keys() == throughput(everything).keys()
    assert all(throughput(ranked_late)[k] < 0.8 * v for k, v in throughput(everything).items())  # the step
    nothing = api.client.get("/rankings", params={"model": "bert-base-uncased", "since": "2025-04-01"})
    assert nothing.status_code == 200 and nothing.json() == [] and nothing.headers["X-Total-Count"] == "0"
    one_day = api.client.get("/rankings", params={"model": "t5-small", "batch_size": 8, "precision": "fp32",
                                                  "since": "2025-03-05", "until": "2025-03-06"})
    assert [r["topsis_rank"] for r in one_day.json()] == [1, 2, 3, 4] and one_day.headers["X-Total-Count"] == "4"
    that_day = api.client.get("/performance", params={"model": "t5-small", "batch_size": 8, "precision": "fp32",
                                                      "since": "2025-03-05", "until": "2025-03-06",
                                                      "include_simulated": False}).json()["items"]
    assert {r["hardware"]: r["throughput_items_per_second"] for r in one_day.json()} == {
        r["hardware"]: r["throughput_items_per_second"] for r in that_day}  # one result each that day: the median
    assert api.client.get("/rankings", params={"per_page": 1000, "since": "1970-01-01"}).json() == \
        api.client.get("/rankings", params={"per_page": 1000}).json()

    compare = api.client.get("/compare/hardware", params={"model": "bert-base-uncased"}).json()
    before_step = api.client.get("/compare/hardware", params={"model": "bert-base-uncased",
                                                              "until": "2025-03-09T00:00:00Z"}).json()
    column = compare["columns"].index(a100)
    assert len(compare["rows"]) == len(before_step["rows"]) == 2
    assert all(b[column] > a[column] for a, b in zip(compare["rows"], before_step["rows"]))
    empty = api.client.get("/compare/hardware", params={"model": "bert-base-uncased", "since": "2025-03-05",
                                                        "until": "2025-03-05"}).json()
    assert empty["rows"] == []


@pytest.mark.parametrize("path, params", [("/compatibility/matrix", {}), ("/rankings", {}),
                                          ("/compare/hardware", {"model": "t5-small"})])
def test_a_time_range_the_wrong_way_round_is_refused(api, path, params):
    answer = api.client.get(path, params={**params, "since": "2025-03-10", "until": "2025-03-02T12:00:00+02:00"})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert "until (2025-03-02T12:00:00+02:00) is before since (2025-03-10T00:00:00+00:00)" in body["message"]


def test_reports_in_three_formats(api):
    markdown = api.client.get("/reports/summary")
    assert markdown.headers["content-type"].startswith("text/markdown") and markdown.text.startswith("# ")
    report = api.client.get("/reports/performance", params={"format": "json", "model": "t5-small"}).json()
    assert report["kind"] == "performance" and report["filters"]["model"] == "t5-small"
    html = api.client.get("/v1/reports/summary", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and 'src="plotly.min.js"' in html.text
    bundle = api.client.get("/v1/reports/plotly.min.js")  # what that page loads from beside itself
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    assert api.client.get("/reports/weekly").status_code == 400


def test_health(api, tmp_path, api_factory):
    health = api.client.get("/health").json()
    assert health["status"] == "ok" and health["warehouse_reachable"] and health["schema_version"] >= 7
    assert health["open_regressions"] > 0 and health["last_ingest_at"] and health["performance_results"] == 276
    empty = api_factory(tmp_path / "nothing" / "w.duckdb").client.get("/health")
    assert empty.status_code == 200 and empty.json()["status"] == "empty"


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT content FROM read_text('/etc/hostname')",
    "COPY (SELECT 1) TO '/tmp/rest-escape.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "DELETE FROM models",
    "SELECT 1; SELECT 2",
])
def test_query_cannot_leave_the_warehouse(api, sql):
    answer = api.client.post("/query", json={"sql": sql})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in ("query_refused", "query_failed")
    assert "root:" not in answer.text


def test_query_reads_the_warehouse_within_its_limits(api):
    answer = api.client.post("/query", json={"sql": "SELECT model_name, count(*) AS n FROM performance_results "
                                                    "JOIN models USING (model_id) GROUP BY 1 ORDER BY 1",
                                             "max_rows": 2}).json()
    assert answer["columns"] == ["model_name", "n"] and answer["truncated"] and answer["row_count"] == 2
    assert answer["rows"][0] == ["bert-base-uncased", 108]
    typed = api.client.post("/query", json={"sql": "SELECT DATE '2025-01-02' d, 1.5::DECIMAL(4,2) x, 'a'::BLOB b, "
                                                   "[1, 2] l, 'nan'::DOUBLE f"}).json()
    assert typed["rows"] == [["2025-01-02", 1.5, "YQ==", [1, 2], None]]
    assert api.client.post("/query", json={"sql": "SELECT 1", "timeout_s": 60}).status_code == 400


def test_reads_need_a_token_beyond_loopback(warehouse, api_factory):
    remote = api_factory(warehouse, reads_need_token=True)
    refused = remote.client.get("/performance")
    assert refused.status_code == 401 and refused.json()["error"] == "missing_token"
    assert remote.client.post("/query", json={"sql": "SELECT 1"}).status_code == 401
    assert remote.client.get("/performance", headers=remote.auth("read")).status_code == 200
    assert remote.client.get("/models", headers=remote.auth("admin")).status_code == 200
    assert remote.client.get("/health").json()["error"] == "missing_token"
    assert remote.client.get("/").status_code == 200  # the page itself; its data calls need the token


def test_errors_are_json_without_traceback(api):
    for method, path, kwargs in [("get", "/no/such/path", {}), ("delete", "/performance", {}),
                                 ("get", "/performance", {"params": {"limit": "many"}}),
                                 ("get", "/performance", {"params": {"batch_size": 2**40}}),
                                 ("post", "/query", {"content": b"not json", "headers":
                                                     {"content-type": "application/json"}}),
                                 ("get", "/runs/abc", {})]:
        answer = getattr(api.client, method)(path, **kwargs)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        body = answer.json()
        assert set(body) <= {"error", "message", "detail"} and body["message"], body
        assert "Traceback" not in answer.text and 'File "' not in answer.text


def test_reads_during_another_process_write_are_answered_from_the_state_before_it(warehouse, api_factory):
    from benchmark_pipeline.service import BenchmarkService
    from benchmark_pipeline_tests.conftest import perf_record, writer_held

    served = api_factory(warehouse, env={"BENCHMARK_API_WAIT_S": "0.5"})
    before = served.client.get("/performance", params={"limit": 1000})
    assert before.status_code == 200 and float(before.headers["X-Data-Age"]) == 0.0
    BenchmarkService(warehouse).ingest_records("performance", perf_record(batch_size=777))
    with writer_held(warehouse, 4):  # the write above finished unseen; another process writes now
        during = served.client.get("/performance", params={"limit": 1000})
        health = served.client.get("/health").json()
    assert during.status_code == 200  # no wait, no 503: the last copy answers
    assert len(during.json()["items"]) == len(before.json()["items"])
    assert float(during.headers["X-Data-Age"]) > 0 and during.headers["X-Data-As-Of"] == before.headers["X-Data-As-Of"]
    assert health["status"] == "ok" and health["data_age_s"] > 0
    after = served.client.get("/performance", params={"limit": 1000})
    assert len(after.json()["items"]) == len(before.json()["items"]) + 1  # the finished write, once the writer left
    assert float(after.headers["X-Data-Age"]) == 0.0 and served.client.get("/health").json()["data_age_s"] == 0


def test_a_busy_warehouse_before_the_first_read_is_a_503_with_retry_after(warehouse, api_factory):
    from benchmark_pipeline_tests.conftest import writer_held

    busy = api_factory(warehouse, env={"BENCHMARK_API_WAIT_S": "0.5"})
    with writer_held(warehouse, 6):  # the server has no copy to answer from yet
        answer = busy.client.get("/models")
        health = busy.client.get("/health")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"] == "warehouse_busy" and "retry after 5 s" in answer.json()["message"]
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert busy.client.get("/models").status_code == 200  # once the other writer is done


def test_openapi_describes_every_endpoint_parameter_and_response(api):
    spec = api.client.get("/openapi.json").json()
    expected = {("post", "/performance"), ("post", "/compatibility"), ("post", "/integration"), ("post", "/ingest"),
                ("get", "/performance"), ("get", "/compatibility"), ("get", "/integration"),
                ("get", "/compatibility/matrix"), ("get", "/models"), ("get", "/models/{model_name}"),
                ("get", "/hardware"), ("get", "/hardware/{hardware}"), ("get", "/runs/{run_id}"),
                ("get", "/compare/hardware"), ("get", "/compare/models"), ("get", "/compare/runs"),
                ("get", "/regressions"), ("post", "/regressions/{flag_id}/ack"), ("post", "/regressions/{flag_id}/mute"),
                ("post", "/regressions/update"), ("get", "/rankings"), ("get", "/reports/{kind}"), ("get", "/health"),
                ("post", "/query"), ("get", "/snapshots"), ("post", "/snapshots"),
                ("post", "/snapshots/{cid}/restore"), ("get", "/llm/use-cases"), ("get", "/llm/sla"),
                ("get", "/llm/costs"), ("get", "/llm/pareto"), ("get", "/llm/rankings"), ("get", "/llm/suitability"),
                ("get", "/llm/daily")}
    found = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert found == expected
    undescribed = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not op.get("description") or not op.get("summary"):
                undescribed.append(f"{method} {path}: no description")
            for param in op.get("parameters", []):
                if not param.get("description"):
                    undescribed.append(f"{method} {path}: parameter {param['name']}")
            for status, response in op["responses"].items():
                if not response.get("description"):
                    undescribed.append(f"{method} {path}: response {status}")
                if status.startswith("2") and method == "get" and not response.get("content"):
                    undescribed.append(f"{method} {path}: response {status} has no schema")
            if "422" in op["responses"] and "HTTPValidationError" in str(op["responses"]["422"]):
                undescribed.append(f"{method} {path}: documents FastAPI's 422, which this API never sends")
    assert undescribed == []
    schemas = spec["components"]["schemas"]
    assert [name for name, body in schemas.items() if not body.get("description")
            and not name.startswith("Report_")] == []  # report.schema.json's own $defs keep their form
    for name in ("SubmissionOut", "PerformancePage", "ErrorOut", "HealthOut", "Report", "Report_section"):
        assert name in schemas
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(spec).replace("'", '"')))
    assert refs <= set(schemas)
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert api.client.get("/docs").status_code == 200 and "/static/docs/swagger-ui-bundle.js" in api.client.get(
        "/docs").text
    assert api.client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
