"""Request and response bodies of the REST API, each field described (they become the OpenAPI components)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    """Responses: columns a newer service adds are left out, never an error."""

    model_config = ConfigDict(extra="ignore")


class RequestModel(BaseModel):
    """Requests: an unknown field is refused (400), so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(ApiModel):
    """Every error: a stable code for programs and a message for people, saying what to do about it."""

    error: str = Field(description="A short, stable code, e.g. unknown_name, invalid_request, missing_token")
    message: str = Field(description="What went wrong and what to do about it")
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="Per-item detail where there is some, e.g. the request fields that are invalid")


# -- writes ---------------------------------------------------------------------------------------

class QuarantinedOut(ApiModel):
    """One reason a record was not stored (a record may have several)."""

    record_index: int | None = Field(description="Position of the record in what was sent (0-based); null: the "
                                                  "whole submission")
    field: str | None = Field(description="The field at fault, if one is")
    value: str | None = Field(description="The value that was refused, as text")
    reason: str = Field(description="Why, e.g. 'must be > 0' or 'missing required field'")


class SubmissionOut(ApiModel):
    """What became of submitted records (one submission is one ledger entry; its identity is its content hash)."""

    category: Literal["performance", "compatibility", "integration"]
    source_path: str = Field(description="api://<category>/<sha256 of the canonical JSON>: the submission's identity")
    status: str = Field(description="Ledger status: ingested, partial, quarantined, not a result; 'unchanged (…)' "
                                    "when the same records were sent before (nothing stored twice)")
    already_stored: bool = Field(description="True when these records were sent before: nothing new was stored and "
                                             "stored_ids are the ids stored the first time")
    records: int = Field(description="How many records were sent")
    stored: int = Field(description="How many facts are stored for this submission")
    stored_ids: list[int] = Field(description="Ids of the stored facts, in record order")
    quarantined: list[QuarantinedOut] = Field(description="Why each refused record was refused")
    message: str = Field(description="One line saying what happened")


class UploadQuarantinedOut(QuarantinedOut):
    """One reason a record of an uploaded file was not stored."""

    category: str | None = Field(description="The category the refused record was read as")


class UploadOut(ApiModel):
    """What became of an uploaded result file (one ledger entry; identity: the hash of its bytes and its name)."""

    source_path: str = Field(description="upload://<category>/<sha256 of the bytes>/<file name>")
    category: str = Field(description="How the file was read: a category, or legacy (the original system's shapes, "
                                      "recognised from the content)")
    size_bytes: int
    status: str = Field(description="Ledger status; 'unchanged (…)' or 'duplicate' when these bytes were stored "
                                    "before (nothing stored twice)")
    already_stored: bool
    detected_type: str | None = Field(description="The shape the reader recognised")
    reason: str | None = Field(description="Why nothing, or not everything, was stored")
    duplicate_of: str | None = Field(description="Where the same bytes were stored before")
    stored: int = Field(description="How many facts are stored for this file")
    stored_ids: dict[str, list[int]] = Field(description="Per category, the ids of the stored facts")
    quarantined: list[UploadQuarantinedOut]
    message: str


class AckIn(RequestModel):
    """An acknowledgement (or mute) of a regression flag."""

    note: str = Field(min_length=1, max_length=2000, description="Why (shown in listings and reports)")
    by: str | None = Field(default=None, max_length=200,
                           description="Who; default: the token's name, else 'token <id>'")


class AckOut(ApiModel):
    """The acknowledgement as recorded."""

    flag_id: str
    series_id: str
    kind: str = Field(description="The flag's kind (regression, improvement, …)")
    ack_kind: Literal["ack", "mute"] = Field(description="ack: this flag; mute: its whole series, later flags too")
    note: str
    acknowledged_by: str
    acknowledged_at: datetime


class RegressionUpdateOut(ApiModel):
    """What a re-detection of regressions analysed and found."""

    series_total: int = Field(description="Series in the warehouse")
    series_analysed: int = Field(description="Series whose points changed since the last detection, re-analysed")
    flags_total: int = Field(description="Flags stored after this update")


