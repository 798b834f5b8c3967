"""Each HTML report opened in headless chromium: every chart rendered to SVG, no script error, a screenshot kept.

The page is instrumented in a copy: a first script records ``error`` / ``unhandledrejection``
events and ``console.error`` calls, a last one (a second after ``load``: plotly draws
asynchronously) writes them and the per-chart SVG count into a body attribute that ``--dump-dom``
prints. That works whatever chromium's logging format is this year. The probe also measures
sideways scroll at 1400 px (``scrollWidth > clientWidth`` of the document) and reads every drawn
bar trace (``gd.data``, ``gd._fullLayout.barmode``): two bars of one trace in one category, or a
stacked bar mode, would add up rows that are not a sum.
Screenshots land in ``test-artifacts/reports/`` (git-ignored). Without chromium the test skips,
except under ``CI=true`` where a missing browser is a failure.
"""

import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.lib.reports.build import KINDS, build_report
from benchmark_pipeline.lib.reports.render import ensure_plotly_js, write
from benchmark_pipeline.lib.warehouse.regressions import refresh_flags
from benchmark_pipeline_tests.rest.chromium_cdp import chromium_binary

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
var de=document.documentElement;res.scroll=[de.scrollWidth,de.clientWidth];res.bars=0;res.stacked=[];
plots.forEach(function(p){var mode=p._fullLayout&&p._fullLayout.barmode;(p.data||[]).forEach(function(t){
if(t.type!=='bar')return;res.bars++;if(mode!=='group'&&mode!=='overlay')res.stacked.push(p.id+': barmode '+mode);
var seen={};(t.x||[]).forEach(function(x){var k=(t.xaxis||'x')+'|'+x;if(seen[k])res.stacked.push(p.id+': '+t.name+' twice at '+x);
seen[k]=1})})});
document.body.setAttribute('data-probe',JSON.stringify(res))},1000)});</script>"""


@pytest.fixture(scope="module")
def html_reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    db = build_sample_warehouse(root)
    with duckdb.connect(str(db)) as rw:  # two precisions per model, batch and hardware, as in data/sample
        rw.execute("""INSERT INTO performance_results SELECT * REPLACE (result_id + 10000000 AS result_id,
                          'fp16' AS precision, throughput_items_per_second * 1.7 AS throughput_items_per_second)
                      FROM performance_results""")
        refresh_flags(rw)  # real flags: the regressions page draws its flag review (one chart per flagged series)
    with duckdb.connect(str(db), read_only=True) as conn:
        reports = {kind: build_report(conn, kind) for kind in KINDS}
    assert any(s.id == "flag-review" and s.figure is not None for s in reports["regressions"].sections)
    return {kind: write(report, "html", root / f"{kind}.html") for kind, report in reports.items()}


def _instrumented(page: Path, out: Path) -> Path:
    html = page.read_text(encoding="utf-8")
    html = html.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1)
    out.write_text(html, encoding="utf-8")
    return out


def _launch(binary: str, page: Path, profile: Path, shot: Path) -> subprocess.Popen:
    args = [binary, *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,2400", f"--screenshot={shot}",
            "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_html_reports_render_in_chromium(html_reports, tmp_path):
    binary = chromium_binary()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A control page proves the probe sees errors, sideways scroll and stacked bars: without it, a
    # probe that never ran (or measured nothing) would pass.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><head><script src="plotly.min.js"></script></head><body>'
                       '<div style="width:2000px">wide</div><div id="c"></div><script>'
                       'Plotly.newPlot("c",[{type:"bar",x:["a","a"],y:[1,2]}],{barmode:"stack"});'
                       'notDefined()</script></body></html>')
    procs = {}
    ensure_plotly_js(tmp_path)  # the instrumented copies load the shared bundle from beside them
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
            if not probe["scroll"][0] > probe["scroll"][1] or not probe["stacked"]:
                failures.append(f"control page: the probe missed the sideways scroll or the stacked bar ({probe})")
            continue
        expected = html_reports[kind].read_text(encoding="utf-8").count("Plotly.newPlot")
        if probe["errors"]:
            failures.append(f"{kind}: script errors {probe['errors']}")
        if not (probe["plots"] == probe["svg"] == expected > 0):
            failures.append(f"{kind}: {expected} charts expected, {probe['plots']} plotly containers, "
                            f"{probe['svg']} with an SVG plot")
        if probe["traces"] < expected or probe["gl"]:
            failures.append(f"{kind}: {probe['traces']} drawn traces, {probe['gl']} WebGL canvases")
        width, client = probe["scroll"]
        if width > client:
            failures.append(f"{kind}: the page scrolls sideways at 1400 px ({width} > {client} px)")
        if probe["stacked"]:
            failures.append(f"{kind}: bars that add up rows: {probe['stacked'][:5]}")
        if kind in ("summary", "performance", "hardware", "model") and not probe["bars"]:
            failures.append(f"{kind}: no bar trace reached the page")
        if "Uncaught" in stderr:
            failures.append(f"{kind}: uncaught error in the browser log: {stderr[-800:]}")
        if not shot.exists() or shot.stat().st_size < 10_000:
            failures.append(f"{kind}: no usable screenshot at {shot}")
    assert not failures, "\n".join(failures)
