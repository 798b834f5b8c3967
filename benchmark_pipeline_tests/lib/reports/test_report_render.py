"""Every report kind in every format: JSON valid against the committed schema, HTML small with SVG traces,
bars that never add up different rows, short readable tables, trend charts that show what changed."""

import json
import re

import duckdb
import jsonschema
import pytest

from benchmark_pipeline.lib.analytics.queries import Filters
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.lib.reports.build import KINDS, MAX_SHOWN_ROWS, build_report
from benchmark_pipeline.lib.reports.render import PLOTLY_JS, SCHEMA_PATH, render, to_json, write
from benchmark_pipeline.lib.reports.tabular import TABLE_FORMATS, render_frame

SCHEMA = json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    db = build_sample_warehouse(tmp_path_factory.mktemp("reports"))
    with duckdb.connect(str(db), read_only=True) as conn:
        return {kind: build_report(conn, kind) for kind in KINDS}


def _validate(document):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for section in document["sections"]:
        if "table" in section:
            widths = {len(row) for row in section["table"]["rows"]}
            assert widths <= {len(section["table"]["columns"])}


@pytest.mark.parametrize("kind", KINDS)
def test_json_follows_the_schema(reports, kind):
    document = json.loads(render(reports[kind], "json"))
    _validate(document)
    assert document["kind"] == kind and document["sections"]


def test_schema_rejects_a_malformed_report(reports):
    document = to_json(reports["summary"])
    document["sections"][0]["table"]["rows"] = "not rows"
    with pytest.raises(jsonschema.ValidationError):
        _validate(document)


def test_summary_leads_with_the_headline_then_charts(reports):
    report = reports["summary"]
    charts = {s.chart_type for s in report.sections if s.figure is not None}
    assert {"heatmap", "bar", "line"} <= charts
    head = report.sections[0]
    assert head.id == "headline" and dict(head.stats)["models"] == "3"
    stats = head.table.set_index("statistic")["value"]  # every statistic stays in the JSON
    assert stats["models benchmarked"] == "3" and stats["integration pass rate"] == "80.0 %"
    markdown = render(report, "markdown")
    assert markdown.index("## At a glance") < markdown.index("## Trend:") < markdown.index("## Compatibility matrix")
    for heading in ("## Median throughput", "## Latest results"):
        assert heading in markdown
    assert "| t5-small " in markdown and "◐ 50%" in markdown


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_small_and_loads_the_shared_plotly_with_svg_traces_only(reports, kind, tmp_path):
    page = render(reports[kind], "html")
    assert len(page.encode()) < 300_000  # was 4.9 MB with plotly.js embedded in every page
    assert "plotly.js v" not in page and "cdn.plot.ly" not in page  # no bundle inside, no CDN
    assert re.findall(r"<script[^>]+src=\"([^\"]+)\"", page) == [PLOTLY_JS]
    assert page.count("Plotly.newPlot") == sum(s.figure is not None for s in reports[kind].sections)
    figures = [s.figure for s in reports[kind].sections if s.figure is not None]
    assert figures
    assert all(trace.type in {"heatmap", "bar", "scatter"} for fig in figures for trace in fig.data)
    written = write(reports[kind], "html", tmp_path / "out" / f"{kind}.html")
    bundle = written.parent / PLOTLY_JS  # beside the page, so it opens offline from disk
    assert bundle.stat().st_size > 1_000_000 and "plotly.js v" in bundle.read_text(encoding="utf-8")[:400]


def test_hardware_report_has_a_pareto_panel_per_model(reports):
    section = next(s for s in reports["hardware"].sections if s.id == "pareto")
    assert section.chart_type == "scatter"
    panels = {trace.xaxis for trace in section.figure.data}
    assert len(panels) == 3
    assert all(trace.cliponaxis is False for trace in section.figure.data)  # labels are never cut off


def test_regressions_report_counts_flags(reports):
    first = reports["regressions"].sections[0]
    assert first.id == "headline" and first.text.startswith("0 flags, 0 open")


def test_filters_narrow_a_report(tmp_path):
    db = build_sample_warehouse(tmp_path, days=3)
    with duckdb.connect(str(db), read_only=True) as conn:
        report = build_report(conn, "performance", Filters(model="t5-small", hardware="cuda"))
    table = next(s.table for s in report.sections if s.id == "hardware-comparison")
    assert set(table["model_name"]) == {"t5-small"} and set(table["hardware_type"]) == {"cuda"}
    assert to_json(report)["filters"]["model"] == "t5-small"


