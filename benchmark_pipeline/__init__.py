"""benchmark_pipeline: benchmark results in, a validated DuckDB warehouse and its answers out.

``from benchmark_pipeline import BenchmarkDB`` gives the Python API (``benchmark_pipeline.api``); it is
imported on first use so that ``benchmark-db --help`` and the Dagster code server do not pay for it.
"""

__all__ = ["BenchmarkDB"]


def __getattr__(name: str):
    if name == "BenchmarkDB":
        from benchmark_pipeline.api import BenchmarkDB

        return BenchmarkDB
    raise AttributeError(f"module 'benchmark_pipeline' has no attribute {name!r}")
