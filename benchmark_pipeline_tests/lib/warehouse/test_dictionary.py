"""The column dictionary covers every table a real warehouse ends up with, derived tables included."""

import dagster as dg
import duckdb

from benchmark_pipeline.defs.analytics.regressions import regression_flags
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.lib.names import closest_names, unknown_name_message
from benchmark_pipeline.lib.analytics.live_types import live_types
from benchmark_pipeline.lib.warehouse.dictionary import COLUMNS, DERIVED_TABLES, dictionary
from benchmark_pipeline.lib.warehouse.schema import migrate

# The ingest (through the service) builds the derived tables; regression_flags adds its own.
TABLE_ASSETS = [regression_flags]


def test_every_table_of_a_built_warehouse_has_every_column_in_the_dictionary(tmp_path):
    db = build_sample_warehouse(tmp_path, days=4)
    resources = {"warehouse": WarehouseResource(db_path=str(db)), "data_dirs": DataDirs(root=str(tmp_path / "data"))}
    assert dg.materialize(TABLE_ASSETS, resources=resources).success
    documented = dictionary()
    with duckdb.connect(str(db), read_only=True) as conn:
        live = {(t, c): d for t, c, d in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main'").fetchall()}
    tables = {t for t, _ in live}
    assert set(DERIVED_TABLES) <= tables, "a derived table the ingest no longer builds"
    undocumented = sorted(f"{t}.{c}" for t, c in live if c not in documented.get(t, {}))
    assert undocumented == [], "columns missing from lib/warehouse/dictionary.py"
    stale = sorted(f"{t}.{c}" for t in DERIVED_TABLES for c in documented[t] if (t, c) not in live)
    assert stale == [], "documented derived columns that the assets do not write"
    for table in DERIVED_TABLES:
        assert all(unit is not None and description for unit, description in documented[table].values())

    # `benchmark-db schema` types the derived tables without a built warehouse: same types as the real ones.
    fresh = duckdb.connect()
    migrate(fresh)
    typed = live_types(fresh)
    derived = {k: v for k, v in live.items() if k[0] in DERIVED_TABLES}
    assert {k: typed.get(k) for k in derived} == derived


def test_derived_tables_are_apart_from_the_migrated_ones():
    assert not set(DERIVED_TABLES) & set(COLUMNS)
    assert list(dictionary())[:len(COLUMNS)] == list(COLUMNS)


def test_closest_names_ignores_case_and_prefers_what_contains_the_typo():
    known = ["bert-base-uncased", "t5-small", "vit-base-patch16-224", "NVIDIA T4", "NVIDIA A100-SXM4-80GB"]
    assert closest_names("BERT", known) == ["bert-base-uncased"]
    assert closest_names("t5-smal", known)[0] == "t5-small"
    assert closest_names("nvidia a100", known) == ["NVIDIA A100-SXM4-80GB"]
    assert len(closest_names("zzz", known)) == 3  # nothing close: still the three most alike
    assert closest_names("x", []) == []
    message = unknown_name_message("model", "t5-smal", known[:3], "benchmark-db query ...")
    assert message == "no model named 't5-smal'; did you mean: t5-small (all 3: benchmark-db query ...)"
    assert unknown_name_message("model", "zzz", known[:3]).startswith("no model named 'zzz'; closest known: ")
    assert unknown_name_message("model", "x", []) == "no model named 'x'; none known yet"