def test_empty_warehouse_still_renders(tmp_path):
    from benchmark_pipeline.lib.warehouse.connection import open_writer

    db = tmp_path / "empty.duckdb"
    with open_writer(db):
        pass
    with duckdb.connect(str(db), read_only=True) as conn:
        for kind in KINDS:
            report = build_report(conn, kind)
            for fmt in ("markdown", "html", "json"):
                assert render(report, fmt)
            _validate(to_json(report))


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_frames_render_in_every_table_format(fmt):
    import pandas as pd

    frame = pd.DataFrame({"name": ["a|b", None], "value": [1.23456789, float("nan")],
                          "when": pd.to_datetime(["2025-03-01T00:00:00Z", None], utc=True)})
    text = render_frame(frame, fmt)
    if fmt == "json":
        rows = json.loads(text)
        assert rows[1] == {"name": None, "value": None, "when": None}
        assert rows[0]["when"].startswith("2025-03-01T00:00:00")
    elif fmt == "markdown":
        assert "a\\|b" in text and "nan" not in text and "1.23457" in text
    elif fmt == "csv":
        assert text.splitlines()[0] == "name,value,when"


_FLAG_SQL = """INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint,
        hardware_type, device_name, batch_size, sequence_length, precision, test_case, metric, kind, direction,
        change_index, run_id, result_id, run_time, mean_before, stdev_before, mean_after, stdev_after, pct_change,
        pvalue, is_latest_change, recovered, series_points, mode, detected_at, confirmation, noise, noise_floor)
    SELECT 'f-' || p.result_id, 's1', m.model_name, p.hardware_id, 'fp', h.hardware_type, h.device_name, p.batch_size,
           p.sequence_length, p.precision, p.test_case, 'throughput_items_per_second', 'regression', 'down', 8,
           p.run_id, p.result_id, p.run_time, 360, 5, 250, 5, -30.0, 0.0001, true, false, 10, 'robust', now(), 'confirmed', 5.0, 25.0
    FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
    WHERE m.model_name = ? AND h.device_name LIKE ? AND p.batch_size = ? AND NOT p.is_simulated
    ORDER BY p.run_time LIMIT 1 OFFSET 8"""


def _panels(section):
    """The series of a trend figure, in panel order (the panel titles)."""
    return [a.text for a in section.figure.layout.annotations]


def test_trend_charts_mark_regression_flags(tmp_path):
    db = build_sample_warehouse(tmp_path, days=10)
    with duckdb.connect(str(db)) as rw:
        rw.execute(_FLAG_SQL, ["bert-base-uncased", "%A100%", 1])
    with duckdb.connect(str(db), read_only=True) as conn:
        report = build_report(conn, "regressions", Filters(model="bert-base-uncased"))
    trend = next(s for s in report.sections if s.id == "trend-throughput")
    marks = [t for t in trend.figure.data if t.name == "regression"]
    assert len(marks) == 1 and len(marks[0].x) == 1 and marks[0].marker.symbol == "triangle-down"
    assert _panels(trend)[0].startswith("bert-base-uncased · cuda: NVIDIA A100-SXM4-80GB · b1")
    assert report.sections[0].text.startswith("1 flags, 1 open")
    assert not [t for t in next(s for s in report.sections if s.id == "trend-memory").figure.data
                if t.name == "regression"]


def test_trend_charts_show_open_regressions_then_the_biggest_changes(tmp_path):
    """Not the alphabetically first series: the flagged one first, then the bert/A100 step of the sample data."""
    db = build_sample_warehouse(tmp_path, days=12, step_day=8)
    with duckdb.connect(str(db)) as rw:
        rw.execute(_FLAG_SQL, ["vit-base-patch16-224", "%T4%", 8])  # alphabetically last model
    with duckdb.connect(str(db), read_only=True) as conn:
        report = build_report(conn, "summary")
    trend = next(s for s in report.sections if s.id == "trend-throughput")
    panels = _panels(trend)
    assert 1 < len(panels) <= 6
    assert panels[0].startswith("vit-base-patch16-224 · cuda: NVIDIA T4 · b8")
    assert {p.split(" · b")[0] for p in panels[1:3]} == {"bert-base-uncased · cuda: NVIDIA A100-SXM4-80GB"}
    shown = trend.shown.set_index("series")
    assert shown.loc[panels[1], "% change"] < -20 and bool(shown.loc[panels[0], "open regression"])
    assert len(trend.table) == 3 * 4 * 2 - 2  # every series in the JSON (vit has no openvino)
    head = report.sections[0]
    assert any(b.startswith("vit-base-patch16-224 · cuda: NVIDIA T4 · b8") and "throughput" in b for b in head.bullets)


