"""The dashboard in real headless chromium, served by the real server: it loads and draws its four charts from the
API, changing a filter changes what is drawn (the time range every chart), every request stays on the server (no
CDN), and the console stays clean. The screenshot is kept in test-artifacts/rest/ (git-ignored)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
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
    cells = httpx.get(f"{base}/compatibility/matrix", params={"level": "model", "per_page": 1000, **span}).json()
    return {(c["subject"], c["hardware_type"]): c["score"] for c in cells if c["score"] is not None}


def _api_rankings(base: str, model: str, **span: str) -> dict[str, dict[str, float]]:
    rows = httpx.get(f"{base}/rankings", params={"model": model, "per_page": 200, **span}).json()
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
