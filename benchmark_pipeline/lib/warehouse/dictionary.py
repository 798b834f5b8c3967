"""The column dictionary: every warehouse column with its unit and meaning.

``benchmark-db schema`` prints it next to the live types, and a test fails when a migration adds a
column that is not documented here (or this lists one that no longer exists).
"""

from __future__ import annotations

from benchmark_pipeline.lib import vocabulary
from benchmark_pipeline.lib.llm.metrics import LLM_METRICS, RUN, metric_columns

_PROVENANCE = {
    "source_path": ("", "result file the row came from (relative to the working directory when inside it)"),
    "source_sha256": ("", "sha256 of that file's bytes at ingest"),
    "ingestion_run_id": ("", "Dagster run id, or cli-<uuid> for a command-line ingest"),
    "ingested_at": ("UTC", "when the row was written"),
    "is_simulated": ("", "true only when the data itself says the result was simulated or mocked"),
    "simulation_reason": ("", "the marker that made it simulated"),
}
_TIMED = {
    "run_time": ("UTC", "when the benchmark ran: the record's timestamp, else the file name's stamp, else first seen"),
    "time_source": ("", "where run_time came from: record, file_name or ledger"),
    "record_index": ("", "position of the record in its file (0-based)"),
    "extra": ("JSON", "keys of the input record this schema does not know, kept verbatim"),
}

_STAT_WORDS = {"mean": "mean", "std": "standard deviation", "min": "minimum", "max": "maximum"}


def _llm_metric_columns() -> dict[str, tuple[str, str]]:
    """One entry per metric column, its meaning and tool mapping read from the vocabulary (lib/llm/metrics.py),
    so the dictionary says what TTFT, TPOT and ITL are exactly where the code defines them."""
    out = {}
    for column, (name, stat) in metric_columns().items():
        metric = LLM_METRICS[name]
        if metric.kind == RUN:
            what = metric.label
        else:
            what = f"{_STAT_WORDS.get(stat, stat[1:] + 'th percentile')} of the {metric.label}"
        out[column] = (metric.unit, f"{what} ({metric.direction.replace('_', ' ')}). {metric.definition} "
                                    f"From: {metric.tools}")
    return out


COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "schema_version": {
        "version": ("", "applied migration number"),
        "name": ("", "migration name"),
        "applied_at": ("UTC", "when it was applied"),
    },
    "models": {
        "model_id": ("", "surrogate key (sequence)"),
        "model_name": ("", "natural key, as the results name the model"),
        "model_family": ("", "family (bert, t5, llama, ...), given or inferred from the name"),
        "modality": ("", "text, image, audio or multimodal"),
        "source": ("", "where the model comes from (e.g. huggingface)"),
        "version": ("", "model version"),
        "parameters_million": ("M params", "parameter count in millions"),
        "metadata": ("JSON", "model_metadata of the first record that named the model"),
        "created_at": ("UTC", "when the model was first seen"),
    },
    "hardware_platforms": {
        "hardware_id": ("", "surrogate key (sequence)"),
        "fingerprint": ("", "label: type | device | memory | compute units | driver, as declared"),
        "hardware_type": ("", "cpu, cuda, rocm, mps, openvino, qualcomm, webnn, webgpu, tpu or npu; LLM results add "
                              "hpu (Intel Gaudi) and hosted (a provider's API, device hosted:<provider>)"),
        "device_name": ("", "device model name"),
        "platform": ("", "operating system or browser platform"),
        "platform_version": ("", "its version"),
        "driver_version": ("", "driver or runtime version"),
        "memory_gb": ("GB", "device memory"),
        "compute_units": ("", "cores / SMs / compute units"),
        "metadata": ("JSON", "hardware_metadata of the first record that named the platform"),
        "created_at": ("UTC", "when the platform was first seen"),
        "hardware_key": ("", "identity: the warehouse's hardware_key() macro over type, device, memory (MiB), "
                             "compute units and driver; series ids hash it"),
    },
    "test_runs": {
        "run_id": ("", "surrogate key (sequence): one benchmark run = one file version and category"),
        "test_name": ("", "the records' test_name, else the file name"),
        "test_type": ("", "performance, compatibility, integration or llm_serving"),
        "started_at": ("UTC", "earliest run_time of its records"),
        "completed_at": ("UTC", "latest run_time of its records"),
        "time_source": ("", "time_source of its first record"),
        "git_commit": ("", "commit the benchmark ran on"),
        "git_branch": ("", "branch the benchmark ran on"),
        "record_count": ("", "rows this run contributed"),
        "source_path": _PROVENANCE["source_path"],
        "source_sha256": _PROVENANCE["source_sha256"],
        "ingestion_run_id": _PROVENANCE["ingestion_run_id"],
        "ingested_at": _PROVENANCE["ingested_at"],
    },
    "performance_results": {
        "result_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "test_case": ("", "benchmark scenario; 'default' when the record names none"),
        "batch_size": ("items", "batch size; 1 when the record names none (the updater's convention)"),
        "sequence_length": ("tokens", "input sequence length"),
        "precision": ("", "numeric precision (fp32, fp16, int8, ...)"),
        "total_time_seconds": ("s", "wall time of the whole benchmark"),
        "average_latency_ms": ("ms", "mean latency per batch"),
        "latency_p50_ms": ("ms", "median latency"),
        "latency_p90_ms": ("ms", "90th percentile latency"),
        "latency_p95_ms": ("ms", "95th percentile latency"),
        "latency_p99_ms": ("ms", "99th percentile latency"),
        "throughput_items_per_second": ("items/s", "throughput"),
        "memory_peak_mb": ("MB", "peak memory"),
        "power_watts": ("W", "average power draw (mW inputs converted)"),
        "energy_joules": ("J", "energy used (mJ inputs converted)"),
        "items_per_joule": ("items/J", "energy efficiency"),
        "iterations": ("", "measured iterations"),
        "warmup_iterations": ("", "warm-up iterations"),
        "metrics": ("JSON", "other metrics the record reported"),
        **_TIMED, **_PROVENANCE,
    },
    "performance_batch_results": {
        "batch_id": ("", "surrogate key (sequence)"),
        "result_id": ("", "performance_results.result_id"),
        "batch_index": ("", "position of the batch (its batch_index, else its position in the list)"),
        "batch_size": ("items", "batch size (the parent's when not given)"),
        "latency_ms": ("ms", "latency of this batch"),
        "memory_usage_mb": ("MB", "memory used by this batch"),
        "throughput_items_per_second": ("items/s", "throughput of this batch"),
        **_PROVENANCE,
    },
    "power_metrics": {
        "metric_id": ("", "surrogate key (sequence)"),
        "result_id": ("", "performance_results.result_id"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "power_watts_avg": ("W", "average power"),
        "power_watts_peak": ("W", "peak power"),
        "power_watts_idle": ("W", "idle power"),
        "energy_joules": ("J", "energy used"),
        "temperature_celsius": ("°C", "device temperature"),
        "monitoring_duration_ms": ("ms", "how long power was sampled"),
        "items_per_joule": ("items/J", "energy efficiency"),
        "thermal_throttling_detected": ("", "whether the device throttled"),
        "battery_impact_percent_per_hour": ("%/h", "battery drain"),
        **_PROVENANCE,
    },
    "hardware_compatibility": {
        "compatibility_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "model_id": ("", "models.model_id; NULL for a family-level result"),
        "model_family": ("", "set only for family-level results (exactly one of model_id, model_family)"),
        "hardware_id": ("", "hardware_platforms.hardware_id"),
        "is_compatible": ("", "whether the model ran on the hardware"),
        "detection_success": ("", "whether the hardware was detected"),
        "initialization_success": ("", "whether the model initialized"),
        "error_message": ("", "error text"),
        "error_type": ("", "error class"),
        "suggested_fix": ("", "suggested fix"),
        "workaround_available": ("", "whether a workaround exists"),
        "compatibility_score": ("0..1", "given score, else 1 when compatible and 0 when not"),
        "metadata": ("JSON", "metadata of the record"),
        **_TIMED, **_PROVENANCE,
    },
    "integration_test_results": {
        "test_result_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id"),
        "test_module": ("", "test module"),
        "test_class": ("", "test class"),
        "test_name": ("", "test name"),
        "status": ("", "pass, fail, error or skip"),
        "execution_time_seconds": ("s", "test duration"),
        "hardware_id": ("", "hardware_platforms.hardware_id, when the record names hardware"),
        "model_id": ("", "models.model_id, when the record names a model"),
        "error_message": ("", "error text"),
        "error_traceback": ("", "traceback"),
        "metadata": ("JSON", "metadata of the record"),
        **_TIMED, **_PROVENANCE,
    },
    "integration_test_assertions": {
        "assertion_id": ("", "surrogate key (sequence)"),
        "test_result_id": ("", "integration_test_results.test_result_id"),
        "assertion_index": ("", "position in the record's assertions list"),
        "assertion_name": ("", "assertion name (assertion_<index> when unnamed)"),
        "passed": ("", "whether it passed"),
        "expected_value": ("JSON", "expected value"),
        "actual_value": ("JSON", "actual value"),
        "message": ("", "message"),
        **_PROVENANCE,
    },
    "llm_serving_results": {
        "result_id": ("", "surrogate key (sequence seq_llm_result_id)"),
        "run_id": ("", "test_runs.run_id (one run per file version, test_type llm_serving)"),
        "model_id": ("", "models.model_id: the same model dimension as performance results"),
        "hardware_id": ("", "hardware_platforms.hardware_id: the GPU (or system, CPU, hosted:<provider>) it ran on"),
        "model_version_id": ("", "model_versions.model_version_id: the model as served (quantization, bits)"),
        "hardware_config_id": ("", "hardware_configurations.hardware_config_id: GPU count, price, provider"),
        "framework_id": ("", "inference_frameworks.framework_id; NULL when neither the file nor the ingest named one"),
        "run_time": _TIMED["run_time"],
        "time_source": _TIMED["time_source"],
        "tool": ("", "benchmark tool and script: vllm_bench_serve, vllm_bench_latency, vllm_bench_throughput, "
                     "sglang_bench_serving, genai_perf, aiperf, llmperf, optimum_benchmark, mlperf_loadgen"),
        "tool_version": ("", "the tool's version, when the file says it"),
        "source_record": ("", "where in the file: 'line N' of JSON lines, 'item N' of a JSON list; NULL for a whole file"),
        "workload_type": ("", "online (requests arrive over time, bounded by a rate or a concurrency) or offline "
                              "(all work submitted at once)"),
        "dataset": ("", "dataset the prompts came from (sharegpt, random, ...)"),
        "input_tokens_mean": ("tokens", "measured mean prompt length per request"),
        "output_tokens_mean": ("tokens", "measured mean output length per request"),
        "input_tokens_configured": ("tokens", "prompt length the run asked for"),
        "output_tokens_configured": ("tokens", "output length the run asked for"),
        "batch_size": ("items", "offline batch size, when the tool has one"),
        "concurrency": ("requests", "configured limit of requests in flight; NULL when unlimited or not given"),
        "concurrency_unbounded": ("", "true when the file said concurrency was unlimited (null limit, 1e9 sentinel)"),
        "request_rate": ("requests/s", "configured request arrival rate; NULL when unlimited or not given"),
        "request_rate_unbounded": ("", "true when the file said the rate was unlimited ('inf', Infinity, 1e9)"),
        "num_prompts": ("requests", "requests the run issued (or planned to)"),
        "completed": ("requests", "requests that completed"),
        "failed": ("requests", "requests that failed (inferred as num_prompts - completed where the file has no count)"),
        "duration_s": ("s", "wall time of the run"),
        **_llm_metric_columns(),
        "energy_joules": ("J", "energy of the GPUs the run used over the run (DCGM counter rise, or optimum-benchmark's)"),
        "power_watts": ("W", "mean power over the run, summed over the GPUs used"),
        "memory_peak_mb": ("MB", "peak GPU memory, summed over the GPUs used (MB = 2^20 bytes)"),
        "metrics": ("JSON", "every metric and stat the file reported, canonical names and units "
                            "({metric: {stat: value}}), percentiles without a column (p1, p25, p99.9, ...) included"),
        "notes": ("", "what the ingest inferred, converted, dropped or filled, in order"),
        "filled_from": ("JSON", "columns the file did not give: {column: option | sidecar | name} (ingest option, "
                                "<file>.meta.json, or read from a name such as a GPU's '80GB' or a model's '70B')"),
        "extra": ("JSON", "tool-specific context kept verbatim (backend, label, scenario, errors, ...)"),
        "record_index": ("", "position of the run among the file's runs (0-based)"),
        **_PROVENANCE,
    },
    "model_versions": {
        "model_version_id": ("", "surrogate key (sequence)"),
        "version_key": ("", "identity: model_version_key() macro over model name, quantization, bits, format, precision"),
        "model_id": ("", "models.model_id (its parameter count is models.parameters_million)"),
        "quantization": ("", "scheme: awq, gptq, fp8, q4_k_m, ...; NULL for the unquantized model"),
        "bits": ("bits", "weight bits: given, else read from the scheme (awq 4, fp8 8) or the dtype (bfloat16 16)"),
        "weights_format": ("", "gguf, gptq, awq, exl2, bitsandbytes, safetensors, ... when the scheme, model name or "
                               "sidecar says"),
        "precision": ("", "compute dtype the run used (bfloat16, float16, ...)"),
        "vram_required_gb": ("GB", "parameters x bits / 8 x 1.2 (weights plus 20% for activations and KV cache), "
                                   "GB of 2^30 bytes; NULL until the parameter count and bits are known"),
        "created_at": ("UTC", "when the version was first seen"),
    },
    "hardware_configurations": {
        "hardware_config_id": ("", "surrogate key (sequence)"),
        "config_key": ("", "identity: hardware_config_key() macro over the platform's hardware_key, GPU count, "
                           "provider, instance, spot, price"),
        "hardware_id": ("", "hardware_platforms.hardware_id: the GPU type (device_name) and VRAM per GPU (memory_gb) "
                            "are kept there, once; hosted APIs as device hosted:<provider>"),
        "gpu_count": ("GPUs", "GPUs of the configuration; NULL when unknown (and for hosted APIs)"),
        "vram_total_gb": ("GB", "gpu_count x the platform's memory_gb"),
        "cost_per_hour_usd": ("USD/h", "price of the whole configuration per hour (--cost-per-hour or sidecar)"),
        "provider": ("", "cloud or API provider"),
        "instance_type": ("", "cloud instance type"),
        "spot": ("", "true for spot / preemptible capacity"),
        "created_at": ("UTC", "when the configuration was first seen"),
    },
    "inference_frameworks": {
        "framework_id": ("", "surrogate key (sequence)"),
        "framework_key": ("", "identity: framework_key() macro over name and version"),
        "name": ("", "framework, lower case: vllm, sglang, tensorrt-llm, pytorch, ..."),
        "version": ("", "its version, when the file or --framework NAME==VERSION says"),
        "capabilities": ("JSON", "what it can do, as the sidecar's capabilities describe it"),
        "created_at": ("UTC", "when the framework was first seen"),
    },
    "use_case_taxonomy": {
        "use_case": ("", "name of the use case: chatbot, code-completion, rag-qa, summarization, ..."),
        "category": ("", "task category (text-generation, question-answering, summarization)"),
        "subcategory": ("", "what kind of that task (chatbot, retrieval-augmented, long-document, ...)"),
        "pipeline_tag": ("", "the Hugging Face pipeline tag of models that serve it"),
        "description": ("", "what the use case is, in a sentence"),
        "characteristics": ("JSON", "its workload: input_tokens and output_tokens per request as [min, max] (tokens), "
                                    "interactive (a person waits)"),
        "sla": ("JSON", "limits a configuration must meet to serve it: {criterion: {max|min: limit}} in the "
                        "criterion's unit (ttft_ms_p90 in ms, user_tokens_per_s in tokens/s)"),
        "default_weights": ("JSON", "TOPSIS weight per criterion (normalised when ranking)"),
        "ranking_ttl_s": ("s", "how long a computed ranking stays valid when no result changed"),
        "created_at": ("UTC", "when the use case was added"),
    },
    "model_use_cases": {
        "model_id": ("", "models.model_id"),
        "use_case": ("", "use_case_taxonomy.use_case"),
        "suitability_score": ("0-1", "share of the model's tested configurations (version x hardware x framework) "
                                     "with a load point in the use case's workload that meets its SLA"),
        "recommended": ("", "some configuration meets the SLA and the model's best one ranks in the top 3"),
        "priority": ("", "rank of the model's best configuration in the use case's ranking; NULL when none meets it"),
        "configurations_tested": ("configurations", "configurations with a result in the use case's workload"),
        "configurations_meeting_sla": ("configurations", "of those, the ones with a load point meeting the SLA"),
        "performance_summary": ("JSON", "best TTFT p90 (ms), tokens/s per user, $ per million output tokens among "
                                        "the points meeting the SLA"),
        "calculated_at": ("UTC", "when it was computed"),
    },
    "llm_daily_stats": {
        "model_id": ("", "models.model_id"),
        "stats_date": ("UTC date", "day the results ran"),
        "results": ("results", "LLM-serving results of the model that day (simulated ones excluded)"),
        "configurations": ("configurations", "distinct version x hardware configuration x framework among them"),
        "median_ttft_ms_p90": ("ms", "median over the day's results of their TTFT p90"),
        "median_tpot_ms_p90": ("ms", "median over the day's results of their TPOT p90"),
        "max_output_tokens_per_s": ("tokens/s", "highest output throughput of the day"),
        "min_usd_per_million_output_tokens": ("USD", "lowest cost of a million output tokens of the day "
                                                     "(priced configurations only)"),
        "max_output_tokens_per_joule": ("tokens/J", "best energy efficiency of the day (where energy or power is known)"),
        "calculated_at": ("UTC", "when it was computed"),
    },
    "model_rankings": {
        "use_case": ("", "use_case_taxonomy.use_case ranked within"),
        "rank_position": ("", "1 = best; ties share the better rank; NULL: not ranked, it lacks a criterion most "
                              "candidates have (score_breakdown.lacks names it)"),
        "composite_score": ("0-1", "TOPSIS closeness to the ideal over the use case's default weights; NULL when "
                                   "not ranked"),
        "model_id": ("", "models.model_id"),
        "model_version_id": ("", "model_versions.model_version_id"),
        "hardware_config_id": ("", "hardware_configurations.hardware_config_id"),
        "framework_id": ("", "inference_frameworks.framework_id"),
        "result_id": ("", "llm_serving_results.result_id of the load point ranked: the configuration's highest "
                          "throughput per GPU that meets the SLA, latest result per point"),
        "concurrency": ("requests", "that point's concurrency"),
        "request_rate": ("requests/s", "that point's request rate"),
        "score_breakdown": ("JSON", "per criterion: value (its unit), direction, weight used; for an unranked "
                                    "row {lacks: [criteria]}"),
        "criteria_dropped": ("JSON", "criteria left out for every candidate because most lack them (energy, "
                                     "usually)"),
        "candidates": ("configurations", "configurations ranked for the use case (unranked rows not counted)"),
        "calculated_at": ("UTC", "when the ranking was computed"),
        "expires_at": ("UTC", "when it is recomputed even if no result changed (calculated_at + ranking_ttl_s)"),
        "inputs_fingerprint": ("", "hash of the results and taxonomy it was computed from: a reader that sees "
                                   "another one computes the answer afresh"),
    },
    "llm_answers_state": {
        "id": ("", "always 1: one row"),
        "inputs_fingerprint": ("", "inputs the LLM answer tables were last computed from"),
        "calculated_at": ("UTC", "when they were last computed"),
        "expires_at": ("UTC", "the earliest expiry among the use cases' rankings"),
    },
    "benchmark_failures": {
        "failure_id": ("", "surrogate key (sequence)"),
        "run_id": ("", "test_runs.run_id, when the failure belongs to an ingested run"),
        "model_name": ("", "model that failed"),
        "hardware_type": ("", "hardware it failed on"),
        "error_type": ("", "error class"),
        "error_message": ("", "first line / summary of the error"),
        "error_traceback": ("", "full traceback when given"),
        "stage": ("", "what failed: benchmark, batch, initialization, ...; llm_serving for an LLM run where every "
                      "request failed"),
        "batch_size": ("items", "batch size of a failed batch"),
        "run_time": _TIMED["run_time"],
        "time_source": _TIMED["time_source"],
        "record_index": _TIMED["record_index"],
        **_PROVENANCE,
    },
    "quarantine": {
        "quarantine_id": ("", "surrogate key (sequence)"),
        "source_path": _PROVENANCE["source_path"],
        "source_sha256": _PROVENANCE["source_sha256"],
        "category": ("", "performance, compatibility, integration or llm_serving"),
        "record_index": ("", "record position in the file; NULL when the whole file is unusable"),
        "field": ("", "the field as written in the file (batch_results[2].latency_ms for nested ones)"),
        "value": ("", "the offending value, as text"),
        "reason": ("", "why the record was not stored"),
        "record": ("JSON", "the whole record verbatim, for replay after a fix"),
        "status": ("", "open, replayed or superseded"),
        "ingestion_run_id": _PROVENANCE["ingestion_run_id"],
        "quarantined_at": ("UTC", "when it was quarantined"),
    },
    "ingestion_ledger": {
        "ledger_id": ("", "surrogate key (sequence)"),
        "source_path": ("", "file path; with sha256 the natural key (one row per file version)"),
        "sha256": ("", "sha256 of the file version"),
        "size_bytes": ("bytes", "file size"),
        "detected_type": ("", "category (or detected shape) of the file"),
        "status": ("", "ingested, partial, quarantined, not a result, duplicate, superseded or retracted"),
        "reason": ("", "why the file has this status"),
        "records_total": ("", "records found in the file"),
        "records_quarantined": ("", "records that went to quarantine"),
        "rows_written": ("", "fact rows written (performance, compatibility, integration, llm_serving, failures)"),
        "duplicate_of": ("", "first path with the same content, for duplicates"),
        "first_seen_at": ("UTC", "when the ledger first saw this version"),
        "status_changed_at": ("UTC", "last status change"),
        "ingestion_run_id": ("", "run that last changed the row"),
        "history": ("", "earlier statuses of this version, oldest first"),
        "cid": ("", "IPFS CID of the file version (kubo-v1, as `ipfs add --cid-version=1`); NULL until computed"),
        "ingest_context": ("JSON", "the ingest options and sidecar that filled what an LLM file lacked (--gpu, ...); "
                                   "a refused version ingested again with other ones is processed again"),
    },
    "regression_flags": {
        "flag_id": ("", "stable id: hash of series_id, the first bad run's file sha256 and kind, so acks survive "
                        "re-detection and a file ingested again"),
        "series_id": ("", "series_key() macro: hash of model, hardware_key, batch, sequence, precision, test case, "
                          "metric; for LLM series llm_series_key(): model, version served, hardware_key, GPU count, "
                          "framework name, tool, workload, dataset, configured tokens, load, batch, metric"),
        "model_name": ("", "models.model_name of the series"),
        "hardware_id": ("", "hardware_platforms.hardware_id of the series"),
        "hardware_fingerprint": ("", "hardware_platforms.fingerprint of the series (the key part)"),
        "hardware_type": ("", "hardware type of the series"),
        "device_name": ("", "device name of the series"),
        "batch_size": ("items", "batch size of the series (NULL for an LLM series run without one)"),
        "sequence_length": ("tokens", "sequence length of the series"),
        "precision": ("", "precision of the series (LLM: model_versions.precision)"),
        "test_case": ("", "test case of the series (NULL for LLM series)"),
        "metric": ("", "column of fact_table analysed (average_latency_ms, ttft_ms_p90, output_tokens_per_s, ...)"),
        "kind": ("", "regression, improvement (change points, judged by the metric's direction) or outlier"),
        "direction": ("", "up or down: which way the value moved (outlier: vs its regime's mean)"),
        "change_index": ("", "0-based position in the series (run_time order) of the first run of the new regime, or of the outlier"),
        "run_id": ("", "test_runs.run_id of that first bad run (or the outlier run)"),
        "result_id": ("", "result_id in fact_table of that run's point"),
        "run_time": ("UTC", "run_time of that run"),
        "mean_before": ("metric", "mean of the regime before (outlier: of the regime it sits in); outliers left out"),
        "stdev_before": ("metric", "population stdev of the regime before"),
        "mean_after": ("metric", "mean of the regime from change_index on (outlier: its own value)"),
        "stdev_after": ("metric", "population stdev of the regime after (NULL for outliers)"),
        "pct_change": ("%", "mean_after vs mean_before"),
        "pvalue": ("", "Student t-test between the two regimes (NULL for outliers)"),
        "is_latest_change": ("", "true for the last change point of its series (only such a regression can be open)"),
        "recovered": ("", "latest change whose last min_run runs are back nearer the old level than the new"),
        "series_points": ("", "points in the series at detection"),
        "mode": ("", "detector mode (robust)"),
        "detected_at": ("UTC", "when this flag was first detected (kept across re-detections)"),
        "confirmation": ("", "confirmed (a later run agrees) or suspected (the last run; the next run decides)"),
        "noise": ("", "in the metric unit: the series' run-to-run spread: robust (MAD of successive differences) standard deviation"),
        "noise_floor": ("", "in the metric unit: how far a run had to stand from its regime to be flagged (threshold or 5 x noise)"),
        "fact_table": ("", "the results the series is made of: performance_results or llm_serving_results"),
        "model_version_id": ("", "LLM: model_versions.model_version_id served (NULL for performance flags)"),
        "quantization": ("", "LLM: quantization of the version served (awq, gptq, fp8, ...)"),
        "bits": ("bits", "LLM: weight bits of the version served"),
        "weights_format": ("", "LLM: weights format of the version served (gguf, safetensors, ...)"),
        "gpu_count": ("GPUs", "LLM: GPUs of the configuration (hardware_configurations.gpu_count)"),
        "framework": ("", "LLM: inference framework by name; its version is not part of the series, so an "
                          "upgrade shows as a change inside it"),
        "tool": ("", "LLM: benchmark tool that measured the series (vllm_bench_serve, genai_perf, ...)"),
        "workload_type": ("", "LLM: online (requests arrive over time) or offline (all work submitted at once)"),
        "dataset": ("", "LLM: dataset the prompts came from"),
        "input_tokens_configured": ("tokens", "LLM: input tokens per request the run was configured for"),
        "output_tokens_configured": ("tokens", "LLM: output tokens per request the run was configured for"),
        "concurrency": ("requests", "LLM: concurrent requests the run allowed"),
        "concurrency_unbounded": ("", "LLM: the run's file said concurrency was unlimited"),
        "request_rate": ("requests/s", "LLM: request rate the run sent at"),
        "request_rate_unbounded": ("", "LLM: the run's file said the request rate was unlimited"),
    },
    "regression_acks": {
        "flag_id": ("", "regression_flags.flag_id acknowledged"),
        "series_id": ("", "its series (a mute applies to every flag of it, later ones included)"),
        "kind": ("", "ack (this flag) or mute (the whole series)"),
        "note": ("", "why"),
        "acknowledged_by": ("", "who: --by, else $USER"),
        "acknowledged_at": ("UTC", "when"),
    },
    "regression_thresholds": {
        "scope": ("", "series_id of the series, or 'metric:' and the metric name for every series of it"),
        "metric": ("", "the metric (an analysed column of performance_results or llm_serving_results) it applies to"),
        "series_id": ("", "regression_flags.series_id, NULL for a metric-wide threshold"),
        "kind": ("", "relative (fraction of the level), absolute (metric unit) or noise (multiple of the series' noise)"),
        "value": ("", "the threshold in that kind's unit"),
        "note": ("", "why it was set"),
        "set_by": ("", "who set it"),
        "set_at": ("UTC", "when it was set"),
    },
    "regression_series_state": {
        "series_id": ("", "regression_flags.series_id analysed"),
        "point_count": ("", "points in the series at its last detection"),
        "max_result_id": ("", "largest result_id among them (of the series' fact table)"),
        "points_hash": ("", "xor of DuckDB hash(result_id, run_time, value) over them: order-free fingerprint"),
        "params_hash": ("", "hash of the detection parameters and detector revision used"),
        "flag_count": ("", "flags the series produced"),
        "analysed_at": ("UTC", "when the series was last analysed"),
    },
}

