"""Regression flags in the warehouse: incremental detection, open regressions, acknowledgements.

Shared by the ``regression_flags`` asset, its check and ``benchmark-db regressions``; the rules
themselves (what to redo, what a flag holds, recovery, which columns of which fact table are series)
are in ``lib/changepoint/series.py``. Performance and LLM-serving results go through the same code:
only the SQL that reads a fact table's rows (``_WIDE_SQL``) differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import duckdb
import pandas as pd

from benchmark_pipeline.lib.changepoint.robust import (
    DEFAULT_MAX_OUTLIERS,
    DEFAULT_MIN_RUN,
    DEFAULT_OUTLIER_ALPHA,
    DEFAULT_OUTLIER_BASIS,
    DEFAULT_RESIDUAL_WIDTH,
    default_max_pvalue,
)
from benchmark_pipeline.lib.changepoint.noise import (
    DEFAULT_CHANGE_NOISE,
    DEFAULT_OUTLIER_NOISE,
    THRESHOLD_KINDS,
    Threshold,
)
from benchmark_pipeline.lib.changepoint.otava import DEFAULT_MIN_MAGNITUDE, DEFAULT_WINDOW_LEN
from benchmark_pipeline.lib.changepoint.series import (
    DEFAULT_HISTORY,
    FLAG_TABLE_COLUMNS,
    LLM_SERVING_RESULTS,
    METRICS,
    PERFORMANCE,
    PERFORMANCE_RESULTS,
    SOURCES,
    SeriesSource,
    build_flags,
    metric_direction,
    params_hash,
    series_to_analyse,
)

from . import scalar
from .schema import current_version
from .transaction import registered, transaction

FLAGS_SCHEMA_VERSION = 4
# The version that added confirmation, noise and regression_thresholds (issue 18).
NOISE_SCHEMA_VERSION = 6
# The version that keys LLM series (llm_series_key) and lets flags say which facts they are about (issue 15).
LLM_SCHEMA_VERSION = 10
# Hashed into every series' state with the parameters: bump it when the detector's code changes
# its answers (e.g. the GESD cap on short series), so the next run re-analyses everything.
DETECTION_REVISION = 3


class NoFlagsError(RuntimeError):
    """The warehouse predates the regression tables, or detection never ran on its results."""


@dataclass(frozen=True)
class RefreshReport:
    series_total: int
    series_analysed: int
    series_removed: int
    flags_written: int
    flags_total: int


def detection_options(mode: str = "robust", history: int = DEFAULT_HISTORY) -> dict[str, Any]:
    """Every parameter that shapes the flags, so it can be hashed into each series' state."""
    options: dict[str, Any] = {
        "window_len": DEFAULT_WINDOW_LEN,
        "max_pvalue": default_max_pvalue(mode),
        "min_magnitude": DEFAULT_MIN_MAGNITUDE,
        "history": history,
    }
    if mode == "robust":
        options.update(
            min_run=DEFAULT_MIN_RUN, max_outliers=DEFAULT_MAX_OUTLIERS, outlier_alpha=DEFAULT_OUTLIER_ALPHA,
            outlier_basis=DEFAULT_OUTLIER_BASIS, residual_width=DEFAULT_RESIDUAL_WIDTH,
            change_noise=DEFAULT_CHANGE_NOISE, outlier_noise=DEFAULT_OUTLIER_NOISE,
        )
    return options


def _params_hash(mode: str, include_simulated: bool, history: int, threshold: Threshold | None = None) -> str:
    extra = {} if threshold is None else {"threshold": [threshold.kind, threshold.value]}
    options = detection_options(mode, history)
    return params_hash(mode, include_simulated, {**options, "revision": DETECTION_REVISION, **extra})


def _series_params(
    conn: duckdb.DuckDBPyConnection, current: pd.DataFrame, mode: str, include_simulated: bool,
    history: int = DEFAULT_HISTORY,
) -> tuple[dict[str, str], dict[str, Threshold]]:
    """Per-series parameter hashes ("" = every series without a threshold) and the thresholds in force."""
    chosen = series_thresholds(conn, current) if mode == "robust" else {}
    params = {"": _params_hash(mode, include_simulated, history)}
    for sid, threshold in chosen.items():
        params[sid] = _params_hash(mode, include_simulated, history, threshold)
    return params, chosen


