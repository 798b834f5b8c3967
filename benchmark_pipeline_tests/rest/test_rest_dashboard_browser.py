"""The dashboard in real headless chromium, served by the real server: it loads and draws its four charts from the
API, changing a filter changes what is drawn (the time range every chart), every request stays on the server (no
CDN), and the console stays clean; its LLM-serving panel shows what /llm/rankings and /llm/pareto answer, or says
plainly that there is nothing to show. The screenshots are kept in test-artifacts/rest/ (git-ignored)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest

from benchmark_pipeline_tests.rest.chromium_cdp import Browser, chromium_binary
from benchmark_pipeline_tests.rest.server_process import running_server

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "rest"
READY = "document.body && document.body.dataset.state === 'ready' && window.__dashboard.renders >= {n}"


def _drawn(browser: Browser) -> dict:
    return json.loads(browser.evaluate("JSON.stringify(window.__dashboard.drawn)"))


def _change(browser: Browser, control: str, value: str, renders: int) -> dict:
    browser.evaluate(f"(function(){{var c=document.getElementById({json.dumps(control)}); c.value={json.dumps(value)};"
                     f"c.dispatchEvent(new Event('change')); return c.value}})()")
    browser.wait_for(READY.format(n=renders))
    return _drawn(browser)


def test_dashboard_draws_and_follows_its_filters(warehouse, tmp_path):
    binary = chromium_binary()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    with running_server(warehouse, tmp_path / "server.log") as base:
        browser = Browser(binary, tmp_path / "profile")
        try:
            browser.navigate(f"{base}/")
            browser.wait_for(READY.format(n=1))
            state = json.loads(browser.evaluate("JSON.stringify(window.__dashboard.state)"))
            assert state["model"] == "bert-base-uncased" and state["metric"] == "throughput"  # the busiest model
            first = _drawn(browser)
            assert first["comparison"]["traces"] == 4  # the sample's four hardware platforms
            assert first["heatmap"]["traces"] >= 1 and first["rankings"]["traces"] >= 1
            assert first["trend"]["traces"] >= 8 and first["flags"]["shown"] >= 1  # the A100 step, flagged
            assert browser.evaluate("document.querySelectorAll('.js-plotly-plot svg.main-svg').length") >= 4
            assert browser.evaluate("document.querySelectorAll('#ranking-table tbody tr').length") > 0
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)")) == []
            browser.screenshot(shot)

            latency = _change(browser, "metric", "latency", 2)
            before = {t["name"]: t["y"] for t in first["comparison"]["data"]}
            after = {t["name"]: t["y"] for t in latency["comparison"]["data"]}
            assert before.keys() == after.keys() and before != after
            a100 = "cuda: NVIDIA A100-SXM4-80GB"
            assert all(lat < thr for lat, thr in zip(after[a100], before[a100]))  # ms, not items/s
            assert "metric=latency" in browser.evaluate("location.search")

            on_t4 = _change(browser, "hardware", "NVIDIA T4", 3)
            assert [t["name"] for t in on_t4["comparison"]["data"]] == ["cuda: NVIDIA T4"]
            assert all(name.startswith("cuda: NVIDIA T4") for name in
                       (t["name"] for t in on_t4["trend"]["data"] if t["name"] not in ("regressions", "improvements")))

            late = _change(browser, "since", "2025-03-10", 4)
            dates = [x for t in late["trend"]["data"] for x in (t["x"] or [])]
            assert dates and min(dates) >= "2025-03-10"
            assert min(x for t in on_t4["trend"]["data"] for x in (t["x"] or [])) < "2025-03-10"

            problems = browser.problems()
            urls = [u for u in browser.requested_urls() if not u.startswith("data:")]

            # A control page proves the collection sees what it must: without it, a probe that heard nothing
            # would pass.
            seen = len(problems)
            browser.navigate("data:text/html,<script>console.error('control-error');notDefined()</script>")
            control = browser.problems()[seen:]
        finally:
            browser.close()
    assert problems == [], problems
    assert any("control-error" in p for p in control) and any("notDefined" in p for p in control), control
    assert urls and all(u.startswith(base) for u in urls), [u for u in urls if not u.startswith(base)]
    assert shot.exists() and shot.stat().st_size > 20_000


def _heatmap_scores(drawn: dict) -> dict[tuple[str, str], float]:
    """The coloured cells of the heatmap (its second trace; the first is the grey of unknown cells)."""
    trace = drawn["heatmap"]["data"][1]
    return {(re.sub(r"</?b>", "", subject), kind): score for subject, row in zip(trace["y"], trace["z"])
            for kind, score in zip(trace["x"], row) if score is not None}


def _ranking_scores(drawn: dict) -> dict[str, dict[str, float]]:
    return {t["name"]: dict(zip(t["y"], t["x"])) for t in drawn["rankings"].get("data", [])}


def _api_heatmap(base: str, **span: str) -> dict[tuple[str, str], float]:
    cells = httpx2.get(f"{base}/compatibility/matrix", params={"level": "model", "per_page": 1000, **span}).json()
    return {(c["subject"], c["hardware_type"]): c["score"] for c in cells if c["score"] is not None}


def _api_rankings(base: str, model: str, **span: str) -> dict[str, dict[str, float]]:
    rows = httpx2.get(f"{base}/rankings", params={"model": model, "per_page": 200, **span}).json()
    groups: dict[str, dict[str, float]] = {}
    for r in rows:
        groups.setdefault(f"batch {r['batch_size']} · {r['precision']}", {})[r["hardware"]] = r["topsis_score"]
    return groups


def test_the_time_range_narrows_every_chart(warehouse, tmp_path):
    """The sample's compatibility tests are of 2025-03-01 but one (t5-small on openvino, 03-02); bert on the A100 is
    30 % slower from 03-09. Each chart must be what its endpoint answers for the range picked, nothing else."""
    binary = chromium_binary()
    with running_server(warehouse, tmp_path / "server.log") as base:
        browser = Browser(binary, tmp_path / "profile")
        try:
            browser.navigate(f"{base}/")
            browser.wait_for(READY.format(n=1))
            model = json.loads(browser.evaluate("JSON.stringify(window.__dashboard.state)"))["model"]
            first = _drawn(browser)
            assert _heatmap_scores(first) == _api_heatmap(base) and len(_heatmap_scores(first)) == 8
            assert _ranking_scores(first) == _api_rankings(base, model) != {}

            late = _change(browser, "since", "2025-03-02", 2)
            assert _heatmap_scores(late) == _api_heatmap(base, since="2025-03-02") == {("t5-small", "openvino"): 1.0}
            after_step = _change(browser, "since", "2025-03-10", 3)
            assert _heatmap_scores(after_step) == {}  # no compatibility test in the range: every cell grey
            assert after_step["heatmap"]["traces"] == 2
            ranked = _ranking_scores(after_step)
            assert ranked == _api_rankings(base, model, since="2025-03-10") and ranked.keys() == \
                _ranking_scores(first).keys() and ranked != _ranking_scores(first)
            before = {t["name"]: t["y"] for t in first["comparison"]["data"]}
            assert {t["name"]: t["y"] for t in after_step["comparison"]["data"]} != before
            assert "since=2025-03-10" in browser.evaluate("location.search")

            swapped = _change(browser, "until", "2025-03-05", 4)  # To before From: said once, nothing asked
            errors = json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)"))
            assert errors == ["From (2025-03-10) is after To (2025-03-05): pick a From on or before To."]
            assert browser.evaluate("document.getElementById('error').textContent") == errors[0]
            assert all(swapped[chart]["message"] == errors[0] for chart in ("comparison", "heatmap", "rankings"))

            early = _change(browser, "since", "", 5)  # up to and including 03-05: until is the next midnight
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)")) == []
            assert _heatmap_scores(early) == _api_heatmap(base, until="2025-03-06T00:00:00Z") == \
                _heatmap_scores(first)  # both of t5-small's openvino tests are before 03-06
            ranked = _ranking_scores(early)
            assert ranked == _api_rankings(base, model, until="2025-03-06T00:00:00Z") != _ranking_scores(first)
            dates = [x for t in early["trend"]["data"] for x in (t["x"] or [])]
            assert dates and max(dates) < "2025-03-06"
            problems = browser.problems()
        finally:
            browser.close()
    assert problems == [], problems


def test_dashboard_asks_for_a_token_when_reads_need_one(warehouse, tmp_path):
    from benchmark_pipeline_tests.rest.server_process import token

    binary = chromium_binary()
    reader = token(warehouse, "read")
    with running_server(warehouse, tmp_path / "server.log", "--require-token") as base:
        browser = Browser(binary, tmp_path / "profile")
        try:
            browser.navigate(f"{base}/")
            browser.wait_for("!document.getElementById('token-field').hidden && document.body.dataset.state === "
                             "'error'")
            assert "token" in browser.evaluate("document.getElementById('error').textContent")
            browser.evaluate(f"(function(){{var t=document.getElementById('token'); t.value={json.dumps(reader)};"
                             "t.dispatchEvent(new Event('change')); return 1})()")
            browser.wait_for(READY.format(n=1))
            assert _drawn(browser)["comparison"]["traces"] == 4
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)")) == []
        finally:
            browser.close()


def _llm_rows(browser: Browser) -> list[dict]:
    """The LLM ranking table as drawn: per row its result id and, per column header, the text and the number."""
    return json.loads(browser.evaluate("""JSON.stringify((function () {
        var heads = Array.prototype.map.call(document.querySelectorAll('#llm-table thead th'),
                                             function (th) { return th.textContent; });
        return Array.prototype.map.call(document.querySelectorAll('#llm-table tbody tr'), function (tr) {
          var cells = {};
          Array.prototype.forEach.call(tr.cells, function (td, i) {
            cells[heads[i]] = {text: td.textContent, value: td.dataset.value === undefined ? null
                                                                  : Number(td.dataset.value)};
          });
          return {result_id: Number(tr.dataset.resultId), cells: cells};
        });
    })())"""))


def _assert_llm_table(rows: list[dict], ranking: dict) -> None:
    assert [r["result_id"] for r in rows] == [r["result_id"] for r in ranking["rankings"]]
    numbers = {"#": "rank_position", "score": "composite_score", "TTFT p90 ms": "ttft_ms_p90",
               "tokens/s per user": "user_tokens_per_s", "tokens/s per GPU": "output_tokens_per_s_per_gpu",
               "$/1M output tokens": "usd_per_million_output_tokens"}
    for row, answer in zip(rows, ranking["rankings"]):
        cells = row["cells"]
        assert {column: cells[column]["value"] for column in numbers} == \
            {column: answer[key] for column, key in numbers.items()}, row
        assert cells["model"]["text"] == answer["model_name"]
        assert cells["quant."]["text"] == (answer["quantization"] or "")
        assert cells["GPU × count"]["text"] == f"{answer['gpu_count']}× {answer['gpu']}"
        assert cells["framework"]["text"] == f"{answer['framework']} {answer['framework_version']}"
        assert cells["concurrency"]["text"] == str(answer["concurrency"])


def test_the_llm_panel_shows_its_endpoints(warehouse, tmp_path):
    """The sample plus the five vLLM runs of llm_runs.py: 3 configurations meet the chatbot SLA, all 4 of
    them are ranked for batch generation, none meets code completion's 30 tokens/s per user."""
    from benchmark_pipeline.service import BenchmarkService
    from benchmark_pipeline_tests.llm_runs import write_llm_drops

    BenchmarkService(warehouse).ingest_paths([str(p) for p in write_llm_drops(tmp_path / "llm")])
    binary = chromium_binary()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard-llm.png"
    shot.unlink(missing_ok=True)
    with running_server(warehouse, tmp_path / "server.log") as base:
        browser = Browser(binary, tmp_path / "profile")
        try:
            browser.navigate(f"{base}/")
            browser.wait_for(READY.format(n=1))
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.state)"))["use_case"] == "chatbot"
            chatbot = httpx2.get(f"{base}/llm/rankings", params={"use_case": "chatbot", "limit": 15}).json()
            rows = _llm_rows(browser)
            assert len(rows) == chatbot["candidates"] == 3
            _assert_llm_table(rows, chatbot)
            assert browser.evaluate("document.getElementById('llm-message').hidden") is True

            pareto = httpx2.get(f"{base}/llm/pareto").json()
            drawn = {t["name"]: list(zip(t["x"], t["y"])) for t in _drawn(browser)["llm-pareto"]["data"]}
            points = {p["on_front"]: [] for p in pareto["points"]}
            for p in pareto["points"]:
                points[p["on_front"]].append((p["user_tokens_per_s"], p["output_tokens_per_s_per_gpu"]))
            assert drawn == {"Pareto front": points[True], "dominated": points[False]}
            assert len(points[True]) == 1 and len(points[False]) == 4  # the H100 at 64 users beats the rest on both
            _clip(browser, shot, "llm")

            batch = _change(browser, "use-case", "batch-generation", 2)
            assert batch["llm"]["use_case"] == "batch-generation"
            ranking = httpx2.get(f"{base}/llm/rankings", params={"use_case": "batch-generation", "limit": 15}).json()
            _assert_llm_table(_llm_rows(browser), ranking)
            assert len(ranking["rankings"]) == 4 and "use_case=batch-generation" in browser.evaluate("location.search")

            nothing = _change(browser, "use-case", "code-completion", 3)
            assert _llm_rows(browser) == [] and nothing["llm"]["rows"] == []
            assert nothing["llm"]["message"].startswith("No configuration meets the code-completion use case")
            assert nothing["llm-pareto"]["traces"] == 2  # the front is the same whatever the use case
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)")) == []
            problems = browser.problems()
        finally:
            browser.close()
    assert problems == [], problems
    assert shot.exists() and shot.stat().st_size > 20_000