# --- derived tables: recomputed by every write for what it touched (lib/analytics/refresh.py) ------------
# Not created by the migrations: they exist after the first ingest.
# Their SQL is in benchmark_pipeline/lib/analytics/queries.py; hardware_recommendations comes from
# lib/analytics/recommend.py. Simulated results are left out of all of them.

_MEDIANS = {
    "median_latency_p50_ms": ("ms", "median of the results' median latency"),
    "median_latency_p99_ms": ("ms", "median of the results' 99th percentile latency"),
    "median_throughput_items_per_second": ("items/s", "median throughput"),
    "median_memory_peak_mb": ("MB", "median peak memory"),
    "median_power_watts": ("W", "median average power draw"),
    "median_items_per_joule": ("items/J", "median energy efficiency"),
}
_GROUP = {
    "model_name": ("", "models.model_name"),
    "model_family": ("", "models.model_family"),
    "batch_size": ("items", "batch size"),
    "precision": ("", "numeric precision (fp32, fp16, int8, ...)"),
    "hardware_type": ("", "canonical hardware type (cpu, cuda, ...)"),
    "device_name": ("", "device model name"),
    "hardware": ("", "label 'type: device' (the type alone when the device is unknown)"),
    "results": ("", "performance results behind the medians"),
    "last_run": ("UTC", "latest run_time among them"),
}

