"""``BenchmarkDB``: the Python API for test runners and notebooks, over the same service as the CLI and Dagster.

Method names follow the original system's ``BenchmarkDBAPI`` so its test runners keep working; a
record stored here goes through exactly the validation, quarantine and ledger path of a dropped file,
and the caller gets back what happened::

    from benchmark_pipeline import BenchmarkDB

    db = BenchmarkDB("data/warehouse/benchmarks.duckdb")
    outcome = db.store_performance_result(model_name="bert-base-uncased", hardware_type="cuda",
                                          batch_size=8, average_latency_ms=7.2, throughput_items_per_second=1100)
    outcome["stored_ids"], outcome["quarantined"]      # e.g. [1807], []
    db.query_performance_results(model="bert-base-uncased", hardware="cuda", limit=5)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark_pipeline.config import Settings
from benchmark_pipeline.service import BenchmarkService


class BenchmarkDB:
    """One warehouse; every call opens it for just that call (a writer only while writing)."""

    def __init__(self, db_path: str | Path | None = None, data_dir: str | Path | None = None) -> None:
        settings = Settings.from_env(db_path=db_path, data_dir=data_dir)
        self.settings = settings
        self.service = BenchmarkService.from_settings(settings)
        self.data_dir = settings.data_dir

    @property
    def db_path(self) -> Path:
        return self.service.db_path

    # -- storing (one record, or a list) ---------------------------------------------------------

    def store(self, category: str, records: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
        """Validate and store records of one category (performance, compatibility, integration).

        Returns ``{"source_path", "status", "stored_ids", "quarantined"}``: the ids of the stored facts in
        record order, and for each rejected record its index, field, value and reason. Sending the same
        records again stores nothing and answers with the ids stored the first time.
        """
        return asdict(self.service.ingest_records(category, records))

    def store_performance_result(self, record: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return self.store("performance", {**(record or {}), **fields})

    def store_hardware_compatibility(self, record: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return self.store("compatibility", {**(record or {}), **fields})

    def store_integration_test_result(self, record: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return self.store("integration", {**(record or {}), **fields})

    def store_llm_result(self, result: dict[str, Any] | list[Any] | str | bytes | Path, name: str | None = None,
                         **llm: Any) -> dict[str, Any]:
        """Store one LLM tool's result (a vLLM/SGLang/GenAI-Perf/... JSON document, the text of an MLPerf log, or
        a path to such a file) as if it had been dropped, recognised by content. ``llm``: what it lacks, as
        ``ingest_files`` takes it (``gpu``, ``gpu_count``, ``framework``, ``cost_per_hour``, ...). Returns what
        ``POST /ingest`` answers: ``source_path``, ``status``, ``stored_ids`` ({"llm_serving": [...]}),
        ``quarantined`` (field and reason each); the same file sent again stores nothing twice."""
        from benchmark_pipeline.lib.llm.defaults import LlmDefaults
        from benchmark_pipeline.lib.vocabulary import LLM_SERVING

        if isinstance(result, Path):
            name, data = name or result.name, result.read_bytes()
        elif isinstance(result, bytes):
            data = result
        elif isinstance(result, str):
            data = result.encode("utf-8")
        else:
            data = json.dumps(result).encode("utf-8")
        defaults = LlmDefaults.from_options(**llm) if llm else None
        return asdict(self.service.ingest_upload(LLM_SERVING, name or "result.json", data, llm=defaults))

    def ingest_files(self, *paths: str | Path, category: str | None = None, **llm: Any) -> dict[str, Any]:
        """Ingest result files or folders, as ``benchmark-db ingest`` does; per-file outcomes.

        ``llm``: what LLM-serving result files may lack, as ``benchmark-db ingest``'s options (``gpu``,
        ``gpu_count``, ``framework`` as NAME[==VERSION], ``quantization``, ``cost_per_hour``, ``model``, and
        the sidecar's ``provider``, ``instance_type``, ``spot``, ...): they fill only what a file does not say.
        """
        from benchmark_pipeline.lib.llm.defaults import LlmDefaults

        defaults = LlmDefaults.from_options(**llm) if llm else None
        report = self.service.ingest_paths([str(p) for p in paths], category, llm=defaults)
        return {"run_id": report.run_id,
                "files": report.result.outcomes.to_dict("records"),
                "quarantined": report.result.quarantine.to_dict("records")}

    # -- reading ---------------------------------------------------------------------------------

    def _query(self, category: str, limit: int, after_id: int | None, **filters: Any) -> list[dict[str, Any]]:
        return self.service.results(category, limit=limit, after_id=after_id, **filters)

    def query_performance_results(self, model: str | None = None, hardware: str | None = None,
                                  precision: str | None = None, batch_size: int | None = None,
                                  since: datetime | None = None, until: datetime | None = None,
                                  run_id: int | None = None, include_simulated: bool = True,
                                  limit: int = 1000, after_id: int | None = None) -> list[dict[str, Any]]:
        """Performance results with model and hardware names, oldest id first; page with ``after_id``."""
        return self._query("performance", limit, after_id, model=model, hardware=hardware, precision=precision,
                           batch_size=batch_size, since=since, until=until, run_id=run_id,
                           include_simulated=include_simulated)

    def query_hardware_compatibility(self, model: str | None = None, hardware: str | None = None,
                                     since: datetime | None = None, include_simulated: bool = True,
                                     limit: int = 1000, after_id: int | None = None) -> list[dict[str, Any]]:
        return self._query("compatibility", limit, after_id, model=model, hardware=hardware, since=since,
                           include_simulated=include_simulated)

    def query_integration_test_results(self, model: str | None = None, hardware: str | None = None,
                                       since: datetime | None = None, include_simulated: bool = True,
                                       limit: int = 1000, after_id: int | None = None) -> list[dict[str, Any]]:
        return self._query("integration", limit, after_id, model=model, hardware=hardware, since=since,
                           include_simulated=include_simulated)

    def get_model_performance_summary(self, model_name: str) -> dict[str, Any]:
        """Every hardware the model ran on, per batch size and precision: medians, latest, speedup over CPU."""
        return self.service.model_summary(model_name)

    def get_hardware_benchmark_summary(self, hardware_type: str) -> dict[str, Any]:
        """Every model on that hardware (a type such as cuda, or a device name), ranked by throughput."""
        return self.service.hardware_summary(hardware_type)

    def update_regressions(self) -> dict[str, int]:
        """Re-detect regressions in the series whose results changed; counts of what was analysed and found."""
        report = self.service.update_regressions()
        return {"series_total": report.series_total, "series_analysed": report.series_analysed,
                "flags_total": report.flags_total}

    def get_regressions(self, only_open: bool = True, confirmed_only: bool = False, model: str | None = None,
                        hardware: str | None = None) -> list[dict[str, Any]]:
        """Flags newest first, each with kind, direction, % change, status and confirmed/suspected."""
        return self.service.regression_flags(only_open=only_open, confirmed_only=confirmed_only, model=model,
                                             hardware=hardware).flags.to_dict("records")

    def set_regression_threshold(self, kind: str, value: float, metric: str | None = None,
                                 series_id: str | None = None, note: str | None = None) -> dict[str, Any]:
        """``kind``: relative (fraction of the level), absolute (metric's unit) or noise (multiples of the
        series' own run-to-run noise); for every series of ``metric`` or for one ``series_id``."""
        return self.service.set_regression_threshold(kind, value, metric=metric, series_id=series_id, note=note)

    # -- LLM serving: SLA fits, costs, Pareto fronts, rankings per use case -----------------------------

    def find_cheapest_under_sla(self, sla: str, model: str | None = None, workload_type: str | None = None,
                                dataset: str | None = None, input_tokens: float | None = None,
                                output_tokens: float | None = None, since: datetime | None = None,
                                until: datetime | None = None, limit: int = 10) -> dict[str, Any]:
        """The cheapest configuration per million output tokens whose latest result meets ``sla``, e.g.
        ``"ttft_ms_p90<=300,user_tokens_per_s>=20"``; says how many load points were left out for lacking a
        value the SLA needs, and lists the points meeting it cheapest first."""
        from benchmark_pipeline.lib.analytics.serving import Workload

        workload = Workload(model=model, workload_type=workload_type, dataset=dataset, input_tokens=input_tokens,
                            output_tokens=output_tokens)
        return self.service.llm_sla(sla, workload, since=since, until=until, limit=limit)

    def get_llm_costs(self, model: str | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> list[dict[str, Any]]:
        """Every load point's price, throughput, $ per million output tokens and tokens per joule, cheapest first."""
        from benchmark_pipeline.lib.analytics.serving import Workload, point_records

        costs = self.service.llm_costs(Workload(model=model), since=since, until=until)
        return point_records(costs, tuple(costs.columns))

    def get_llm_pareto(self, model: str | None = None, since: datetime | None = None,
                       until: datetime | None = None) -> dict[str, Any]:
        """Output tokens/s per GPU against tokens/s per user, each point marked ``on_front`` or not."""
        from benchmark_pipeline.lib.analytics.serving import Workload

        return self.service.llm_pareto(Workload(model=model), since=since, until=until)

    def get_llm_rankings(self, use_case: str, limit: int = 20) -> dict[str, Any]:
        """TOPSIS ranking of serving configurations for a use case (``get_use_cases`` lists them), with each
        criterion's value and weight, and whether it came from the stored ranking or was computed afresh."""
        return self.service.llm_rankings(use_case, limit=limit)

    def get_use_cases(self) -> list[dict[str, Any]]:
        """The use-case taxonomy: category, pipeline tag, workload, SLA and default weights of each."""
        return self.service.llm_use_cases()

    def get_model_suitability(self, model: str | None = None) -> list[dict[str, Any]]:
        """Per model and use case: share of its configurations meeting the SLA, best figures, rank."""
        return self.service.llm_suitability(model).to_dict("records")

    def get_status(self) -> dict[str, Any]:
        """Rows per table, files per ledger status, open quarantine and regressions, last ingest."""
        return self.service.status(self.data_dir).to_dict()

    # -- snapshots (content-addressed history; published to IPFS when IPFS_API_URL is set) -------------

    def _snapshots(self):
        from benchmark_pipeline.service.snapshots import snapshot_store

        return snapshot_store(self.settings)

    def sync_to_ipfs(self, force: bool = False) -> dict[str, Any]:
        """Snapshot the warehouse (unless its data is unchanged) and pin it on the IPFS node if one is set.

        Returns the snapshot's CIDs, whether a new one was taken, whether it is published, and why not.
        """
        store, node = self._snapshots()
        return self.service.sync(store, node, force=force, required=self.settings.ipfs_required)

    def restore_from_ipfs(self, cid: str = "HEAD", target: str | Path | None = None) -> dict[str, Any]:
        """Replace the warehouse (or ``target``) by the snapshot ``cid`` (HEAD, a manifest, database or export
        CID), every block verified first; blocks not held locally are fetched from the IPFS node."""
        store, node = self._snapshots()
        return self.service.restore_cid(store, cid, target, node=node)

    def get_version_history(self) -> list[dict[str, Any]]:
        """Snapshots newest first: CIDs, time, size, row counts and state (local, published, pruned, missing)."""
        store, _node = self._snapshots()
        return self.service.version_history(store)

    # -- maintenance (validate, optimize, clean-json, backups with retention, restore drill) -----------

    def validate(self, snapshots: bool = True) -> dict[str, Any]:
        """Check schema, invariants, orphans, the ledger against the facts and (``snapshots``) the snapshot
        chain; ``{"ok", "problems", "checks": [{"name", "ok", "problems", "findings", ...}]}``."""
        store = self._snapshots()[0] if snapshots else None
        return self.service.validate(store).to_dict()

    def optimize(self, compact: bool = False) -> dict[str, Any]:
        """ANALYZE and FORCE CHECKPOINT under the writer lock (``compact``: rewrite the file); bytes before and after."""
        return self.service.optimize(compact=compact).to_dict()

    def clean_json(self, *paths: str | Path, older_than_days: float, archive: str | Path | None = None,
                   apply: bool = False) -> dict[str, Any]:
        """Remove (or move into ``archive``) result files the ledger proves ingested and older than
        ``older_than_days``; a dry run unless ``apply``. Every file is listed with what is (or would be)
        done and, for the ones kept, why."""
        return self.service.clean_json([str(p) for p in paths], older_than_days, archive=archive,
                                       apply=apply).to_dict()

    def backup(self, keep_last: int = 1, keep_hourly: int = 24, keep_daily: int = 30, keep_weekly: int = 0,
               keep_monthly: int = 0, dry_run: bool = False) -> dict[str, Any]:
        """A verified snapshot (published if a node is set), then retention: snapshots the policy does not
        keep lose their data. ``dry_run``: nothing taken or pruned, the policy's verdict now."""
        from benchmark_pipeline.lib.snapshots.retention import RetentionPolicy

        store, node = self._snapshots()
        policy = RetentionPolicy(keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly)
        return self.service.backup(store, policy, node=node, required=self.settings.ipfs_required,
                                   dry_run=dry_run).to_dict()

    def restore_drill(self, snapshot: str = "HEAD", rto_goal_hours: float = 4.0,
                      rpo_goal_hours: float = 1.0) -> dict[str, Any]:
        """Restore a snapshot into a temporary file, validate it and measure RTO and RPO against the goals."""
        store, node = self._snapshots()
        return self.service.restore_drill(store, snapshot, node=node, rto_goal_s=rto_goal_hours * 3600,
                                          rpo_goal_s=rpo_goal_hours * 3600).to_dict()

    # Better-named aliases.
    store_performance = store_performance_result
    store_compatibility = store_hardware_compatibility
    store_integration = store_integration_test_result
    performance_results = query_performance_results
    status = get_status
    snapshot = sync_to_ipfs
    restore = restore_from_ipfs
    history = get_version_history