def _clip(browser: Browser, path: Path, element_id: str) -> None:
    """A screenshot of one element, scrolled to the top of the viewport (a capture beyond the viewport resizes the
    page, which moves what is below the charts)."""
    import base64

    box = json.loads(browser.evaluate(f"(function(){{var e=document.getElementById({json.dumps(element_id)}); "
                                      "e.scrollIntoView(); var r=e.getBoundingClientRect(); return JSON.stringify("
                                      "{x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, "
                                      "height: r.height})})()"))
    data = browser.send("Page.captureScreenshot", {"format": "png", "clip": {**box, "scale": 1}})["data"]
    path.write_bytes(base64.b64decode(data))


def test_the_llm_panel_says_plainly_when_there_are_no_llm_results(warehouse, tmp_path):
    import duckdb

    with duckdb.connect(str(warehouse)) as conn:  # whatever LLM results the sample has, none counts as measured
        conn.execute("UPDATE llm_serving_results SET is_simulated = true")
    with running_server(warehouse, tmp_path / "server.log") as base:
        browser = Browser(chromium_binary(), tmp_path / "profile")
        try:
            browser.navigate(f"{base}/")
            browser.wait_for(READY.format(n=1))
            drawn = _drawn(browser)
            message = browser.evaluate("document.getElementById('llm-message').textContent")
            assert message.startswith("No LLM-serving results in this warehouse yet")
            assert browser.evaluate("document.getElementById('llm-message').hidden") is False
            assert drawn["llm-pareto"] == {"traces": 0, "message": message} and _llm_rows(browser) == []
            assert drawn["comparison"]["traces"] == 4  # the rest of the dashboard as ever
            assert json.loads(browser.evaluate("JSON.stringify(window.__dashboard.errors)")) == []
            problems = browser.problems()
        finally:
            browser.close()
    assert problems == [], problems