DERIVED_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "compatibility_matrix": {
        "level": ("", "model (one model's own tests) or family (family-level tests plus its models' tests)"),
        "subject": ("", "the model name or the family name"),
        "model_family": ("", "family of the subject"),
        "hardware_type": ("", "every known hardware type, tested or not"),
        "status": ("", "compatible, incompatible, partial (some tests failed) or untested"),
        "score": ("0..1", "share of compatible tests; NULL when untested"),
        "tests": ("", "compatibility tests counted"),
        "compatible_tests": ("", "of those, the compatible ones"),
        "last_tested": ("UTC", "latest run_time of those tests"),
        "error_summary": ("", "the three most frequent errors of the failed tests, with counts"),
    },
    "hardware_comparison": {
        **_GROUP,
        "median_latency_p50_ms": _MEDIANS["median_latency_p50_ms"],
        "latest_latency_p50_ms": ("ms", "median latency of the latest result"),
        "median_latency_p90_ms": ("ms", "median of the results' 90th percentile latency"),
        "latest_latency_p90_ms": ("ms", "90th percentile latency of the latest result"),
        "median_latency_p99_ms": _MEDIANS["median_latency_p99_ms"],
        "latest_latency_p99_ms": ("ms", "99th percentile latency of the latest result"),
        "median_throughput_items_per_second": _MEDIANS["median_throughput_items_per_second"],
        "latest_throughput_items_per_second": ("items/s", "throughput of the latest result"),
        "median_memory_peak_mb": _MEDIANS["median_memory_peak_mb"],
        "latest_memory_peak_mb": ("MB", "peak memory of the latest result"),
        "median_power_watts": _MEDIANS["median_power_watts"],
        "latest_power_watts": ("W", "power draw of the latest result"),
        "median_items_per_joule": _MEDIANS["median_items_per_joule"],
        "latest_items_per_joule": ("items/J", "energy efficiency of the latest result"),
        "median_latency_ms": ("ms", "median of the results' typical latency (p50, else average)"),
        "cpu_median_throughput_items_per_second": ("items/s", "the CPU baseline: median throughput of this model, "
                                                   "batch size and precision on CPU (every CPU device)"),
        "cpu_median_latency_ms": ("ms", "the CPU baseline's median typical latency (p50, else average)"),
        "speedup_vs_cpu": ("x", "median throughput over the CPU's (else CPU latency over this latency), same model, "
                                "batch size and precision"),
        "speedup_basis": ("", "throughput or latency: what speedup_vs_cpu compares; NULL without a CPU baseline"),
        "throughput_rank": ("", "1 = highest median throughput among the hardware of this model, batch and precision"),
    },
    "model_comparison": {
        **{k: _GROUP[k] for k in ("hardware_type", "device_name", "hardware", "batch_size", "precision",
                                  "model_name", "model_family", "results", "last_run")},
        **_MEDIANS,
        "relative_throughput": ("0..1", "median throughput over the best model's on this hardware, batch and precision"),
        "throughput_rank": ("", "1 = highest median throughput among the models on this hardware, batch and precision"),
    },
    "daily_model_stats": {
        "model_name": _GROUP["model_name"],
        "model_family": _GROUP["model_family"],
        "day": ("UTC date", "day of run_time"),
        "mean_throughput_items_per_second": ("items/s", "mean throughput of the day's results"),
        "p95_latency_ms": ("ms", "95th percentile of the day's typical latency (p50, else average)"),
        "benchmarks": ("", "performance results that day"),
        "hardware_platforms": ("", "distinct hardware platforms benchmarked that day"),
    },
    "hardware_recommendations": {
        **{k: _GROUP[k] for k in ("model_name", "batch_size", "precision", "hardware_type", "device_name",
                                  "hardware")},
        "latency_p99_ms": ("ms", "criterion: median 99th percentile latency (lower is better)"),
        "throughput_items_per_second": ("items/s", "criterion: median throughput (higher is better)"),
        "memory_peak_mb": ("MB", "criterion: median peak memory (lower is better)"),
        "power_watts": ("W", "criterion: median power draw (lower is better)"),
        "cost_per_hour_usd": ("USD/h", "criterion: list price per hour from hardware_costs.csv (lower is better)"),
        "pareto_optimal": ("", "no other hardware of the group is at least as good on every criterion used"),
        "topsis_score": ("0..1", "TOPSIS closeness to the ideal (default weights: see docs/analytics.md)"),
        "topsis_rank": ("", "1 = best TOPSIS score in the group; NULL when it could not be ranked"),
        "criteria_used": ("", "criteria with values for the whole group (the others are left out)"),
        "candidates": ("", "hardware compared in the group"),
    },
}
DERIVED_TABLES = tuple(vocabulary.DERIVED_TABLES)


def dictionary() -> dict[str, dict[str, tuple[str, str]]]:
    """Every table a warehouse can hold: the migrated ones, then the derived ones."""
    return {**COLUMNS, **DERIVED_COLUMNS}
