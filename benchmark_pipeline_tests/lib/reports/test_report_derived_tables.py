"""Reports read the derived tables (issue 13): the same report as computing from the facts, without computing.

Two copies of one sample warehouse: the one the ingest left (derived tables current) and one whose
derived tables are dropped, as in a warehouse from before them, where every builder computes from
the facts. Every report that uses a derived table must come out the same from both, filters
included. Then the facts are changed behind the refresh's back: a report that still recomputed
would show the change, one that reads the stored rows does not.
"""

import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest

from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations
from benchmark_pipeline.lib.reports.build import build_report
from benchmark_pipeline.lib.reports.render import to_json
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES
from benchmark_pipeline.service.samples import build_sample_warehouse

# The report kinds that show a derived table (the regressions report reads none).
KINDS = ("summary", "performance", "compatibility", "hardware", "model")
FILTERS = {
    "none": q.Filters(),
    "model": q.Filters(model="T5-SMALL"),                 # case-insensitive, as on the facts
    "device": q.Filters(hardware="NVIDIA T4"),            # ranked first only among the rows the filter keeps
    "model and hardware": q.Filters(model="bert-base-uncased", hardware="cpu"),
    "since a day": q.Filters(since=date(2025, 3, 4)),    # daily stats from the table, the rest from the facts
}
ORDER = {"hardware_comparison": "model_name, batch_size, precision, throughput_rank, hardware",
         "model_comparison": "hardware, batch_size, precision, throughput_rank, model_name",
         "daily_model_stats": "model_name, day", "compatibility_matrix": "level DESC, subject, hardware_type",
         "hardware_recommendations": "model_name, batch_size, precision, topsis_rank, hardware"}


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """(with the derived tables, without them): the same facts."""
    root = tmp_path_factory.mktemp("derived")
    stored = build_sample_warehouse(root, days=6, step_day=4)
    computed = root / "no-derived.duckdb"
    shutil.copy(stored, computed)
    with duckdb.connect(str(computed)) as rw:
        for table in DERIVED_TABLES:
            rw.execute(f"DROP TABLE {table}")
    return stored, computed


def _document(db, kind, filters):
    with duckdb.connect(str(db), read_only=True) as conn:
        document = to_json(build_report(conn, kind, filters))
    document.pop("generated_at")
    return document


@pytest.mark.parametrize("name", FILTERS)
def test_a_report_from_the_derived_tables_equals_the_report_computed_from_the_facts(warehouses, name):
    stored, computed = warehouses
    filters = FILTERS[name]
    with duckdb.connect(str(stored), read_only=True) as conn:
        answered = {t for t in ORDER if q.read_derived(conn, t, filters) is not None}
    with duckdb.connect(str(computed), read_only=True) as conn:
        assert all(q.read_derived(conn, t, filters) is None for t in ORDER)  # nothing to read: computed
    # The comparison is between the two paths, not computing twice: the tables answer what they can.
    expected = {"since a day": {"daily_model_stats"},
                "device": set(ORDER) - {"daily_model_stats", "hardware_recommendations"},
                "model and hardware": set(ORDER) - {"daily_model_stats", "hardware_recommendations"}}
    assert answered == expected.get(name, set(ORDER))
    for kind in KINDS:
        assert _document(stored, kind, filters) == _document(computed, kind, filters), (name, kind)


@pytest.mark.parametrize("name", FILTERS)
def test_read_derived_gives_the_fact_query_exactly(warehouses, name):
    """Same columns, dtypes, order and values, to the last bit, wherever the table answers."""
    stored, _ = warehouses
    filters = FILTERS[name]
    compute = {"hardware_comparison": q.hardware_comparison, "model_comparison": q.model_comparison,
               "daily_model_stats": q.daily_model_stats, "compatibility_matrix": q.compatibility_matrix,
               "hardware_recommendations": lambda c, f: hardware_recommendations(q.hardware_comparison(c, f))}
    with duckdb.connect(str(stored), read_only=True) as conn:
        for table, fn in compute.items():
            read = q.read_derived(conn, table, filters)
            if read is not None:
                pd.testing.assert_frame_equal(read, fn(conn, filters), check_exact=True, obj=f"{table} {name}")


