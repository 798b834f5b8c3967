"""MLPerf Inference loadgen logs: ``mlperf_log_summary.txt`` (text) and ``mlperf_log_detail.txt`` (``:::MLLOG``
JSON lines), alone or, for the same run, combined into one result.

The summary's headline lines differ by scenario: Offline prints ``Samples per second`` and ``Tokens per
second`` (``(inferred)`` when loadgen derived tokens from samples), Server prints ``Completed samples per
second`` / ``Completed tokens per second`` and, for LLMs, first-token and time-to-output-token blocks. An
Interactive run prints ``Scenario : Server`` (it is a Server run with tighter latency limits); only its
directory says Interactive. Spacing around the colons varies, so lines are read as ``key : value`` with the
key's whitespace collapsed. All latencies are ns. Offline latencies and first-token times count from the one
query issued at time zero (completion order, not a request's latency) and are not stored.

A log names neither the model nor the hardware: by the submission layout
``<division>/<submitter>/results/<system>/<benchmark>/<scenario>/performance/run_N/`` the benchmark
directory names the model (``llama2-70b-99``: model ``llama2-70b`` at the 99% accuracy target) and the
system directory names the hardware; ``systems/<system>.json`` beside ``results`` (the system description)
is authoritative where present. Path components are also split on ``__``, the separator of a layout
flattened into one file name. Reading the system name (``8xMI300X_2xEPYC-9374F``, ``DGX-H100_H100-SXM-80GBx8``)
takes the token that names an accelerator, with its ``N x`` / ``x N`` count when written.

A summary and a detail log pair when their paths differ only in ``summary``/``detail`` and agree on the
scenario and the headline throughput: the summary's figures stand, the detail adds the loadgen version,
the run's date and duration, and whatever the summary lacked.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields as dataclass_fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..errors import LlmFormatError
from ..metrics import VALUE, ns_to_ms, percentile_stat, to_ms
from ..result import OFFLINE, ONLINE, LlmResult, MetricsBuilder
from ._common import run_time

NAME = "mlperf_loadgen"
SUMMARY_MARK = "MLPerf Results Summary"
# Every file loadgen writes is named so (summary, detail, accuracy, trace).
LOG_PREFIX = "mlperf_log_"
DETAIL_PREFIX = ":::MLLOG"
SCENARIOS = ("Offline", "Server", "SingleStream", "MultiStream", "Interactive")
_RUN_DIRS = ("performance", "accuracy")

_LINE = re.compile(r"^\s*([^:]*[^:\s])\s*:\s*(.*?)\s*$")
_SUMMARY_LATENCY = re.compile(
    r"^(min|max|mean|(\d+(?:\.\d+)?) percentile|(\d+)th percentile) (latency|first token latency|"
    r"time to output token) \((ns|us|ms|s)\)$")
_FAMILY = {"latency": "e2el_ms", "first token latency": "ttft_ms", "time to output token": "tpot_ms"}
# Offline issues every sample at time zero, so these measure completion order, not a request's latency.
_SINCE_ISSUE = ("e2el_ms", "ttft_ms")
_DETAIL_LATENCY = re.compile(r"^result_(first_token_)?(min|max|mean|(\d+(?:\.\d+)?)_percentile)_latency_ns$")
_DETAIL_TPOT = re.compile(r"^result_time_(?:per|to)_output_token_(?:(min|max|mean)|(\d+(?:\.\d+)?)_percentile_ns)$")
_ACCELERATOR = re.compile(r"(?i)(?:^|[^a-z0-9])(GH\d{3}|GB\d{3}|[ABHL]\d{2,3}|MI\d{3}|T4|V100|Gaudi|TPU|RTX|"
                          r"Orin|Xavier|Instinct|Radeon|Trainium|Inferentia)")
_ACCURACY_SUFFIX = re.compile(r"-(99(?:\.9)?)$")


# -- recognising ---------------------------------------------------------------------------------------

def matches(document: Any) -> bool:
    return isinstance(document, str) and (is_summary(document) or is_detail(document))


def is_summary(text: str) -> bool:
    return SUMMARY_MARK in text[:2000]


def is_detail(text: str) -> bool:
    for line in text.splitlines():
        if line.strip():
            return line.startswith(DETAIL_PREFIX)
    return False


def run_key(source: str) -> str:
    """What a summary and the detail log of the same run share: their path without the log's own name."""
    return re.sub(r"mlperf_log_(?:summary|detail)\.txt$", "", source)


