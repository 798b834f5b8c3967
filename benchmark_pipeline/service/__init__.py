"""The front door: the CLI, the Dagster assets, the Python API and the REST API all reach the warehouse here."""

from .core import BenchmarkService, IngestReport, Submission, ingest_paths
from .regressions import FlagListing

__all__ = ["BenchmarkService", "FlagListing", "IngestReport", "Submission", "ingest_paths"]
