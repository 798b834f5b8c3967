"""Each HTML report opened in headless chromium: every chart rendered to SVG, no script error, a screenshot kept.

The page is instrumented in a copy: a first script records ``error`` / ``unhandledrejection``
events and ``console.error`` calls, a last one (a second after ``load``: plotly draws
asynchronously) writes them and the per-chart SVG count into a body attribute that ``--dump-dom``
prints. That works whatever chromium's logging format is this year.
Screenshots land in ``test-artifacts/reports/`` (git-ignored). Without chromium the test skips,
except under ``CI=true`` where a missing browser is a failure.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.analytics.synthetic import build_sample_warehouse
from benchmark_pipeline.lib.reports.build import KINDS, build_report
from benchmark_pipeline.lib.reports.render import write

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "reports"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PROBE_HEAD = """<script>window.__errs=[];
addEventListener('error',function(e){__errs.push('error: '+(e.message||e.type))});
addEventListener('unhandledrejection',function(e){__errs.push('rejection: '+e.reason)});
(function(){var ce=console.error;console.error=function(){__errs.push('console: '+Array.prototype.join.call(arguments,' '));
ce.apply(console,arguments)}})();</script>"""
PROBE_TAIL = """<script>addEventListener('load',function(){setTimeout(function(){var plots=document.querySelectorAll('.js-plotly-plot');
var res={errors:__errs,plots:plots.length,svg:0,traces:0,gl:document.querySelectorAll('canvas.gl-canvas').length};
plots.forEach(function(p){var n=p.querySelectorAll('svg.main-svg .trace, svg.main-svg .hm').length;
if(n)res.svg++;res.traces+=n});
document.body.setAttribute('data-probe',JSON.stringify(res))},1000)});</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed; CI must install it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def html_reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    db = build_sample_warehouse(root)
    with duckdb.connect(str(db), read_only=True) as conn:
        return {kind: write(build_report(conn, kind), "html", root / f"{kind}.html") for kind in KINDS}


def _instrumented(page: Path, out: Path) -> Path:
    html = page.read_text(encoding="utf-8")
    html = html.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1)
    out.write_text(html, encoding="utf-8")
    return out


def _launch(binary: str, page: Path, profile: Path, shot: Path) -> subprocess.Popen:
    args = [binary, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,2400", f"--screenshot={shot}",
            "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_html_reports_render_in_chromium(html_reports, tmp_path):
    binary = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A control page proves the probe sees errors: without it, a probe that never ran would pass.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><head></head><body><script>notDefined()</script></body></html>')
    procs = {}
    for kind, page in {**html_reports, "control": control}.items():
        probe_page = _instrumented(page, tmp_path / f"{kind}.probe.html")
        shot = ARTIFACTS / f"{kind}.png" if kind != "control" else tmp_path / "control.png"
        shot.unlink(missing_ok=True)
        procs[kind] = (_launch(binary, probe_page, tmp_path / f"profile-{kind}", shot), shot)
    failures = []
    for kind, (proc, shot) in procs.items():  # all launched at once: ~4 s each, mostly waiting
        try:
            dom, stderr = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            failures.append(f"{kind}: chromium timed out")
            continue
        match = re.search(r"data-probe=\"([^\"]*)\"", dom)
        if proc.returncode != 0 or not match:
            failures.append(f"{kind}: chromium exit {proc.returncode}, no probe result; stderr: {stderr[-800:]}")
            continue
        probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        if kind == "control":
            if not any("notDefined" in e for e in probe["errors"]):
                failures.append(f"control page: the probe missed its error ({probe})")
            continue
        expected = html_reports[kind].read_text(encoding="utf-8").count("Plotly.newPlot")
        if probe["errors"]:
            failures.append(f"{kind}: script errors {probe['errors']}")
        if not (probe["plots"] == probe["svg"] == expected > 0):
            failures.append(f"{kind}: {expected} charts expected, {probe['plots']} plotly containers, "
                            f"{probe['svg']} with an SVG plot")
        if probe["traces"] < expected or probe["gl"]:
            failures.append(f"{kind}: {probe['traces']} drawn traces, {probe['gl']} WebGL canvases")
        if "Uncaught" in stderr:
            failures.append(f"{kind}: uncaught error in the browser log: {stderr[-800:]}")
        if not shot.exists() or shot.stat().st_size < 10_000:
            failures.append(f"{kind}: no usable screenshot at {shot}")
    assert not failures, "\n".join(failures)