# -- the submission layout -----------------------------------------------------------------------------

def submission_info(source: str) -> dict[str, str]:
    """system, benchmark, scenario (and submitter, division) from the path, when it follows the layout."""
    parts = [p for p in re.split(r"[\\/]+|__", source) if p]
    for index in range(len(parts) - 1, 1, -1):
        if parts[index] in SCENARIOS and index + 1 < len(parts) and (
                parts[index + 1] in _RUN_DIRS or parts[index + 1].startswith(("run_", "mlperf_log_"))):
            info = {"scenario": parts[index], "benchmark": parts[index - 1], "system": parts[index - 2]}
            if index >= 4 and parts[index - 3] == "results":
                info["submitter"] = parts[index - 4]
                if index >= 5:
                    info["division"] = parts[index - 5]
            return info
    return {}


def accelerator(system: str) -> tuple[str | None, int | None]:
    """(accelerator, count) named by a system name such as ``8xMI300X_2xEPYC`` or ``DGX-H100_H100-SXM-80GBx8``."""
    candidates: list[tuple[str, int | None]] = []
    for token in system.split("_"):
        counted = re.fullmatch(r"(\d+)x(.+)", token) or re.fullmatch(r"(.+?)x(\d+)", token)
        if counted:
            first, second = counted.groups()
            name, count = (second, int(first)) if first.isdigit() else (first, int(second))
        else:
            name, count = token, None
        if _ACCELERATOR.search(name):
            candidates.append((name, count))
    counted_first = sorted(candidates, key=lambda c: c[1] is None)
    return counted_first[0] if counted_first else (None, None)


def system_description_path(source: str) -> Path | None:
    """``systems/<system>.json`` of a real submission tree, when the file sits in one."""
    path = Path(source)
    parts = path.parts
    info = submission_info("/".join(parts))
    if not info or "results" not in parts:
        return None
    root = Path(*parts[:len(parts) - 1 - parts[::-1].index("results")])
    candidate = root / "systems" / f"{info['system']}.json"
    return candidate if candidate.is_file() else None


def apply_system_description(result: LlmResult, description: Any, where: str) -> LlmResult:
    """Hardware from a submission's system description, which outranks what the system name suggested."""
    if not isinstance(description, dict):
        raise LlmFormatError("a system description must be a JSON object", file=where)
    changes: dict[str, Any] = {}
    name = description.get("accelerator_model_name")
    if isinstance(name, str) and name.strip() and name.strip().upper() not in ("N/A", "NONE", "-"):
        changes["gpu_name"] = name.strip()
        per_node, nodes = description.get("accelerators_per_node"), description.get("number_of_nodes") or 1
        try:
            changes["gpu_count"] = int(per_node) * int(nodes)
        except (TypeError, ValueError):
            changes["gpu_count"] = None
    cpu = description.get("host_processor_model_name")
    if isinstance(cpu, str) and cpu.strip():
        changes["cpu_name"] = cpu.strip()
    framework = description.get("framework")
    if isinstance(framework, str) and framework.strip():
        changes["framework"] = framework.strip()
    if not changes:
        return result
    return result.with_changes(**changes, notes=result.notes + (f"hardware from the system description {where}",))


# -- parsing -------------------------------------------------------------------------------------------

def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    if not isinstance(document, str):
        raise LlmFormatError("an MLPerf log is text", file=source, record=record)
    if is_detail(document):
        return [_parse_detail(document, source)]
    return [_parse_summary(document, source)]


