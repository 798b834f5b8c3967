"""Maintenance jobs: validation, optimize, clean-json, backups with retention and the restore drill.

Op jobs rather than assets: they judge or look after the warehouse instead of producing data, and
``benchmark_job`` (every asset) must not run them. Each op goes through the service, in pool ``duckdb``.
"""