@pytest.fixture(scope="module")
def mixed_reports(tmp_path_factory):
    """The sample warehouse plus an fp16 twin of every result: two precisions per model, batch and hardware."""
    db = build_sample_warehouse(tmp_path_factory.mktemp("mixed"))
    with duckdb.connect(str(db)) as rw:
        rw.execute("""INSERT INTO performance_results SELECT * REPLACE (
                          result_id + 10000000 AS result_id, 'fp16' AS precision,
                          throughput_items_per_second * 1.7 AS throughput_items_per_second,
                          latency_p50_ms / 1.7 AS latency_p50_ms, latency_p99_ms / 1.7 AS latency_p99_ms)
                      FROM performance_results""")
    with duckdb.connect(str(db), read_only=True) as conn:
        return {kind: build_report(conn, kind) for kind in KINDS}


def test_bars_never_add_up_different_rows(mixed_reports):
    """Each bar is one row: no two bars of a trace share a category, and nothing is stacked.

    With fp16 and fp32 under one label, plotly drew both in one place (the A100 bar read
    1,092 + 613 items/s); the category now carries batch size and precision.
    """
    checked = 0
    for kind, report in mixed_reports.items():
        for section in report.sections:
            if section.figure is None or not any(t.type == "bar" for t in section.figure.data):
                continue
            assert section.figure.layout.barmode in ("group", "overlay"), (kind, section.id)
            for trace in section.figure.data:
                if trace.type != "bar":
                    continue
                categories = list(trace.x)
                assert len(categories) == len(set(categories)), (kind, section.id, trace.name, categories)
                assert any("fp16" in c for c in categories) or any("fp32" in c for c in categories)
                checked += 1
    assert checked >= 20


def test_a_bar_for_two_rows_is_refused():
    import pandas as pd

    from benchmark_pipeline.lib.reports.charts import faceted_bars

    frame = pd.DataFrame({"model": ["m", "m"], "config": ["b8", "b8"], "hw": ["a100", "a100"], "v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="two rows for one bar"):
        faceted_bars(frame, "model", "config", "v", "hw", "t", "items/s")


def _html_tables(page):
    return re.findall(r"<table>.*?</table>", page, flags=re.S)


@pytest.mark.parametrize("kind", KINDS)
def test_tables_are_short_and_readable(mixed_reports, kind):
    report = mixed_reports[kind]
    page, markdown = render(report, "html"), render(report, "markdown")
    tables = _html_tables(page)
    assert tables
    for table in tables:
        assert table.count("<tr>") - 1 <= MAX_SHOWN_ROWS
        assert len(re.findall(r"<th>", table)) <= 9  # the columns that matter fit on the screen
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
        for cell in cells:
            assert cell not in ("<NA>", "&lt;NA&gt;", "nan", "NaN", "None", "NaT"), (kind, cell)
            for number in re.findall(r"(?<![\w.])\d[\d,]*\.\d+(?![\w.])", cell):
                digits = number.replace(",", "").replace(".", "").lstrip("0")
                assert len(digits) <= 4, (kind, cell)  # 3-4 significant digits
    for block in re.split(r"\n\n", markdown):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len(rows) <= MAX_SHOWN_ROWS + 2
    assert "<NA>" not in markdown and "nan |" not in markdown
    # and the full data stays in the JSON
    document = to_json(report)
    total = sum(s["table"]["total_rows"] for s in document["sections"] if "table" in s)
    shown = sum(t.count("<tr>") - 1 for t in tables)
    assert total > shown or kind == "compatibility"


def test_every_report_leads_with_the_headline(mixed_reports):
    for kind, report in mixed_reports.items():
        assert report.sections[0].id == "headline" and report.sections[0].stats, kind
        assert render(report, "markdown").split("\n## ", 2)[1].startswith("At a glance")