class QueryIn(RequestModel):
    """One read-only SQL statement and its limits."""

    sql: str = Field(min_length=1, max_length=100_000,
                     description="One SELECT, WITH … SELECT or EXPLAIN; anything else, and any file, network or "
                                 "extension access, is refused")
    max_rows: int = Field(default=1000, ge=1, le=10_000, description="Return at most this many rows")
    timeout_s: float = Field(default=10.0, gt=0, le=30, description="Stop the query after this many seconds")


class QueryOut(ApiModel):
    """The rows of a /query statement."""

    columns: list[str]
    rows: list[list[Any]] = Field(description="Row values in column order (dates as ISO 8601, blobs as base64)")
    row_count: int
    truncated: bool = Field(description="True when more rows matched than max_rows")


# -- results --------------------------------------------------------------------------------------

class PerformanceRow(ApiModel):
    """A stored performance result with its model and hardware names."""

    result_id: int
    run_id: int | None
    model_name: str | None
    model_family: str | None
    hardware_type: str | None
    device_name: str | None
    hardware: str | None = Field(description="'<type>: <device>', the label comparisons use")
    test_case: str | None
    batch_size: int | None
    sequence_length: int | None
    precision: str | None
    run_time: datetime | None = Field(description="When the benchmark ran (UTC)")
    average_latency_ms: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    throughput_items_per_second: float | None
    memory_peak_mb: float | None
    power_watts: float | None
    items_per_joule: float | None
    iterations: int | None
    is_simulated: bool | None = Field(description="The original system's simulated (not measured) numbers")
    source_path: str | None = Field(description="The file or submission the result came from")


class CompatibilityRow(ApiModel):
    """A stored hardware compatibility result."""

    compatibility_id: int
    run_id: int | None
    model_name: str | None
    model_family: str | None
    hardware_type: str | None
    device_name: str | None
    hardware: str | None
    is_compatible: bool | None
    compatibility_score: float | None
    detection_success: bool | None
    initialization_success: bool | None
    error_type: str | None
    error_message: str | None
    suggested_fix: str | None
    run_time: datetime | None
    is_simulated: bool | None
    source_path: str | None


class IntegrationRow(ApiModel):
    """A stored integration test result."""

    test_result_id: int
    run_id: int | None
    test_module: str | None
    test_class: str | None
    test_name: str | None
    status: str | None = Field(description="pass, fail, error or skip")
    execution_time_seconds: float | None
    model_name: str | None
    hardware_type: str | None
    device_name: str | None
    hardware: str | None
    error_message: str | None
    run_time: datetime | None
    is_simulated: bool | None
    source_path: str | None


class PageInfo(ApiModel):
    """Where this page of a cursor-paged listing ends."""

    limit: int = Field(description="The page size asked for (capped)")
    count: int = Field(description="Items on this page")
    next_after_id: int | None = Field(description="Pass as after_id for the next page; null on the last page")


class PerformancePage(ApiModel):
    """One page of performance results."""

    items: list[PerformanceRow]
    page: PageInfo


class CompatibilityPage(ApiModel):
    """One page of compatibility results."""

    items: list[CompatibilityRow]
    page: PageInfo


class IntegrationPage(ApiModel):
    """One page of integration test results."""

    items: list[IntegrationRow]
    page: PageInfo


# -- catalogue ------------------------------------------------------------------------------------

class ModelOut(ApiModel):
    """A model and how much the warehouse holds about it."""

    model_name: str
    model_family: str | None
    modality: str | None
    performance_results: int
    hardware_platforms: int = Field(description="Distinct platforms with performance results")
    last_run: datetime | None


class HardwareOut(ApiModel):
    """A hardware platform (type and device) and how much the warehouse holds about it."""

    hardware_id: int
    hardware_type: str
    device_name: str | None
    hardware: str = Field(description="'<type>: <device>'")
    platform: str | None
    memory_gb: float | None
    performance_results: int
    models: int = Field(description="Distinct models with performance results on it")
    last_run: datetime | None


class ModelSummaryOut(ApiModel):
    """One model on every hardware it ran on."""

    model_name: str
    hardware: list[dict[str, Any]] = Field(description="Rows of hardware_comparison: every hardware the model ran "
                                                       "on, per batch size and precision (medians, latest, rank)")


