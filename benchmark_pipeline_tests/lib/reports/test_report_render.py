"""Every report kind in every format: JSON valid against the committed schema, HTML self-contained with SVG traces."""

import json
import re

import duckdb
import jsonschema
import pytest

from benchmark_pipeline.lib.analytics.queries import Filters
from benchmark_pipeline.lib.analytics.synthetic import build_sample_warehouse
from benchmark_pipeline.lib.reports.build import KINDS, build_report
from benchmark_pipeline.lib.reports.render import SCHEMA_PATH, render, to_json
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


def test_summary_holds_statistics_heatmap_bars_and_trend(reports):
    report = reports["summary"]
    charts = {s.chart_type for s in report.sections if s.figure is not None}
    assert {"heatmap", "bar", "line"} <= charts
    stats = report.sections[0].table.set_index("statistic")["value"]
    assert stats["models benchmarked"] == "3" and stats["integration pass rate"] == "80.0 %"
    markdown = render(report, "markdown")
    for heading in ("## Summary statistics", "## Compatibility matrix", "## Median throughput", "## Trend:",
                    "## Recent results"):
        assert heading in markdown
    assert "| t5-small " in markdown and "◐ 50%" in markdown


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_self_contained_with_svg_traces_only(reports, kind):
    page = render(reports[kind], "html")
    assert page.count("<script") >= 1 and re.search(r"<script[^>]+src=", page) is None
    assert page.count("Plotly.newPlot") == sum(s.figure is not None for s in reports[kind].sections)
    assert page.count("plotly.js v") <= 2  # the bundle's banner, embedded once
    figures = [s.figure for s in reports[kind].sections if s.figure is not None]
    assert figures
    assert all(trace.type in {"heatmap", "bar", "scatter"} for fig in figures for trace in fig.data)
    assert "cdn.plot.ly/plotly" not in page.split("<body>", 1)[1][:2000]


def test_hardware_report_has_a_pareto_scatter_per_model(reports):
    sections = [s for s in reports["hardware"].sections if s.id.startswith("pareto-")]
    assert len(sections) == 3 and all(s.chart_type == "scatter" for s in sections)


def test_regressions_report_counts_flags(reports):
    first = reports["regressions"].sections[0]
    assert first.table is not None and first.text.startswith("0 flags, 0 open")


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


def test_trend_charts_mark_regression_flags(tmp_path):
    db = build_sample_warehouse(tmp_path, days=10)
    with duckdb.connect(str(db)) as rw:
        rw.execute("""INSERT INTO regression_flags
            SELECT 'f1', 's1', m.model_name, p.hardware_id, 'fp', 'cuda', NULL, p.batch_size, NULL, p.precision,
                   p.test_case, 'throughput_items_per_second', 'regression', 'down', 8, p.run_id, p.result_id,
                   p.run_time, 360, 5, 250, 5, -30.0, 0.0001, true, false, 10, 'robust', now()
            FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            WHERE m.model_name = 'bert-base-uncased' AND h.device_name LIKE '%A100%' AND p.batch_size = 1
              AND NOT p.is_simulated ORDER BY p.run_time LIMIT 1 OFFSET 8""")
    with duckdb.connect(str(db), read_only=True) as conn:
        report = build_report(conn, "regressions", Filters(model="bert-base-uncased"))
    trend = next(s for s in report.sections if s.id == "trend-throughput")
    marks = [t for t in trend.figure.data if t.name == "regression"]
    assert len(marks) == 1 and len(marks[0].x) == 1 and marks[0].marker.symbol == "triangle-down"
    assert report.sections[0].text.startswith("1 flags, 1 open")
    assert not [t for t in next(s for s in report.sections if s.id == "trend-memory").figure.data
                if t.name == "regression"]