def test_filtered_rows_are_ranked_among_themselves(warehouses):
    """The T4 is second of the bert b1 group overall, first among the T4 rows: the rank follows the filter."""
    stored, _ = warehouses
    with duckdb.connect(str(stored), read_only=True) as conn:
        overall = conn.execute("SELECT throughput_rank FROM hardware_comparison WHERE model_name = 'bert-base-uncased' "
                               "AND batch_size = 1 AND device_name = 'NVIDIA T4'").fetchone()[0]
        t4 = q.read_derived(conn, "hardware_comparison", FILTERS["device"])
        report = build_report(conn, "performance", FILTERS["device"])
        models = q.read_derived(conn, "model_comparison", FILTERS["model"])
    assert overall > 1 and set(t4["throughput_rank"]) == {1} and set(t4["device_name"]) == {"NVIDIA T4"}
    fastest = next(s for s in report.sections if s.id == "hardware-comparison")
    assert len(fastest.shown) == len(t4) and set(fastest.shown["hardware"]) == {"cuda: NVIDIA T4"}
    assert set(models["model_name"]) == {"t5-small"} and set(models["relative_throughput"]) == {1.0}


@pytest.fixture()
def stale(warehouses, tmp_path):
    """The stored warehouse with its facts changed by plain SQL: the derived tables still hold the old answer."""
    db = tmp_path / "stale.duckdb"
    shutil.copy(warehouses[0], db)
    with duckdb.connect(str(db)) as rw:
        before = {t: rw.execute(f"SELECT * FROM {t} ORDER BY {o}").df() for t, o in ORDER.items()}
        rw.execute("UPDATE performance_results SET throughput_items_per_second = throughput_items_per_second * 3 "
                   "WHERE hardware_id IN (SELECT hardware_id FROM hardware_platforms WHERE hardware_type = 'cpu')")
        rw.execute("UPDATE hardware_compatibility SET is_compatible = NOT is_compatible")
    return db, before


def _section(report, section_id):
    return next(s for s in report.sections if s.id == section_id)


def test_reports_read_the_stored_rows_instead_of_recomputing(stale):
    db, before = stale
    with duckdb.connect(str(db), read_only=True) as conn:
        facts = {"hardware_comparison": q.hardware_comparison(conn), "model_comparison": q.model_comparison(conn),
                 "daily_model_stats": q.daily_model_stats(conn), "compatibility_matrix": q.compatibility_matrix(conn)}
        facts["hardware_recommendations"] = hardware_recommendations(facts["hardware_comparison"])
        reports = {kind: build_report(conn, kind) for kind in KINDS}
    for table, frame in facts.items():  # the facts now answer differently ...
        assert not frame.equals(before[table].astype(frame.dtypes.to_dict())), table
    # ... and every report shows what the tables hold.
    pd.testing.assert_frame_equal(_section(reports["performance"], "hardware-comparison").table,
                                  before["hardware_comparison"], check_exact=True)
    pd.testing.assert_frame_equal(_section(reports["summary"], "throughput-bars").table,
                                  before["hardware_comparison"], check_exact=True)
    pd.testing.assert_frame_equal(_section(reports["model"], "model-comparison").table,
                                  before["model_comparison"], check_exact=True)
    pd.testing.assert_frame_equal(_section(reports["model"], "daily-stats").table,
                                  before["daily_model_stats"], check_exact=True)
    recs = _section(reports["hardware"], "recommendations").table
    pd.testing.assert_frame_equal(recs, before["hardware_recommendations"].astype(recs.dtypes.to_dict()),
                                  check_exact=True)
    tested = _section(reports["compatibility"], "failing-cells").table
    stored_tested = before["compatibility_matrix"]
    stored_tested = stored_tested[stored_tested["status"] != "untested"].drop(columns=["model_family"])
    pd.testing.assert_frame_equal(tested, stored_tested, check_exact=True)


def test_filters_the_tables_cannot_answer_are_computed_from_the_facts(stale):
    """Simulated rows and a since within a day are not in the stored aggregates: those reports see the facts."""
    db, before = stale
    moment = pd.Timestamp("2025-03-03T12:00:00Z").to_pydatetime()
    with duckdb.connect(str(db), read_only=True) as conn:
        for filters in (q.Filters(include_simulated=True), q.Filters(since=moment)):
            report = build_report(conn, "model", filters)
            daily = _section(report, "daily-stats").table
            pd.testing.assert_frame_equal(daily, q.daily_model_stats(conn, filters), check_exact=True)
            assert not daily.equals(before["daily_model_stats"])


def test_a_derived_table_of_an_older_shape_is_not_read(stale):
    db, _before = stale
    with duckdb.connect(str(db)) as rw:
        rw.execute("ALTER TABLE model_comparison DROP COLUMN relative_throughput")
    with duckdb.connect(str(db), read_only=True) as conn:
        assert q.read_derived(conn, "model_comparison") is None
        report = build_report(conn, "model")
        pd.testing.assert_frame_equal(_section(report, "model-comparison").table, q.model_comparison(conn),
                                      check_exact=True)


def test_an_unknown_table_is_refused(warehouses):
    with duckdb.connect(str(warehouses[0]), read_only=True) as conn:
        with pytest.raises(ValueError, match="not a derived table"):
            q.read_derived(conn, "performance_results")