class HardwareSummaryOut(ApiModel):
    """Every model on one hardware type or device."""

    hardware: str
    models: list[dict[str, Any]] = Field(description="Rows of model_comparison: every model on this hardware, "
                                                     "ranked by throughput")


class RunResults(ApiModel):
    """How many results of each category a run holds."""

    performance: int
    compatibility: int
    integration: int


class RunOut(ApiModel):
    """A test run: its origin and its results."""

    run_id: int
    test_name: str | None
    test_type: str | None
    started_at: datetime | None
    completed_at: datetime | None
    git_commit: str | None
    git_branch: str | None
    record_count: int | None
    source_path: str | None
    ingestion_run_id: str | None
    ingested_at: datetime | None
    results: RunResults
    models: list[str]


class RunSideOut(ApiModel):
    """One side of a run comparison: a run, or every run of a git commit."""

    label: str
    run_ids: list[int]


class CompareOut(ApiModel):
    """A comparison as a table: ``columns`` names, ``rows`` values in that order."""

    kind: Literal["hardware", "models", "runs"] = Field(
        description="hardware: hardware side by side for a model; models: models on a hardware; runs: run A vs B")
    metric: str | None = Field(description="The metric compared (values are medians); runs: null means all")
    columns: list[str]
    rows: list[list[Any]]
    side_a: RunSideOut | None = None
    side_b: RunSideOut | None = None
    note: str = Field(description="How to read the table")


class FlagOut(BaseModel):
    """A regression flag with its status (open, acknowledged, muted, recovered, superseded)."""

    model_config = ConfigDict(extra="allow")

    flag_id: str
    series_id: str
    model_name: str | None
    hardware_type: str | None
    device_name: str | None
    batch_size: int | None
    precision: str | None
    metric: str
    kind: str
    direction: str | None
    status: str | None
    confirmation: str | None
    run_id: int | None
    run_time: datetime | None
    mean_before: float | None
    mean_after: float | None
    pct_change: float | None


class RankingOut(ApiModel):
    """One hardware's place in the ranking for a model, batch size and precision."""

    model_name: str
    batch_size: int | None
    precision: str | None
    hardware_type: str | None
    device_name: str | None
    hardware: str | None
    topsis_rank: int | None = Field(description="1 = best trade-off of the criteria used")
    topsis_score: float | None
    pareto_optimal: bool | None = Field(description="No other hardware is at least as good on every criterion")
    latency_p99_ms: float | None
    throughput_items_per_second: float | None
    memory_peak_mb: float | None
    power_watts: float | None
    cost_per_hour_usd: float | None
    candidates: int | None
    criteria_used: str | None


class CompatibilityCellOut(ApiModel):
    """One cell of the compatibility matrix."""

    level: str = Field(description="model or family")
    subject: str = Field(description="The model (or family) name")
    model_family: str | None
    hardware_type: str
    status: str | None = Field(description="compatible, partial, incompatible or untested")
    score: float | None
    tests: int | None
    compatible_tests: int | None
    last_tested: datetime | None
    error_summary: str | None


class HealthOut(ApiModel):
    """Whether the server can reach its warehouse, and what it holds."""

    status: Literal["ok", "empty", "unavailable"] = Field(
        description="ok: the warehouse opens; empty: nothing ingested yet; unavailable: it could not be opened")
    warehouse_reachable: bool
    warehouse: str = Field(description="The warehouse file this server serves")
    schema_version: int | None
    code_schema_version: int | None = Field(description="The schema version this server's code writes")
    last_ingest_at: datetime | None
    last_ingest_run: str | None
    open_regressions: int | None = Field(description="Open regression flags (null before detection tables exist)")
    performance_results: int | None
    data_as_of: datetime | None = Field(
        description="When the state reads are answered from was copied from the warehouse (reads use a read copy)")
    data_age_s: float | None = Field(
        description="0 while that copy is the newest committed state; while another process writes, seconds since "
                    "it was copied (the state before that write is served)")
    reads_need_token: bool
    message: str