# What each fact table's rows are read as: the series' key and label columns beside the metric columns.
_WIDE_SQL = {
    PERFORMANCE_RESULTS: """
        SELECT r.result_id, r.run_id, r.run_time, m.model_name, h.hardware_id,
               h.hardware_key, h.fingerprint AS hardware_fingerprint, h.hardware_type, h.device_name,
               r.batch_size, r.sequence_length, r.precision, r.test_case, {metrics}
        FROM performance_results r
        JOIN models m ON m.model_id = r.model_id
        JOIN hardware_platforms h ON h.hardware_id = r.hardware_id
    """,
    # The framework by name only (see LLM in lib/changepoint/series.py); the version served, the platform
    # and the GPU count from their dimensions, never the configuration's price.
    LLM_SERVING_RESULTS: """
        SELECT r.result_id, r.run_id, r.run_time, m.model_name, h.hardware_id,
               h.hardware_key, h.fingerprint AS hardware_fingerprint, h.hardware_type, h.device_name,
               r.model_version_id, v.quantization, v.bits, v.weights_format, v.precision, c.gpu_count,
               lower(f.name) AS framework, r.tool, r.workload_type, r.dataset, r.input_tokens_configured,
               r.output_tokens_configured, r.concurrency, r.concurrency_unbounded, r.request_rate,
               r.request_rate_unbounded, r.batch_size, {metrics}
        FROM llm_serving_results r
        JOIN models m ON m.model_id = r.model_id
        JOIN hardware_platforms h ON h.hardware_id = r.hardware_id
        JOIN model_versions v ON v.model_version_id = r.model_version_id
        JOIN hardware_configurations c ON c.hardware_config_id = r.hardware_config_id
        LEFT JOIN inference_frameworks f ON f.framework_id = r.framework_id
    """,
}


def _sources(conn: duckdb.DuckDBPyConnection) -> tuple[SeriesSource, ...]:
    """The fact tables this warehouse can be analysed over: LLM results once llm_series_key exists (version 10).

    A reader never migrates, so a listing on a warehouse no writer has opened since the upgrade still
    counts its stale series, over the performance results it can key.
    """
    return SOURCES if current_version(conn) >= LLM_SCHEMA_VERSION else (PERFORMANCE,)


def _long_points_sql(source: SeriesSource, include_simulated: bool, models: bool = False,
                     within: str | None = None, on: tuple[str, ...] = (), since: bool = False) -> str:
    # Unpivoted: one row per result and metric, NULLs dropped. Series ids are computed per series,
    # not per row (see current_fingerprints): hashing ten million rows was most of a detection run.
    # ``models``: only the models in the $models parameter (a list of names). ``within``: only the rows
    # whose ``on`` columns match a row of that relation, kept before the unpivot (the costly part), so a
    # few series of a big warehouse cost their own points. ``since``: only results from $since on (a bound on
    # run_time lets DuckDB skip whole row groups).
    metrics = ", ".join(source.metrics)
    conditions = ([] if include_simulated else ["NOT r.is_simulated"]) + \
        (["m.model_name IN (SELECT unnest($models::VARCHAR[]))"] if models else []) + \
        (["r.run_time >= $since"] if since else [])
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    wide = f"{_WIDE_SQL[source.fact_table].format(metrics=metrics)} {where}"
    if within is not None:
        match = " AND ".join(f"w.{c} IS NOT DISTINCT FROM k.{c}" for c in on)
        wide = f"SELECT w.* FROM ({wide}) w SEMI JOIN (SELECT DISTINCT {', '.join(on)} FROM {within}) k ON {match}"
    return f"""
        WITH wide AS ({wide}
        ), long AS (
            UNPIVOT wide ON {metrics} INTO NAME metric VALUE value
        )
        SELECT * FROM long WHERE isfinite(value)
    """


def _rows_of_run(source: SeriesSource) -> str:
    """The fact rows an ingestion run ($run) wrote, as ``_WIDE_SQL`` sees them (to find their series)."""
    metrics = ", ".join(source.metrics)
    return f"({_WIDE_SQL[source.fact_table].format(metrics=metrics)} WHERE r.ingestion_run_id = $run)"


# A series: one model on one platform at one configuration, one metric. Its id is a warehouse macro over
# typed values (series_key, migration 7; llm_series_key, migration 10), so it depends neither on surrogate
# ids, nor on the order things were ingested, nor on how a platform is printed.
def _series_group(source: SeriesSource) -> tuple[str, ...]:
    """What a series' points are grouped (and later joined) by: its key, the platform's id, the metric."""
    return tuple(dict.fromkeys((*source.key, "hardware_id", "metric")))


