"""The Dagster definitions as the UI and CI see them."""

import dagster as dg

from benchmark_pipeline.definitions import defs


def _resolved() -> dg.Definitions:
    return defs() if callable(defs) else defs


def test_benchmark_job_selects_every_asset_and_runs_in_process():
    definitions = _resolved()
    job = definitions.resolve_job_def("benchmark_job")
    graph = definitions.resolve_asset_graph()
    materializable = {node.key for node in graph.asset_nodes if node.is_materializable}
    assert materializable and job.asset_layer.selected_asset_keys == materializable
    assert job.executor_def.name == "in_process"


def test_every_asset_has_a_description_and_kinds():
    for node in _resolved().resolve_asset_graph().asset_nodes:
        assert node.description, f"{node.key} has no description"
        assert node.kinds, f"{node.key} has no kinds"


def test_every_step_that_opens_the_warehouse_is_in_the_duckdb_pool():
    definitions = _resolved()
    steps = [node.assets_def for node in definitions.resolve_asset_graph().asset_nodes]
    steps += list(definitions.asset_checks or [])
    for step in steps:
        if "warehouse" in step.required_resource_keys:
            pools = {op.pool for op in step.node_def.iterate_op_defs()}
            assert pools == {"duckdb"}, f"{step.node_def.name} opens the warehouse outside pool duckdb"