# -- snapshots ------------------------------------------------------------------------------------

class SnapshotOut(ApiModel):
    """One snapshot of the version history: a verified, content-addressed copy of the warehouse."""

    cid: str = Field(description="The manifest's CID: the snapshot's identity (restore by it, or by either CID below)")
    database_cid: str = Field(description="CID of the DuckDB file as taken (UnixFS, as `ipfs add` computes it)")
    export_cid: str = Field(description="CID of the table export taken with it (identical data, identical CID)")
    created_at: datetime = Field(description="When the snapshot was taken (UTC)")
    size_bytes: int = Field(description="Size of the DuckDB file in bytes")
    state: Literal["local", "published", "pruned", "missing"] = Field(
        description="local: only in this server's blockstore; published: pinned on the IPFS node too; pruned: its "
                    "data was dropped by prune or retention (the entry stays); missing: its data is gone, not by "
                    "prune (`benchmark-db snapshot verify --all` says more)")
    row_counts: dict[str, int] = Field(description="Rows per warehouse table when the snapshot was taken")
    previous: str | None = Field(description="The manifest CID of the snapshot before this one; null for the first")


class SnapshotSyncOut(ApiModel):
    """What POST /snapshots did: the snapshot that is current now, and whether it is on the IPFS node."""

    cid: str = Field(description="The manifest CID of the current snapshot (new, or the existing one)")
    database_cid: str = Field(description="CID of its DuckDB file")
    export_cid: str = Field(description="CID of its table export")
    created: bool = Field(description="True: a new snapshot was taken; false: the data was unchanged since the last "
                                      "one (it was verified again and nothing was stored)")
    published: bool = Field(description="Whether the snapshot is pinned on the IPFS node (IPFS_API_URL)")
    warning: str | None = Field(description="Why it is not published, when it is not (no node configured, node "
                                            "unreachable); it stays local and a later POST publishes it")
    notes: list[str] = Field(description="What else was noticed on the way (leftovers of interrupted runs removed, "
                                         "damaged history entries passed over)")


class SnapshotRestoreOut(ApiModel):
    """What POST /snapshots/{cid}/restore did: the warehouse now holds that snapshot's data."""

    cid: str = Field(description="The manifest CID of the snapshot restored")
    target: str = Field(description="The warehouse file that was replaced")
    bytes: int = Field(description="Bytes written, every block verified on the way")
    backup: str | None = Field(description="Where the replaced file was copied first (beside the warehouse); null "
                                           "when there was no file to replace")
    notes: list[str] = Field(description="What else was noticed (leftovers of interrupted restores removed)")


# -- LLM serving ----------------------------------------------------------------------------------
# The criteria fields are made from ``serving.CRITERIA``, where SLAs and rankings are defined: a criterion added
# there is answered here, documented, without a second list to keep in step.

def _criterion_fields(only: tuple[str, ...] | None = None) -> dict[str, Any]:
    from benchmark_pipeline.lib.analytics.serving import CRITERIA

    return {c.column: (float | None, Field(default=None, description=f"{c.label} ({c.unit}; "
                                            f"{'higher' if c.higher_is_better else 'lower'} is better)"))
            for c in CRITERIA.values() if only is None or c.column in only}


