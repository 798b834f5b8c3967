"""Content addressing compatible with kubo: UnixFS import, a verified blockstore, CARv1.

Pure library (no Dagster), so the CLI, the snapshot code and tests share one implementation.
"""
