"""The flag review of the regressions report (issue 18): per flagged series its runs, the noise band, the change.

The sample warehouse has a 30 % throughput drop on bert/A100 from day 8; detection runs on it for
real (``refresh_flags``), so the flags, their noise and their floors are detection's own. The band
is checked against the noise model recomputed here from the facts, not against the report's numbers.
"""

import json
import re
import shutil

import duckdb
import jsonschema
import numpy as np
import pytest

from benchmark_pipeline.lib.analytics.queries import Filters, regression_flags
from benchmark_pipeline.lib.changepoint.noise import DEFAULT_CHANGE_NOISE, DEFAULT_OUTLIER_NOISE, noise_scale
from benchmark_pipeline.lib.reports import flag_review
from benchmark_pipeline.lib.reports.build import MAX_FLAG_PANELS, build_report
from benchmark_pipeline.lib.reports.render import SCHEMA_PATH, render, to_json
from benchmark_pipeline.lib.warehouse.regressions import list_flags, refresh_flags, set_threshold
from benchmark_pipeline.service.samples import build_sample_warehouse

SCHEMA = json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def flagged(tmp_path_factory):
    db = build_sample_warehouse(tmp_path_factory.mktemp("flagged"), days=16, step_day=8)
    with duckdb.connect(str(db)) as rw:
        refresh_flags(rw)
    return db


@pytest.fixture()
def copy(flagged, tmp_path):
    target = tmp_path / "copy.duckdb"
    shutil.copy(flagged, target)
    return target


def _report(db, filters=Filters()):
    with duckdb.connect(str(db), read_only=True) as conn:
        return build_report(conn, "regressions", filters)


def _review(report):
    return next(s for s in report.sections if s.id == "flag-review")


def _values(conn, flag):
    """The series' values as detection reads them: non-simulated, finite, in run order."""
    metric = flag["metric"]
    return np.array([v for (v,) in conn.execute(f"""
        SELECT p.{metric} FROM performance_results p JOIN models m USING (model_id)
        WHERE m.model_name = ? AND p.hardware_id = ? AND p.batch_size = ? AND p.precision IS NOT DISTINCT FROM ?
          AND p.test_case = ? AND NOT p.is_simulated AND isfinite(p.{metric})
        ORDER BY p.run_time, p.result_id""", [flag["model_name"], int(flag["hardware_id"]), int(flag["batch_size"]),
                                               flag["precision"], flag["test_case"]]).fetchall()])


def _flag(conn, flag_id):
    return list_flags(conn).set_index("flag_id").loc[flag_id].to_dict() | {"flag_id": flag_id}


def test_one_panel_per_flagged_series_open_regressions_first_capped(flagged):
    report = _report(flagged)
    ids = [s.id for s in report.sections]
    assert ids.index("open-regressions") < ids.index("flag-review") < ids.index("flags") < ids.index("trend-throughput")
    section = _review(report)
    with duckdb.connect(str(flagged), read_only=True) as conn:
        flags = list_flags(conn)
    total = flags["series_id"].nunique()
    assert total > MAX_FLAG_PANELS  # the sample has more flagged series than panels: the cap is exercised
    panels = section.flag_review
    assert len(panels) == MAX_FLAG_PANELS == len(section.figure.layout.annotations)
    assert f"{MAX_FLAG_PANELS} of {total} flagged series are drawn; {total - MAX_FLAG_PANELS} more" in section.text
    assert len({(p["series"], p["metric"]) for p in panels}) == len(panels)  # one panel per series
    opened = [p["open"] for p in panels]
    assert opened == sorted(opened, reverse=True) and opened[0]  # open regressions first
    assert sum(opened) == flags.loc[flags["status"] == "open", "series_id"].nunique()
    titles = [a.text for a in section.figure.layout.annotations]
    assert all(t.startswith(p["series"]) and p["kind"] in t for t, p in zip(titles, panels))
    document = to_json(report)
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for panel in next(s for s in document["sections"] if s["id"] == "flag-review")["flag_review"]:
        points = panel["points"]
        assert len(points["run_time"]) == len(points["value"]) == len(points["offset"]) > 0
        assert points["offset"].count(0) == 1  # the flagged run is among them
        assert points["run_time"][points["offset"].index(0)] == panel["run_time"]


def test_the_band_is_detections_floor_around_the_level_before(flagged):
    panels = _review(_report(flagged)).flag_review
    checked = 0
    with duckdb.connect(str(flagged), read_only=True) as conn:
        for panel in panels:
            flag = _flag(conn, panel["flag_id"])
            noise = noise_scale(_values(conn, flag))  # the noise model, over the whole series, recomputed here
            assert panel["noise"] == pytest.approx(noise, rel=1e-9) and panel["noise_source"] == "detection"
            assert panel["level_before"] == pytest.approx(flag["mean_before"])
            assert panel["level_after"] == pytest.approx(flag["mean_after"])
            band = panel["band"]
            assert panel["confirmation"] == "confirmed" and panel["kind"] in ("regression", "improvement")
            assert band["floor"] == pytest.approx(DEFAULT_CHANGE_NOISE * noise) and band["rule"] == "3× noise"
            assert (band["low"], band["high"]) == pytest.approx((panel["level_before"] - band["floor"],
                                                                panel["level_before"] + band["floor"]))
            # Detection kept this change point because it cleared the floor: the new level is outside the band.
            assert not band["low"] < panel["level_after"] < band["high"]
            assert panel["noise_multiple"] == pytest.approx((panel["level_after"] - panel["level_before"]) / noise)
            if panel["kind"] == "regression" and panel["metric"] == "throughput_items_per_second":
                after = [v for v, o in zip(panel["points"]["value"], panel["points"]["offset"]) if o >= 0]
                assert all(v < band["low"] for v in after)  # the 30 % drop: every run since is below the band
            checked += 1
    assert checked == len(panels)


