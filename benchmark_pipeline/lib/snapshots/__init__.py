"""Snapshots of the warehouse: content-addressed copies, a manifest chain, verified restore.

Pure library (no Dagster). On disk, under the snapshots folder (``data/snapshots/`` by default):

- ``blocks/`` the verified blockstore (or another one the caller passes) holding, per snapshot, the
  DuckDB file as a UnixFS DAG, the deterministic export as a UnixFS directory, and the manifest
  itself as a small JSON file. The manifest's CID is the snapshot's name, and each manifest
  names its predecessor, so the history is a tamper-evident chain that any IPFS node can hold.
- ``HEAD`` the CID of the newest manifest (one line, replaced atomically).
- ``published/<manifest CID>.json`` which node took the snapshot and when; absent = local only.
- ``journal.jsonl`` one line per manifest written (with its predecessor), prune and repair, so that the
  history goes on past a manifest that is lost or corrupt (``repair.py`` drops such entries).
- ``chain.lock`` serialises HEAD updates, pruning and repair; ``tmp/`` holds copies being snapshotted,
  in folders named after their process so that the next command removes those a killed one left.

Manifest blocks are never pruned (they are a few hundred bytes), so ``snapshot list`` keeps the
whole history and marks snapshots whose data was pruned.
"""
