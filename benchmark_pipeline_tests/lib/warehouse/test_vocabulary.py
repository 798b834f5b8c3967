"""The shared vocabularies agree with what the warehouse, ingest and detection actually use."""

import duckdb

from benchmark_pipeline.lib import vocabulary
from benchmark_pipeline.lib.analytics.filters import METRICS as COMPARE_METRICS
from benchmark_pipeline.lib.ingest.fields import PERFORMANCE_METRICS
from benchmark_pipeline.lib.warehouse.dictionary import COLUMNS, DERIVED_COLUMNS
from benchmark_pipeline.lib.warehouse.schema import migrate


def test_stored_tables_are_the_migrated_ones():
    conn = duckdb.connect()
    migrate(conn)
    tables = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    assert set(vocabulary.WAREHOUSE_TABLES) | set(vocabulary.REGRESSION_TABLES) <= tables
    # Besides the ingest's tables, the migrations create only bookkeeping, the LLM answers and regression detection's.
    assert set(vocabulary.LLM_ANSWER_TABLES) <= tables
    others = tables - {"schema_version", *vocabulary.WAREHOUSE_TABLES, *vocabulary.LLM_ANSWER_TABLES}
    assert all(t.startswith("regression_") for t in others), others
    assert set(vocabulary.FACT_TABLES) <= set(vocabulary.WAREHOUSE_TABLES)
    assert sorted(vocabulary.RESULT_TABLES + vocabulary.CHILD_TABLES + vocabulary.RUN_TABLES) \
        == sorted(vocabulary.FACT_TABLES)
    assert list(DERIVED_COLUMNS) == list(vocabulary.DERIVED_TABLES)
    assert not set(vocabulary.DERIVED_TABLES) & set(COLUMNS)


def test_metric_units_match_the_column_dictionary_and_the_input_fields():
    documented = COLUMNS["performance_results"]
    accepted = {spec.name: spec.unit for spec in PERFORMANCE_METRICS}
    for column, metric in vocabulary.METRICS.items():
        assert metric.column == column
        assert documented[column][0] == metric.unit, column
        assert accepted[column] == metric.unit, column


def test_compare_metrics_keep_their_labels_and_directions():
    assert COMPARE_METRICS == {
        "throughput": ("throughput_items_per_second", "throughput (items/s)", True),
        "latency": ("latency_ms", "latency p50, else mean (ms)", False),
        "memory": ("memory_peak_mb", "peak memory (MB)", False),
        "power": ("power_watts", "power (W)", False),
        "efficiency": ("items_per_joule", "efficiency (items/J)", True),
    }


def test_ledger_statuses():
    assert set(vocabulary.ACTIVE_LEDGER_STATUSES) < set(vocabulary.LEDGER_STATUSES)
    assert set(vocabulary.LEDGER_STATUSES) - set(vocabulary.ACTIVE_LEDGER_STATUSES) == {"superseded", "retracted"}
