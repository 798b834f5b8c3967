"""The dashboard in real headless chromium, served by the real server: it loads and draws its four charts from the
API, changing a filter changes what is drawn, every request stays on the server (no CDN), and the console stays
clean. The screenshot is kept in test-artifacts/rest/ (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path

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