def test_markdown_has_a_line_per_flag_and_html_a_chart(flagged):
    report = _report(flagged)
    section = _review(report)
    markdown = render(report, "markdown")
    block = markdown.split("## Flagged series")[1].split("\n## ")[0]
    rows = [line for line in block.splitlines() if line.startswith("| ") and "flag id" not in line]
    assert len(rows) == len(section.flag_review)
    for row, panel in zip(rows, section.flag_review):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[0] == panel["series"] and cells[-1] == panel["flag_id"]
        assert cells[2].startswith(f"{panel['kind']} · {panel['confirmation']}")
        assert re.fullmatch(r"[+\u2212]\d+\.\d% · [\d.,]+× noise", cells[6]), cells[6]
        assert cells[7].startswith("± ") and cells[7].endswith("(3× noise)")
    page = render(report, "html")
    assert 'id="chart-flag-review"' in page and "noise band" in page
    bands = [t for t in section.figure.data if t.name == "noise band"]
    assert len(bands) == len(section.flag_review) and all(t.fill == "toself" for t in bands)


def test_the_cap_counts_the_open_regressions_left_out(flagged):
    with duckdb.connect(str(flagged), read_only=True) as conn:
        flags = regression_flags(conn)
        review = flag_review.build_review(conn, flags, Filters(), limit=3)
        open_series = list_flags(conn, only_open=True)["series_id"].nunique()
    assert len(review.panels) == 3 and all(p.is_open for p in review.panels)
    assert review.hidden_open == open_series - 3 and review.total_series == flags["series_id"].nunique()


def test_filters_narrow_the_review(flagged):
    section = _review(_report(flagged, Filters(model="t5-small")))
    assert section.flag_review and {p["series"].split(" · ")[0] for p in section.flag_review} == {"t5-small"}
    assert "flagged series are drawn" not in section.text  # every t5 series fits: no line about more


def test_a_suspected_last_run_is_hollow_and_judged_by_the_outlier_floor(copy):
    with duckdb.connect(str(copy)) as rw:  # the last t5/T4 b8 run halves: beyond the floor, not confirmed yet
        rw.execute("""UPDATE performance_results SET throughput_items_per_second = throughput_items_per_second / 2
                      WHERE result_id = (SELECT max(p.result_id) FROM performance_results p
                                         JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
                                         WHERE m.model_name = 't5-small' AND h.device_name = 'NVIDIA T4'
                                           AND p.batch_size = 8 AND NOT p.is_simulated)""")
        refresh_flags(rw)
    section = _review(_report(copy))
    panels = section.flag_review
    suspected = [i for i, p in enumerate(panels) if p["confirmation"] == "suspected"]
    assert len(suspected) == 1
    panel = panels[suspected[0]]
    assert panel["series"].startswith("t5-small · cuda: NVIDIA T4 · b8") and panel["kind"] == "regression"
    assert panel["open"] and all(p["open"] and p["confirmation"] == "confirmed" for p in panels[:suspected[0]])
    assert max(panel["points"]["offset"]) == 0  # the last run is the flagged one
    with duckdb.connect(str(copy), read_only=True) as conn:
        noise = noise_scale(_values(conn, _flag(conn, panel["flag_id"])))
    assert panel["band"]["floor"] == pytest.approx(DEFAULT_OUTLIER_NOISE * noise) and panel["band"]["rule"] == "5× noise"
    assert panel["level_after"] < panel["band"]["low"]
    hollow = [t for t in section.figure.data if t.name == "regression (suspected)"]
    assert len(hollow) == 1 and hollow[0].marker.symbol == "triangle-down-open"
    assert "regression · suspected · open" in render(_report(copy), "markdown")


def test_a_user_threshold_is_the_band(copy):
    with duckdb.connect(str(copy)) as rw:
        set_threshold(rw, "relative", 0.1, metric="throughput_items_per_second", by="test")
        refresh_flags(rw)  # the threshold re-analyses the throughput series: the 3 % t5 step is no longer a change
    panels = [p for p in _review(_report(copy)).flag_review if p["metric"] == "throughput_items_per_second"]
    assert {p["series"].split(" · ")[0] for p in panels} == {"bert-base-uncased"}
    with duckdb.connect(str(copy), read_only=True) as conn:
        for panel in panels:
            values = _values(conn, _flag(conn, panel["flag_id"]))
            assert panel["band"]["rule"] == "10 %"
            assert panel["band"]["floor"] == pytest.approx(0.1 * float(np.median(values)))  # detection's level


def test_flags_without_a_stored_noise_take_it_from_the_points_drawn(copy):
    with duckdb.connect(str(copy)) as rw:  # as Otava-mode flags, or a table from before the noise columns
        rw.execute("UPDATE regression_flags SET noise = NULL, noise_floor = NULL")
    for panel in _review(_report(copy)).flag_review:
        assert panel["noise_source"] == "points shown"
        assert panel["noise"] == pytest.approx(noise_scale(panel["points"]["value"]))
        assert panel["band"]["floor"] == pytest.approx(DEFAULT_CHANGE_NOISE * panel["noise"])


def test_no_flags_no_review(tmp_path):
    report = _report(build_sample_warehouse(tmp_path, days=3))
    assert "flag-review" not in [s.id for s in report.sections]
