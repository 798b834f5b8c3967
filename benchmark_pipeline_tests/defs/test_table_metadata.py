"""What the UI shows of the table assets: column schemas from the dictionary, previews with names, honest descriptions."""

from pathlib import Path

import dagster as dg
import pytest

from benchmark_pipeline.definitions import defs
from benchmark_pipeline.defs.metadata import preview_markdown
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import ingested_results
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES as DERIVED, WAREHOUSE_TABLES
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.warehouse.connection import open_reader

TABLE_ASSETS = [*WAREHOUSE_TABLES, *DERIVED, "regression_flags"]


def _nodes() -> dict[str, object]:
    definitions = defs() if callable(defs) else defs
    return {node.key.to_user_string(): node for node in definitions.resolve_asset_graph().asset_nodes}


def test_every_table_asset_declares_its_table_and_a_documented_column_schema():
    nodes = _nodes()
    declared = {key for key, node in nodes.items() if "dagster/table_name" in node.metadata}
    assert declared == set(TABLE_ASSETS)
    for key in TABLE_ASSETS:
        metadata = nodes[key].metadata
        assert metadata["dagster/table_name"] == f"main.{key}"
        schema = metadata.get("dagster/column_schema")
        assert isinstance(schema, dg.TableSchema) and schema.columns, f"{key}: no column schema"
        assert all(column.description for column in schema.columns), f"{key}: undocumented columns"


def test_column_descriptions_carry_the_unit():
    columns = {c.name: c for c in _nodes()["performance_results"].metadata["dagster/column_schema"].columns}
    assert columns["average_latency_ms"].description == "mean latency per batch [ms]"
    assert columns["model_id"].description == "models.model_id"  # no unit, no brackets


def test_descriptions_name_every_folder_the_job_scans():
    definitions = defs() if callable(defs) else defs
    job = definitions.resolve_job_def("benchmark_job")
    discovered = ingested_results.op.description
    for text in (job.description, discovered):
        assert all(folder in text for folder in ("data/incoming", "data/legacy", "data/sample")), text
    assert DataDirs(root="/x").ingest_roots() == [Path("/x/incoming"), Path("/x/legacy"), Path("/x/sample")]


def test_preview_shows_missing_values_as_empty_cells_and_cuts_long_texts():
    import pandas as pd

    frame = pd.DataFrame({"model": ["bert", None], "latency": [1.5, float("nan")], "extra": ["x" * 200, "{}"]})
    text = preview_markdown(frame)
    assert "nan" not in text and "None" not in text
    assert "x" * 57 + "..." in text and "x" * 58 not in text


@pytest.fixture
def ingested(tmp_path: Path):
    write_sample(tmp_path / "data" / "sample")
    resources = {
        "warehouse": WarehouseResource(db_path=str(tmp_path / "w.duckdb")),
        "data_dirs": DataDirs(root=str(tmp_path / "data")),
    }
    result = dg.materialize([ingested_results], resources=resources)
    assert result.success
    return tmp_path / "w.duckdb", {e.asset_key.to_user_string(): e.materialization.metadata
                                   for e in result.get_asset_materialization_events()}


def test_warehouse_previews_name_models_and_hardware_and_schemas_carry_live_types(ingested):
    db, metadata = ingested
    with open_reader(db) as conn:
        models = {row[0] for row in conn.execute("SELECT model_name FROM models").fetchall()}
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'performance_results'").fetchall())
    preview = metadata["performance_results"]["preview"].value
    header = preview.splitlines()[0]
    assert "| model " in header and "| hardware " in header
    assert "model_id" not in header and "hardware_id" not in header
    assert any(name in preview for name in models)
    cells = {cell.strip() for line in preview.splitlines()[2:] for cell in line.split("|")}
    assert not cells & {"nan", "None", "NaT", "<NA>"}
    assert any(": " in cell for cell in cells)  # "cuda: NVIDIA A100-SXM4-80GB"
    # The dimension itself keeps its key.
    assert "model_id" in metadata["models"]["preview"].value.splitlines()[0]
    schema = metadata["performance_results"]["dagster/column_schema"].value
    live = {c.name: c for c in schema.columns}
    assert {name: c.type for name, c in live.items()} == types
    assert live["throughput_items_per_second"].description == "throughput [items/s]"
    for table in WAREHOUSE_TABLES:
        assert metadata[table]["dagster/column_schema"].value.columns, table


def test_derived_table_materializations_carry_column_schemas(ingested):
    _db, metadata_by_key = ingested
    for key in DERIVED:
        metadata = metadata_by_key[key]
        schema = metadata["dagster/column_schema"].value
        assert schema.columns and all(c.type != "unknown" for c in schema.columns), key
        assert "nan" not in metadata["preview"].value