def _number(text: str, source: str, line: int, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise LlmFormatError(f"expected a number, got {text!r}", file=source, record=f"line {line}",
                             field=key) from None


def _base(source: str, scenario_in_file: str | None, notes: list[str], kind: str) -> dict[str, Any]:
    info = submission_info(source)
    scenario = scenario_in_file
    if info.get("scenario"):
        if scenario_in_file is None:
            scenario = info["scenario"]
        elif info["scenario"] == "Interactive" and scenario_in_file == "Server":
            scenario = "Interactive"
            notes.append("scenario Interactive from the directory (loadgen prints Server for it)")
        elif info["scenario"] != scenario_in_file:
            notes.append(f"the directory says {info['scenario']}, the log {scenario_in_file}: the log's is kept")
    extra: dict[str, Any] = {"scenario": scenario, "log": kind, "run_key": run_key(source)}
    base: dict[str, Any] = {"source": source, "tool": NAME, "extra": extra}
    if info:
        benchmark = info["benchmark"]
        suffix = _ACCURACY_SUFFIX.search(benchmark)
        base["model"] = benchmark[:suffix.start()] if suffix else benchmark
        if suffix:
            extra["accuracy_target"] = suffix.group(1)
        base["system_name"] = info["system"]
        gpu, count = accelerator(info["system"])
        base["gpu_name"], base["gpu_count"] = gpu, count
        for key in ("submitter", "division"):
            if key in info:
                extra[key] = info[key]
        notes.append("model and system from the submission directory names (the log names neither)")
        if gpu:
            notes.append(f"accelerator {gpu!r}{f' x{count}' if count else ''} read from the system name "
                         f"{info['system']!r}")
    else:
        notes.append("the path does not follow the submission layout: model and hardware unknown")
    base["workload_type"] = OFFLINE if scenario == "Offline" else ONLINE
    if scenario == "Offline":
        base["request_rate_unbounded"] = True
    elif scenario == "SingleStream":
        base["concurrency"] = 1
    return base


def _parse_summary(text: str, source: str) -> LlmResult:
    values: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if match:
            key = " ".join(match.group(1).lower().split())
            values.setdefault(key, (match.group(2), number))

    def get(key: str) -> float | None:
        if key not in values:
            return None
        raw, line = values[key]
        return _number(raw, source, line, key)

    if "scenario" not in values:
        raise LlmFormatError("an MLPerf summary without its 'Scenario :' line", file=source)
    mode = values.get("mode", ("", 0))[0]
    if "accuracy" in mode.lower():
        raise LlmFormatError(f"an accuracy-mode log (Mode : {mode}): no performance measurement", file=source)
    notes: list[str] = []
    base = _base(source, values["scenario"][0], notes, "summary")
    scenario = base["extra"]["scenario"]
    built = MetricsBuilder()
    for key, (raw, line) in values.items():
        match = _SUMMARY_LATENCY.match(key)
        if not match:
            continue
        word, fraction, ordinal, family, unit = match.groups()
        metric = _FAMILY[family]
        if metric in _SINCE_ISSUE and scenario == "Offline":
            continue
        stat = percentile_stat(fraction or ordinal) if (fraction or ordinal) else word
        built.put(metric, stat, to_ms(_number(raw, source, line, key), unit), origin=key)
    if scenario == "Offline" and any(_SUMMARY_LATENCY.match(k) for k in values):
        notes.append("Offline latencies and first-token times (time since the single query was issued) not stored")
    if scenario == "Offline":
        built.put("samples_per_s", VALUE, get("samples per second"))
        num_prompts = get("samples_per_query")
        base["num_prompts"] = int(num_prompts) if num_prompts is not None else None
    elif scenario in ("Server", "Interactive"):
        built.put("requests_per_s", VALUE, get("completed samples per second"))
        base["request_rate"] = get("target_qps")
        scheduled = get("scheduled samples per second")
        if scheduled is not None:
            base["extra"]["scheduled_samples_per_s"] = scheduled
    else:
        built.put("samples_per_s", VALUE, get("samples per second"))
    tokens = get("completed tokens per second") or get("tokens per second")
    if tokens is None and get("tokens per second (inferred)") is not None:
        tokens = get("tokens per second (inferred)")
        notes.append("output tokens/s inferred by loadgen from samples/s and the expected tokens per sample")
    built.put("output_tokens_per_s", VALUE, tokens)
    for key, name in (("ttft_latency (ns)", "ttft_constraint_ms"), ("tpot_latency (ns)", "tpot_constraint_ms")):
        if get(key):
            base["extra"][name] = ns_to_ms(get(key))
    validity = values.get("result is", ("", 0))[0]
    if validity:
        base["extra"]["result_validity"] = validity
        if validity.upper() != "VALID":
            notes.append(f"loadgen marked this result {validity}")
    if "sut name" in values:
        base["extra"]["sut_name"] = values["sut name"][0]
    notes.extend(built.notes)
    if not built:
        raise LlmFormatError("an MLPerf summary without any result line (samples/tokens per second, latencies)",
                             file=source)
    return LlmResult(**base, metrics=built.metrics, notes=tuple(notes))


def _detail_entries(text: str, source: str) -> tuple[dict[str, Any], list[str], int]:
    entries: dict[str, Any] = {}
    errors: list[str] = []
    warnings = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith(DETAIL_PREFIX):
            continue
        try:
            payload = json.loads(line[len(DETAIL_PREFIX):])
        except json.JSONDecodeError as exc:
            raise LlmFormatError(f"not JSON after {DETAIL_PREFIX}: {exc.msg}", file=source,
                                 record=f"line {number}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("key"), str):
            raise LlmFormatError("an MLLOG entry without its 'key'", file=source, record=f"line {number}",
                                 field="key")
        entries[payload["key"]] = payload.get("value")
        metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
        if metadata.get("is_error"):
            errors.append(f"{payload['key']}: {payload.get('value')}")
        elif metadata.get("is_warning"):
            warnings += 1
    return entries, errors, warnings


def _detail_number(entries: dict[str, Any], key: str, source: str) -> float | None:
    value = entries.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LlmFormatError(f"expected a number, got {value!r}", file=source, field=key)
    return float(value)


def _parse_detail(text: str, source: str) -> LlmResult:
    entries, errors, warnings = _detail_entries(text, source)
    scenario = entries.get("effective_scenario") or entries.get("requested_scenario")
    if not isinstance(scenario, str):
        raise LlmFormatError("an MLPerf detail log without effective_scenario", file=source,
                             field="effective_scenario")
    mode = str(entries.get("effective_test_mode") or "")
    if "accuracy" in mode.lower():
        raise LlmFormatError(f"an accuracy-mode log ({mode}): no performance measurement", file=source)
    notes: list[str] = []
    base = _base(source, scenario, notes, "detail")
    scenario = base["extra"]["scenario"]
    number = lambda key: _detail_number(entries, key, source)  # noqa: E731
    built = MetricsBuilder()
    for key in entries:
        match = _DETAIL_LATENCY.match(key)
        if match:
            first_token, word, fraction = match.groups()
            metric = "ttft_ms" if first_token else "e2el_ms"
            if metric in _SINCE_ISSUE and scenario == "Offline":
                continue
            built.put(metric, percentile_stat(fraction) if fraction else word, ns_to_ms(number(key)), origin=key)
            continue
        match = _DETAIL_TPOT.match(key)
        if match:
            word, fraction = match.groups()
            built.put("tpot_ms", percentile_stat(fraction) if fraction else word, ns_to_ms(number(key)),
                      origin=key)
    if scenario == "Offline":
        built.put("samples_per_s", VALUE, number("result_samples_per_second"))
    elif scenario in ("Server", "Interactive"):
        built.put("requests_per_s", VALUE, number("result_completed_samples_per_sec"))
        base["request_rate"] = number("effective_target_qps")
        if number("result_scheduled_samples_per_sec") is not None:
            base["extra"]["scheduled_samples_per_s"] = number("result_scheduled_samples_per_sec")
    else:
        built.put("samples_per_s", VALUE, number("result_samples_per_second"))
    tokens = number("result_completed_tokens_per_second") or number("result_tokens_per_second")
    if tokens is None and number("result_inferred_tokens_per_second") is not None:
        tokens = number("result_inferred_tokens_per_second")
        notes.append("output tokens/s inferred by loadgen from samples/s and the expected tokens per sample")
    built.put("output_tokens_per_s", VALUE, tokens)
    queries, per_query = number("result_query_count"), number("effective_samples_per_query")
    if queries is not None and per_query is not None:
        base["num_prompts"] = int(queries * per_query)
    for key, name in (("requested_server_ttft_latency", "ttft_constraint_ms"),
                      ("requested_server_tpot_latency", "tpot_constraint_ms")):
        if number(key):
            base["extra"][name] = ns_to_ms(number(key))
    for key, name in (("result_validity", "result_validity"), ("sut_name", "sut_name"),
                      ("qsl_name", "qsl_name")):
        if isinstance(entries.get(key), str):
            base["extra"][name] = entries[key]
    if str(entries.get("result_validity", "VALID")).upper() != "VALID":
        notes.append(f"loadgen marked this result {entries.get('result_validity')}")
    if errors:
        notes.append(f"{len(errors)} loadgen errors, first: {errors[0][:200]}")
    if warnings:
        notes.append(f"{warnings} loadgen warnings")
    version = entries.get("loadgen_version")
    base["tool_version"] = version if isinstance(version, str) else None
    base["run_timestamp"] = run_time(entries.get("test_datetime"), notes, "test_datetime")
    base["duration_s"] = _duration(entries.get("power_begin"), entries.get("power_end"))
    notes.extend(built.notes)
    if not built:
        raise LlmFormatError("an MLPerf detail log without result_* entries (the run did not finish?)",
                             file=source)
    return LlmResult(**base, metrics=built.metrics, notes=tuple(notes))


def _duration(begin: Any, end: Any) -> float | None:
    """Seconds between loadgen's power_begin and power_end marks (``MM-DD-YYYY HH:MM:SS.mmm``, UTC)."""
    try:
        start, stop = (datetime.strptime(v, "%m-%d-%Y %H:%M:%S.%f").replace(tzinfo=timezone.utc)
                       for v in (begin, end))
    except (TypeError, ValueError):
        return None
    seconds = (stop - start).total_seconds()
    return seconds if seconds > 0 else None


# -- a summary and its detail log: one run -------------------------------------------------------------

_HEADLINES = ("samples_per_s", "requests_per_s", "output_tokens_per_s")


def _same_run(summary: LlmResult, detail: LlmResult) -> bool:
    if summary.extra.get("scenario") != detail.extra.get("scenario"):
        return False
    for metric in _HEADLINES:
        a, b = summary.value(metric, VALUE), detail.value(metric, VALUE)
        if a is not None and b is not None and abs(a - b) > 0.005 * max(abs(a), abs(b)):
            return False
    return True


def merge(summary: LlmResult, detail: LlmResult) -> LlmResult:
    """The summary's figures, with what only the detail log has filled in."""
    changes: dict[str, Any] = {}
    for item in dataclass_fields(LlmResult):
        name = item.name
        if name in ("source", "record", "metrics", "notes", "extra", "failed_run", "failure"):
            continue
        if getattr(summary, name) in (None, False) and getattr(detail, name) not in (None, False):
            changes[name] = getattr(detail, name)
    metrics = {metric: dict(stats) for metric, stats in detail.metrics.items()}
    for metric, stats in summary.metrics.items():
        metrics.setdefault(metric, {}).update(stats)
    extra = {**detail.extra, **summary.extra, "log": "summary+detail", "detail_source": detail.source}
    notes = summary.notes + tuple(n for n in detail.notes if n not in summary.notes) + (
        f"combined with the detail log of the same run: {detail.source}",)
    return summary.with_changes(**changes, metrics=metrics, extra=extra, notes=notes)


def combine(results: Iterable[LlmResult]) -> list[LlmResult]:
    """Pair each MLPerf summary with the detail log of its run; everything else passes through unchanged."""
    results = list(results)
    groups: dict[str, dict[str, list[int]]] = {}
    for index, result in enumerate(results):
        if result.tool == NAME and result.extra.get("log") in ("summary", "detail"):
            groups.setdefault(result.extra["run_key"], {}).setdefault(result.extra["log"], []).append(index)
    replaced: dict[int, LlmResult | None] = {}
    for logs in groups.values():
        if len(logs.get("summary", [])) == 1 and len(logs.get("detail", [])) == 1:
            s, d = logs["summary"][0], logs["detail"][0]
            if _same_run(results[s], results[d]):
                replaced[s] = merge(results[s], results[d])
                replaced[d] = None
            else:
                for i in (s, d):
                    replaced[i] = results[i].with_changes(notes=results[i].notes + (
                        "a summary and a detail log side by side disagree (scenario or throughput): kept apart",))
    return [replaced.get(i, r) for i, r in enumerate(results) if replaced.get(i, r) is not None]
