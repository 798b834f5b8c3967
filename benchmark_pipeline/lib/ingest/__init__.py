"""Files to validated frames: discovery, parsing, record normalization and validation (no Dagster)."""