def _series_id_sql(source: SeriesSource) -> str:
    return f"{source.key_macro}({', '.join(source.key)}, metric)"


def current_fingerprints(conn: duckdb.DuckDBPyConnection, include_simulated: bool = False,
                         models: frozenset[str] | None = None, run_id: str | None = None,
                         history: int = DEFAULT_HISTORY) -> pd.DataFrame:
    """One row per series now in the warehouse: fact table, key, labels, (count, max result id, points hash) and
    ``history_from``, the run time of its ``history``-th latest point (where the points analysed start).

    ``models`` narrows the performance series to those models' (what an ingest touched); ``run_id`` to the
    series an ingestion run added points to (right when that run only added facts: a replaced or
    retracted file changes series it wrote nothing to). LLM series are always all looked at: an ingest's
    scope names the models of the performance facts it wrote, so an LLM-only drop would otherwise never be
    analysed; and there are few LLM series to fingerprint.
    """
    parts = []
    for source in _sources(conn):
        group = _series_group(source)
        labels = ", ".join(f"any_value({c}) AS {c}" for c in source.labels if c not in group)
        performance = source is PERFORMANCE
        of_run = {"within": _rows_of_run(source), "on": source.key} if performance and run_id else {}
        points = _long_points_sql(source, include_simulated, models=performance and models is not None, **of_run)
        parts.append(f"""
            SELECT {_series_id_sql(source)} AS series_id, '{source.fact_table}' AS fact_table,
                   * EXCLUDE (hardware_key) FROM (
                SELECT {", ".join(group)}, {labels}, count(*) AS point_count, max(result_id) AS max_result_id,
                       bit_xor(hash(result_id, run_time, value)) AS points_hash,
                       list_min(max(run_time, {int(history)})) AS history_from
                FROM ({points})
                GROUP BY ALL
            )""")
    params = ({} if models is None else {"models": sorted(models)}) | ({"run": run_id} if run_id else {})
    return conn.execute(f"SELECT * FROM ({' UNION ALL BY NAME '.join(parts)}) ORDER BY series_id", params).df()


def _points_of(conn: duckdb.DuckDBPyConnection, series: pd.DataFrame, include_simulated: bool,
               history: int) -> pd.DataFrame:
    """The latest ``history`` points of each of ``series`` (rows of ``current_fingerprints``), oldest first."""
    found = []
    for source in SOURCES:
        mine = series[series["fact_table"] == source.fact_table]
        if mine.empty:
            continue
        join = [c for c in _series_group(source) if c != "hardware_key"]
        points = _long_points_sql(source, include_simulated, models=True, within="redo_keys",
                                  on=tuple(c for c in join if c != "metric"), since=True)
        with registered(conn, "redo_keys", mine[["series_id", *join]]):
            found.append(conn.execute(f"""
                SELECT k.series_id, p.metric, p.run_id, t.source_sha256 AS run_key, p.result_id, p.run_time, p.value
                FROM ({points}) p
                JOIN test_runs t ON t.run_id = p.run_id
                JOIN redo_keys k ON {" AND ".join(f"p.{c} IS NOT DISTINCT FROM k.{c}" for c in join)}
                QUALIFY row_number() OVER (PARTITION BY k.series_id ORDER BY p.run_time DESC, p.result_id DESC)
                        <= $history
                ORDER BY k.series_id, p.run_time, p.result_id
            """, {"models": sorted(set(mine["model_name"])), "history": history,
                  "since": mine["history_from"].min()}).df())
    if not found:
        return pd.DataFrame(columns=["series_id", "metric", "run_id", "run_key", "result_id", "run_time", "value"])
    return pd.concat(found, ignore_index=True) if len(found) > 1 else found[0]


