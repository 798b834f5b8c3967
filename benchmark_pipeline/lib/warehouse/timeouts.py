"""How long the warehouse's users wait for each other, by default (stdlib only, so the shell's settings
can name these defaults without importing DuckDB)."""

# A writer waits this long for the single-writer lock.
DEFAULT_LOCK_TIMEOUT_S = 600.0
# A reader waits this long for writers to let go of the file (``BENCHMARK_READ_TIMEOUT_S`` in the shell).
DEFAULT_READ_TIMEOUT_S = 300.0