class LlmConfigurationOut(ApiModel):
    """One serving configuration at one load: what ran, where, how hard it was driven, and its latest result."""

    model_name: str | None = None
    quantization: str | None = Field(default=None, description="e.g. awq, gptq, fp8; null: the weights as published")
    bits: int | None = Field(default=None, description="Bits per weight of the quantization")
    gpu: str | None = Field(default=None, description="The accelerator's device name")
    gpu_count: int | None = Field(default=None, description="Accelerators serving the model; null for a hosted API")
    provider: str | None = Field(default=None, description="Where the hardware was rented, if known")
    instance_type: str | None = None
    framework: str | None = Field(default=None, description="Serving framework, e.g. vllm")
    framework_version: str | None = None
    tool: str | None = Field(default=None, description="The benchmark tool that measured it")
    workload_type: str | None = Field(default=None, description="online (requests over time) or offline (a batch)")
    dataset: str | None = None
    input_tokens: float | None = Field(default=None, description="Input tokens per request: as configured, else "
                                                                 "as measured (rounded)")
    output_tokens: float | None = Field(default=None, description="Output tokens per request, the same way")
    concurrency: int | None = Field(default=None, description="Requests in flight at most (null: unbounded or "
                                                              "not a closed loop)")
    request_rate: float | None = Field(default=None, description="Requests per second offered (null: unbounded)")
    batch_size: int | None = None
    run_time: datetime | None = Field(default=None, description="When the latest result of this load ran (UTC)")
    result_id: int | None = Field(default=None, description="The llm_serving_results row answering for this load")
    cost_per_hour_usd: float | None = Field(default=None, description="Price of the whole configuration per hour")
    user_tokens_per_s_from: str | None = Field(
        default=None, description="Where user_tokens_per_s came from: 'tool' (its per-user speed) or "
                                  "'1000/tpot_ms_mean' (never above the true mean speed)")


def _with_criteria(name: str, base: type[BaseModel], doc: str, only: tuple[str, ...] | None = None
                   ) -> type[BaseModel]:
    from pydantic import create_model

    return create_model(name, __base__=base, __doc__=doc, __module__=__name__, **_criterion_fields(only))


LlmPointOut = _with_criteria(
    "LlmPointOut", LlmConfigurationOut,
    "A load point: a serving configuration at one load, its latest result with the criteria SLAs and rankings "
    "are written over (derived ones included: tokens/s per user and per GPU, $ per million output tokens, "
    "output tokens per joule).")


class LlmWorkloadOut(ApiModel):
    """Which load points a question was about (null: any)."""

    model: str | None = None
    workload_type: str | None = None
    dataset: str | None = None
    input_tokens: float | None = Field(default=None, description="Matched within ±10 %")
    output_tokens: float | None = Field(default=None, description="Matched within ±10 %")
    input_range: list[float] | None = Field(default=None, description="A use case's [min, max] input tokens")
    output_range: list[float] | None = Field(default=None, description="A use case's [min, max] output tokens")


class LlmUseCaseOut(ApiModel):
    """A use case of the taxonomy: the workload it means, the SLA a configuration must meet to serve it, and the
    TOPSIS weights its ranking uses."""

    use_case: str
    category: str
    subcategory: str
    pipeline_tag: str = Field(description="The Hugging Face pipeline tag of the task")
    description: str
    characteristics: dict[str, Any] = Field(description="input_tokens and output_tokens: [min, max] per request; "
                                                        "interactive: whether a person waits on it")
    sla: dict[str, dict[str, float]] = Field(description="{criterion: {'max' | 'min': limit}}; {}: no SLA")
    default_weights: dict[str, float] = Field(description="TOPSIS weight per criterion (normalised when ranking)")
    ranking_ttl_s: int = Field(description="How long a computed ranking stays valid")


class LlmSlaOut(ApiModel):
    """The load points meeting an SLA, cheapest per million output tokens first, and on how much evidence."""

    workload: LlmWorkloadOut
    sla: list[str] = Field(description="The SLA as read, one term each ('<' reads as '<=')")
    considered: int = Field(description="Load points in the workload and time range (latest result of each)")
    left_out: int = Field(description="Points lacking a value a term needs: they cannot be judged and are not in "
                                      "any count below")
    left_out_missing: dict[str, int] = Field(description="Per criterion, how many points lack it")
    judged: int = Field(description="considered - left_out")
    meeting: int = Field(description="Judged points meeting every term")
    meeting_unpriced: int = Field(description="Of those, how many have no price (listed last, never 'cheapest')")
    cheapest: LlmPointOut | None = Field(description="The priced point meeting the SLA with the lowest $ per million "
                                                     "output tokens; null when none")
    points: list[LlmPointOut] = Field(description="The points meeting it, cheapest first (at most limit)")


class _LlmCostFacts(LlmConfigurationOut):
    energy_joules: float | None = Field(default=None, description="Energy of the run, where measured")
    power_watts: float | None = Field(default=None, description="Mean power of the run, where measured")