def stored_state(conn: duckdb.DuckDBPyConnection, current: pd.DataFrame | None = None,
                 models: frozenset[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
    """The state of the last detection; with ``models``, of the series that can belong to them: those
    in ``current`` and those flagged for those models or over LLM results, which a scoped detection looks
    at in full (a series state without a flag and without points is left for the next full detection to
    drop: it holds nothing a user sees). With ``run_id`` (a run that only added points), of the series in
    ``current`` and the LLM ones: no other series can have lost its points."""
    if models is None and run_id is None:
        return conn.execute("SELECT * FROM regression_series_state").df()
    flagged = ([] if run_id else ["model_name IN (SELECT unnest($models::VARCHAR[]))"]) + \
        ([f"fact_table = '{LLM_SERVING_RESULTS}'"] if current_version(conn) >= LLM_SCHEMA_VERSION else [])
    also = f" OR series_id IN (SELECT series_id FROM regression_flags WHERE {' OR '.join(flagged)})" if flagged else ""
    with registered(conn, "scoped_series", pd.DataFrame({"series_id": current["series_id"].astype(object)})):
        return conn.execute(
            "SELECT * FROM regression_series_state WHERE series_id IN (SELECT series_id FROM scoped_series)" + also,
            {} if run_id else {"models": sorted(models)}).df()


def stale_series(conn: duckdb.DuckDBPyConnection, mode: str = "robust", include_simulated: bool = False) -> int:
    """How many series a detection run would redo now (0: the flags are up to date)."""
    current = current_fingerprints(conn, include_simulated)
    params, _ = _series_params(conn, current, mode, include_simulated)
    changed, removed = series_to_analyse(current, stored_state(conn), params)
    return len(changed) + len(removed)


# Series are re-detected in passes of at most this many points, so detection's memory stays bounded
# whatever the warehouse holds (a pass holds its points as a frame; a longer series goes alone). A pass's
# frame costs ~0.5 kB per point (labels as Python strings): measured on 1M results (8,640 series, 14,930
# flags), 2M points per pass peaked at 1,715 MB RSS, 500k at 622 MB, in the same time within noise.
POINTS_PER_PASS = 500_000


def _in_passes(series: pd.DataFrame, limit: int, history: int) -> Iterator[pd.DataFrame]:
    """Rows of ``current_fingerprints`` in consecutive groups of about ``limit`` points analysed each."""
    if series.empty:
        return
    passes = (series["point_count"].clip(upper=history).cumsum().to_numpy() - 1) // limit
    for _, part in series.groupby(passes, sort=True):
        yield part


def refresh_flags(
    conn: duckdb.DuckDBPyConnection,
    mode: str = "robust",
    include_simulated: bool = False,
    now: datetime | None = None,
    workers: int = 1,
    models: frozenset[str] | None = None,
    run_id: str | None = None,
    history: int = DEFAULT_HISTORY,
) -> RefreshReport:
    """Re-detect the series whose points changed since the last run; leave the others' flags alone.

    ``models``: only look at these models' performance series (what a write touched), so a small drop
    costs what it changed rather than a pass over every point; None looks at every series. ``run_id``:
    only the performance series that ingestion run added points to, for a run that only added facts
    (nothing replaced or retracted): a drop then costs its own series, however many models it names.
    LLM series are looked at whatever ``models`` says (see ``current_fingerprints``). ``history``: how many
    of a series' latest points are analysed (``DEFAULT_HISTORY``; see there why not all).
    """
    now = now or datetime.now(timezone.utc)
    options = detection_options(mode, history)
    current = current_fingerprints(conn, include_simulated, models, run_id, history)
    params, chosen = _series_params(conn, current, mode, include_simulated, history)
    changed, removed = series_to_analyse(current, stored_state(conn, current, models, run_id), params)
    redo = pd.DataFrame({"series_id": pd.Series(changed + removed, dtype="object")})

    flags = pd.DataFrame(columns=list(FLAG_TABLE_COLUMNS))
    detect_options = {k: v for k, v in options.items() if k not in ("min_run", "history")}
    found = []
    for part in _in_passes(current[current["series_id"].isin(changed)], POINTS_PER_PASS, options["history"]):
        ids = part["series_id"].tolist()
        points = _points_of(conn, part, include_simulated, options["history"])
        with registered(conn, "redo_series", pd.DataFrame({"series_id": ids})):
            earlier = dict(conn.execute(
                "SELECT flag_id, detected_at FROM regression_flags JOIN redo_series USING (series_id)"
            ).fetchall())
        part_flags = build_flags(points, part, mode, now, min_run=options.get("min_run", 1),
                                 previous_detected_at=earlier, workers=workers,
                                 thresholds={k: v for k, v in chosen.items() if k in set(ids)} or None,
                                 **detect_options)
        if not part_flags.empty:
            found.append(part_flags)
        del points
    if found:
        flags = pd.concat(found, ignore_index=True) if len(found) > 1 else found[0]
        flags = flags.drop_duplicates("flag_id")  # two results of one run flagged alike: one flag

    state = current[current["series_id"].isin(changed)][["series_id", "point_count", "max_result_id", "points_hash"]]
    state = state.assign(
        params_hash=state["series_id"].map(lambda sid: params.get(sid, params[""])),
        flag_count=state["series_id"].map(flags["series_id"].value_counts()).fillna(0).astype("int64"),
        analysed_at=now,
    )
    columns = ", ".join(FLAG_TABLE_COLUMNS)
    with (registered(conn, "redo_series", redo),
          registered(conn, "new_flags", flags.astype({"hardware_id": "int64"}) if not flags.empty else flags),
          registered(conn, "new_state", state), transaction(conn)):
        conn.execute("DELETE FROM regression_flags WHERE series_id IN (SELECT series_id FROM redo_series)")
        conn.execute("DELETE FROM regression_series_state WHERE series_id IN (SELECT series_id FROM redo_series)")
        if not flags.empty:
            conn.execute(f"INSERT INTO regression_flags ({columns}) SELECT {columns} FROM new_flags")
        if not state.empty:
            conn.execute(
                "INSERT INTO regression_series_state (series_id, point_count, max_result_id, points_hash, "
                "params_hash, flag_count, analysed_at) SELECT series_id, point_count, max_result_id, "
                "points_hash, params_hash, flag_count, analysed_at FROM new_state"
            )
    return RefreshReport(
        series_total=len(current), series_analysed=len(changed), series_removed=len(removed),
        flags_written=len(flags), flags_total=int(scalar(conn, "SELECT count(*) FROM regression_flags")),
    )


# The one definition of an open regression (the CLI, the asset check and the reports all read it
# through list_flags / open_regressions). A regression's status, first rule that applies: superseded (a later change point in its series
# decides), recovered (the latest runs are back at the old level), muted (its series was muted),
# acknowledged (this flag was), else open. Improvements and outliers have no status.
_FLAGS_WITH_STATUS = """
    WITH acks AS (
        SELECT flag_id, arg_max(kind, acknowledged_at) AS ack_kind, arg_max(note, acknowledged_at) AS ack_note,
               arg_max(acknowledged_by, acknowledged_at) AS acknowledged_by, max(acknowledged_at) AS acknowledged_at
        FROM regression_acks GROUP BY flag_id
    ), muted AS (
        SELECT DISTINCT series_id FROM regression_acks WHERE kind = 'mute'
    )
    SELECT f.*, acks.ack_kind, acks.ack_note, acks.acknowledged_by, acks.acknowledged_at,
           muted.series_id IS NOT NULL AS series_muted,
           CASE WHEN f.kind <> 'regression' THEN NULL
                WHEN NOT f.is_latest_change THEN 'superseded'
                WHEN f.recovered THEN 'recovered'
                WHEN muted.series_id IS NOT NULL THEN 'muted'
                WHEN acks.flag_id IS NOT NULL THEN 'acknowledged'
                ELSE 'open' END AS status
    FROM regression_flags f
    LEFT JOIN acks ON acks.flag_id = f.flag_id
    LEFT JOIN muted ON muted.series_id = f.series_id
"""


def require_flags(conn: duckdb.DuckDBPyConnection) -> None:
    """Refuse to answer from a warehouse where no detection could have run."""
    version = current_version(conn)
    if version < FLAGS_SCHEMA_VERSION:
        raise NoFlagsError(
            f"the warehouse is at schema version {version}, before the regression tables "
            f"(version {FLAGS_SCHEMA_VERSION}); run `benchmark-db regressions update` or materialize regression_flags"
        )
    analysed = scalar(conn, "SELECT count(*) FROM regression_series_state")
    results = sum(scalar(conn, f"SELECT count(*) FROM {source.fact_table}") for source in _sources(conn))
    if results and not analysed:
        raise NoFlagsError(
            "regression detection has never run on this warehouse; run `benchmark-db regressions update` "
            "or materialize regression_flags"
        )


def list_flags(
    conn: duckdb.DuckDBPyConnection,
    model: str | None = None,
    hardware: str | None = None,
    since: datetime | None = None,
    only_open: bool = False,
    kind: str | None = None,
    confirmed_only: bool = False,
) -> pd.DataFrame:
    """Flags with their status and latest acknowledgement, newest first run first.

    ``only_open`` keeps open regressions, suspected ones included; ``confirmed_only`` drops every
    suspected flag (what ``regressions check --confirmed-only`` gates on).
    """
    where, params = [], []
    if model:
        where.append("model_name = ?")
        params.append(model)
    if hardware:
        where.append("lower(?) IN (lower(hardware_type), lower(device_name), lower(hardware_fingerprint), "
                     "CAST(hardware_id AS VARCHAR))")
        params.append(hardware)
    if since is not None:
        where.append("run_time >= ?")
        params.append(since)
    if only_open:
        where.append("status = 'open'")
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if confirmed_only:
        where.append("confirmation = 'confirmed'")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return _with_metric_direction(conn.execute(
        f"SELECT * FROM ({_FLAGS_WITH_STATUS}) {clause} "
        "ORDER BY run_time DESC, model_name, hardware_fingerprint, batch_size, metric, kind",
        params,
    ).df())


def _with_metric_direction(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags with ``metric_direction`` (higher_is_better / lower_is_better): why a change is the kind it is.

    Read from the vocabularies when listed, not stored: they are the one place a direction is written.
    """
    return flags.assign(metric_direction=flags["metric"].map(metric_direction).astype(object))


def open_regressions(
    conn: duckdb.DuckDBPyConnection, since: datetime | None = None, confirmed_only: bool = False,
) -> pd.DataFrame:
    """Open regressions (suspected ones too unless ``confirmed_only``), newest first."""
    return list_flags(conn, since=since, only_open=True, confirmed_only=confirmed_only)


def flags_with_status(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every flag with its status, in no particular order: what the reports read (same rule as the CLI)."""
    return _with_metric_direction(conn.execute(_FLAGS_WITH_STATUS).df())


def confirmation_counts(conn: duckdb.DuckDBPyConnection, only_open: bool = True) -> dict[str, int]:
    """How many (open, by default) regressions are confirmed and how many suspected."""
    clause = "WHERE status = 'open'" if only_open else "WHERE kind = 'regression'"
    rows = conn.execute(f"SELECT confirmation, count(*) FROM ({_FLAGS_WITH_STATUS}) {clause} GROUP BY 1").fetchall()
    counts = {"confirmed": 0, "suspected": 0}
    counts.update({str(k): int(v) for k, v in rows})
    return counts


# --- thresholds: how large a change must be, per metric or per series -----------------------------


class ThresholdError(ValueError):
    """A threshold that cannot be set or removed (unknown metric or series, bad kind or value)."""


def _threshold_scope(conn: duckdb.DuckDBPyConnection, metric: str | None, series_id: str | None) -> tuple[str, str, str | None]:
    """(scope, metric, series_id) for a metric-wide or a series threshold; the series' metric is looked up."""
    if series_id:
        text = series_id.strip().lower()
        rows = conn.execute(
            "SELECT DISTINCT series_id, metric FROM regression_flags WHERE starts_with(series_id, ?) "
            "UNION SELECT DISTINCT series_id, NULL FROM regression_series_state WHERE starts_with(series_id, ?)",
            [text, text]).fetchall()
        ids = sorted({r[0] for r in rows})
        if len(ids) != 1:
            raise ThresholdError(f"series {series_id!r} matches {len(ids)} analysed series; give its full id "
                                 "(`regressions list --format json` shows series_id)")
        sid = ids[0]
        known = next((r[1] for r in rows if r[0] == sid and r[1]), None)
        if known is None:
            known = _series_metric(conn, sid)
        if metric and known and metric != known:
            raise ThresholdError(f"series {sid} is a series of {known}, not {metric}")
        return sid, known or metric or "", sid
    if not metric:
        raise ThresholdError("a threshold needs a metric or a series")
    if metric not in METRICS:
        raise ThresholdError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    return f"metric:{metric}", metric, None


def _series_metric(conn: duckdb.DuckDBPyConnection, series_id: str) -> str | None:
    current = current_fingerprints(conn)
    hit = current.loc[current["series_id"] == series_id, "metric"]
    return str(hit.iloc[0]) if len(hit) else None


def set_threshold(
    conn: duckdb.DuckDBPyConnection,
    kind: str,
    value: float,
    *,
    metric: str | None = None,
    series_id: str | None = None,
    note: str | None = None,
    by: str = "unknown",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Set (or replace) the threshold of a metric (every series of it) or of one series.

    ``kind`` is relative (0.05 = 5 % of the series' level), absolute (metric unit) or noise (a
    multiple of the series' noise). It replaces robust mode's default noise floors for change
    points and outliers, and the band of ``compare --run``; the next ``regressions update``
    re-analyses the series it covers.
    """
    if kind not in THRESHOLD_KINDS:
        raise ThresholdError(f"threshold kind must be one of {', '.join(THRESHOLD_KINDS)}, not {kind!r}")
    try:
        Threshold(kind, float(value))
    except ValueError as exc:
        raise ThresholdError(str(exc)) from None
    scope, metric_name, sid = _threshold_scope(conn, metric, series_id)
    row = {"scope": scope, "metric": metric_name, "series_id": sid, "kind": kind, "value": float(value),
           "note": note, "set_by": by, "set_at": now or datetime.now(timezone.utc)}
    conn.execute("DELETE FROM regression_thresholds WHERE scope = ?", [scope])
    conn.execute("INSERT INTO regression_thresholds (scope, metric, series_id, kind, value, note, set_by, set_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row.values()))
    return row


def list_thresholds(conn: duckdb.DuckDBPyConnection, metric: str | None = None) -> pd.DataFrame:
    """Every threshold (metric-wide first), optionally of one metric."""
    where, params = ("WHERE metric = ?", [metric]) if metric else ("", [])
    return conn.execute(f"SELECT scope, metric, series_id, kind, value, note, set_by, set_at "
                        f"FROM regression_thresholds {where} ORDER BY series_id NULLS FIRST, metric, scope",
                        params).df()


def remove_threshold(conn: duckdb.DuckDBPyConnection, *, metric: str | None = None,
                     series_id: str | None = None) -> bool:
    """Remove the threshold of a metric or a series (True when there was one); defaults apply again."""
    scope, _metric, _sid = _threshold_scope(conn, metric, series_id)
    found = conn.execute("SELECT count(*) FROM regression_thresholds WHERE scope = ?", [scope]).fetchone()[0]
    conn.execute("DELETE FROM regression_thresholds WHERE scope = ?", [scope])
    return bool(found)


def series_thresholds(conn: duckdb.DuckDBPyConnection, series: pd.DataFrame) -> dict[str, Threshold]:
    """The threshold in force for each series of ``series`` (series_id, metric): its own, else its metric's."""
    if current_version(conn) < NOISE_SCHEMA_VERSION or series.empty:
        return {}
    rows = conn.execute("SELECT metric, series_id, kind, value FROM regression_thresholds").fetchall()
    if not rows:
        return {}
    by_metric = {m: Threshold(k, v) for m, sid, k, v in rows if sid is None}
    by_series = {sid: Threshold(k, v) for m, sid, k, v in rows if sid is not None}
    out: dict[str, Threshold] = {}
    for sid, metric in zip(series["series_id"], series["metric"]):
        chosen = by_series.get(sid) or by_metric.get(metric)
        if chosen is not None:
            out[sid] = chosen
    return out


class FlagLookupError(LookupError):
    """No flag, or more than one, matches the id given."""


def resolve_flag(conn: duckdb.DuckDBPyConnection, flag: str) -> dict[str, Any]:
    """The flag whose id is ``flag`` or starts with it (ids are hex, so a prefix is enough to type)."""
    text = flag.strip().lower()
    if not text:
        raise FlagLookupError("empty flag id")
    rows = conn.execute(
        "SELECT flag_id, series_id, kind FROM regression_flags WHERE starts_with(flag_id, ?) ORDER BY flag_id",
        [text],
    ).fetchall()
    if not rows:
        raise FlagLookupError(f"no regression flag with id {flag!r} (see `benchmark-db regressions list`)")
    if len(rows) > 1:
        raise FlagLookupError(f"{flag!r} matches {len(rows)} flags ({', '.join(r[0] for r in rows[:5])}); "
                              "give more of the id")
    return dict(zip(("flag_id", "series_id", "kind"), rows[0]))


def acknowledge(
    conn: duckdb.DuckDBPyConnection, flag: str, note: str, by: str, mute: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record an ack (this flag) or a mute (this flag's whole series, later flags included)."""
    found = resolve_flag(conn, flag)
    row = {**found, "ack_kind": "mute" if mute else "ack", "note": note, "acknowledged_by": by,
           "acknowledged_at": now or datetime.now(timezone.utc)}
    conn.execute(
        "INSERT INTO regression_acks (flag_id, series_id, kind, note, acknowledged_by, acknowledged_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [row["flag_id"], row["series_id"], row["ack_kind"], note, by, row["acknowledged_at"]],
    )
    return row


def hardware_label(frame: pd.DataFrame) -> pd.Series:
    """The device's name (else its type, else its fingerprint); ``8x`` before it where a GPU count is known."""
    name = frame["device_name"].fillna(frame["hardware_type"]).fillna(frame["hardware_fingerprint"])
    if "gpu_count" not in frame:
        return name
    return pd.Series([n if _missing(c) else f"{int(c)}x {n}" for n, c in zip(name, frame["gpu_count"])],
                     index=frame.index, dtype=object)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _number(value: Any) -> str:
    return f"{float(value):g}"


def serving_label(flag: Any) -> str:
    """An LLM series' configuration as a person names it, from the flag's typed columns (never its identity).

    Framework, the version served (quantization and bits, else weights format), load (concurrency and
    request rate, "unbounded" where the run set no limit), configured tokens, dataset, workload and tool.
    """
    def get(name: str) -> Any:
        value = getattr(flag, name, None)
        return None if _missing(value) else value

    parts = [get("framework") or "framework unknown"]
    version = " ".join(x for x in (get("quantization"), f"{int(get('bits'))}-bit" if get("bits") else None) if x)
    if version or get("weights_format"):
        parts.append(version or str(get("weights_format")))
    if get("concurrency_unbounded"):
        parts.append("concurrency unbounded")
    elif get("concurrency") is not None:
        parts.append(f"concurrency {int(get('concurrency'))}")
    if get("request_rate_unbounded"):
        parts.append("rate unbounded")
    elif get("request_rate") is not None:
        parts.append(f"{_number(get('request_rate'))} req/s")
    tokens = [f"{side} {_number(get(f'{side}put_tokens_configured'))}" for side in ("in", "out")
              if get(f"{side}put_tokens_configured") is not None]
    if tokens:
        parts.append(" / ".join(tokens) + " tokens")
    parts.extend(str(get(c)) for c in ("dataset", "workload_type", "tool") if get(c) is not None)
    return " · ".join(parts)


_SUMMARY_COLUMNS = ["flag", "kind", "status", "confirmation", "model", "hardware", "batch", "seq", "precision",
                    "test_case", "metric", "first_bad_run", "change_pct", "p_value"]


def summary_frame(flags: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads first, in the order they read them.

    A listing with LLM flags has a ``serving`` column before the metric (framework, version served, load,
    tokens, dataset, tool: ``serving_label``); a listing of performance flags only reads as it always did.
    """
    if flags.empty:
        return pd.DataFrame(columns=_SUMMARY_COLUMNS)
    llm = flags["fact_table"].eq(LLM_SERVING_RESULTS) if "fact_table" in flags else pd.Series(False, flags.index)
    frame = pd.DataFrame({
        "flag": flags["flag_id"].str[:12],
        "kind": flags["kind"],
        "status": flags["status"].fillna(""),
        "confirmation": flags["confirmation"] if "confirmation" in flags else "confirmed",
        "model": flags["model_name"],
        "hardware": hardware_label(flags),
        "batch": flags["batch_size"].astype("Int64").astype("string").fillna(""),
        "seq": flags["sequence_length"].astype("Int64").astype("string").fillna(""),
        "precision": flags["precision"].fillna(""),
        "test_case": flags["test_case"].fillna(""),
        "metric": flags["metric"],
        "first_bad_run": pd.to_datetime(flags["run_time"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
        "change_pct": flags["pct_change"].map(lambda x: f"{x:+.1f}%" if pd.notna(x) else ""),
        "p_value": flags["pvalue"].map(lambda x: f"{x:.2g}" if pd.notna(x) else ""),
    })
    if llm.any():
        labels = [serving_label(row) if is_llm else "" for row, is_llm in zip(flags.itertuples(index=False), llm)]
        frame.insert(frame.columns.get_loc("metric"), "serving", labels)
    return frame


def markdown_summary(open_flags: pd.DataFrame, limit: int = 20) -> str:
    """What the asset check and the asset show in the Dagster UI."""
    if open_flags.empty:
        return "No open regressions."
    series = open_flags.groupby(["model_name", "hardware_fingerprint"]).size()
    head = (f"**{len(open_flags)} open regression(s)** on {len(series)} model x hardware pair(s); "
            "acknowledge with `benchmark-db regressions ack ID --note TEXT`.\n\n")
    table = summary_frame(open_flags.head(limit)).drop(columns=["status", "kind"]).to_markdown(index=False)
    more = f"\n\n… and {len(open_flags) - limit} more" if len(open_flags) > limit else ""
    return head + table + more