LlmCostOut = _with_criteria(
    "LlmCostOut", _LlmCostFacts,
    "A load point's price and what it buys: output throughput, $ per million output tokens, and output tokens "
    "per joule where the run's energy or power was measured.",
    only=("output_tokens_per_s", "output_tokens_per_s_per_gpu", "usd_per_million_output_tokens",
          "output_tokens_per_joule"))


class LlmParetoPointOut(LlmPointOut):
    """A load point of the Pareto chart."""

    on_front: bool = Field(description="No other point has both more tokens/s per user and more per GPU")


class LlmParetoOut(ApiModel):
    """Output tokens/s per GPU against tokens/s per user (the serving trade-off), the front marked."""

    workload: LlmWorkloadOut
    left_out: int = Field(description="Points lacking either value (e.g. a hosted API has no GPU count)")
    points: list[LlmParetoPointOut] = Field(description="By tokens/s per user, ascending")


class LlmScoreTermOut(ApiModel):
    """One criterion's part in a TOPSIS score."""

    value: float | None
    unit: str
    direction: Literal["higher_is_better", "lower_is_better"]
    weight: float = Field(description="The weight used, normalised over the criteria kept")


class LlmRankedOut(LlmPointOut):
    """A configuration's best load point for the use case (within its workload, meeting its SLA), ranked."""

    rank_position: int = Field(description="1 = best trade-off of the use case's weighted criteria")
    composite_score: float = Field(description="TOPSIS closeness, 0 to 1 (higher is better)")
    score_breakdown: dict[str, LlmScoreTermOut] = Field(description="Per criterion used: value, direction, weight")


class LlmUnrankedOut(LlmPointOut):
    """A configuration meeting the use case's SLA that could not be ranked: it lacks a criterion most others have."""

    lacks: list[str] = Field(description="The weighted criteria it has no value for (a price, a GPU count)")


class LlmRankingsOut(ApiModel):
    """The TOPSIS ranking of serving configurations for a use case, and whether it is the stored one."""

    use_case: str
    cached: bool = Field(description="True: read from the stored rankings (model_rankings), which are fresh; false: "
                                     "computed for this request from the results (see reason)")
    reason: str = Field(description="fresh, never computed, inputs changed or expired")
    calculated_at: datetime | None = Field(description="When this ranking was computed")
    expires_at: datetime | None = Field(description="When it stops being valid and is recomputed")
    candidates: int = Field(description="Configurations ranked: a load point in the use case's workload meets its "
                                        "SLA and they have every criterion kept")
    criteria_dropped: list[str] = Field(description="Weighted criteria left out for all because most candidates "
                                                    "lack them (the other weights renormalised)")
    weights: dict[str, float] = Field(description="The use case's default weights")
    rankings: list[LlmRankedOut] = Field(description="Best first (at most limit)")
    unranked: list[LlmUnrankedOut] = Field(description="Configurations meeting the SLA but lacking a kept criterion")


class LlmSuitabilityOut(ApiModel):
    """How well a model serves a use case, over every configuration of it tested in the use case's workload."""

    model_name: str
    use_case: str
    suitability_score: float = Field(description="Share of the configurations tested that meet the use case's SLA")
    recommended: bool = Field(description="Some configuration meets the SLA and ranks in the top 3")
    priority: int | None = Field(description="The model's best rank for the use case (null: none ranked)")
    configurations_tested: int
    configurations_meeting_sla: int
    performance_summary: dict[str, float | None] = Field(
        description="best_ttft_ms_p90, best_user_tokens_per_s, best_usd_per_million_output_tokens")
    calculated_at: datetime


class LlmDailyOut(ApiModel):
    """One model's LLM-serving results of one UTC day (every result, not only the latest per load)."""

    model_name: str
    stats_date: date
    results: int
    configurations: int = Field(description="Distinct model version x hardware configuration x framework")
    median_ttft_ms_p90: float | None
    median_tpot_ms_p90: float | None
    max_output_tokens_per_s: float | None
    min_usd_per_million_output_tokens: float | None
    max_output_tokens_per_joule: float | None
    calculated_at: datetime
