"""Adapters for per-skill test outputs and the subprocess wrappers around them.

These files report outcomes as free text per key: ``cpu_handler: "Success (MOCK)"``, ``cuda_tests: "CUDA not
available"``. One reader (``_skill_document``) serves every variant: each outcome becomes an integration row,
each hardware with a verdict a compatibility row, flagged simulated when its verdicts carry a MOCK marker.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy.common import (
    COMPATIBILITY,
    INTEGRATION,
    PERFORMANCE,
    Context,
    Output,
    dict_items,
    failure,
    first_line,
    integer,
    mock_reason,
    model_name,
    number,
    outcome,
    platform_of,
    positive,
    row,
    seconds_to_ms,
    truth,
)

_MOCK = re.compile(r"\bMOCK\b")
_PLATFORM_SUFFIX = re.compile(r"^(?P<variant>.+?)_(?P<platform>cpu|cuda|openvino|mps|rocm|qualcomm|webnn|webgpu)$")
_TIME_KEYS = ("test_timestamp", "timestamp")


def platform_verdict(ctx: Context, model: str | None, hardware: object, markers: list[object], time) -> dict | None:
    """One compatibility row from a hardware's outcome texts, or None when they say nothing.

    Only skips ("not available") or unreadable texts ("UNKNOWN") give no row: a missing platform is not an
    incompatible model. Any MOCK marker on the hardware marks the row simulated.
    """
    verdicts = [v for v in (outcome(m) for m in markers) if v is not None and v.status != "skip"]
    hardware_type = normalize.canonical_hardware_type(hardware)
    if not verdicts or hardware_type is None or model is None:
        return None
    bad = [m for m, v in zip(markers, (outcome(m) for m in markers)) if v is not None and v.status in ("fail", "error")]
    compatible = not bad and any(v.status == "pass" for v in verdicts)
    mocked = next((str(m) for m in markers if isinstance(m, str) and _MOCK.search(m)), None)
    return row(
        ctx, model=model, hardware=hardware_type, time=time, is_compatible=compatible,
        compatibility_score=1.0 if compatible else 0.0,
        error_message=first_line(bad[0]) if bad else None,
        simulated_because=mock_reason(mocked[:80]) if mocked else None,
        metadata={"verdicts": [str(m)[:120] for m in markers]},
    )


def skill_test_results(doc: dict, ctx: Context) -> Output:
    if isinstance(doc.get("tests"), dict) and "summary" in doc:
        return _per_platform_tests(doc, ctx)
    return _skill_document(doc, ctx, model_hint=None, module=None, time=())


def skill_perf_metadata_results(doc: dict, ctx: Context) -> Output:
    """A skill test wrapped with run metadata; the inner ``results`` is an ordinary skill document."""
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    results = doc.get("results") if isinstance(doc.get("results"), dict) else {}
    return _skill_document(results, ctx, model_hint=meta.get("model"), module=meta.get("test_file"),
                           time=(meta.get("timestamp"),), execution_time=meta.get("execution_time"))


def hardware_cpu_results(doc: dict, ctx: Context) -> Output:
    """``{test_<skill>: status dict | error text}``: each value is a skill document or a failed import."""
    out = Output()
    for key, value in doc.items():
        skill = key.removeprefix("test_")
        if isinstance(value, dict):
            out.extend(_skill_document(value, ctx, model_hint=skill, module=key, time=()))
        elif isinstance(value, str):
            out.add(INTEGRATION, row(ctx, model=skill, hardware=None, test_module=key, test_name=key,
                                     status="error", error_message=first_line(value)))
    return out


def subprocess_test_wrapper(doc: dict, ctx: Context) -> Output:
    return _subprocess_run(doc, ctx, time=(doc.get("timestamp"),))


def perf_skill_tests_wrapper(doc: dict, ctx: Context) -> Output:
    out = Output()
    for _, run in dict_items(doc.get("skill_tests")):
        out.extend(_subprocess_run(run, ctx, time=(run.get("timestamp"), doc.get("timestamp"))))
    if not out.records and not out.failures:
        out.reason = "wrapper holds no skill test runs"
    return out


def _subprocess_run(run: dict, ctx: Context, time) -> Output:
    """One subprocess run: an integration row for the run itself, plus its embedded result if it kept one."""
    out = Output()
    test_file = run.get("test_file") if isinstance(run.get("test_file"), str) else None
    skill = PurePosixPath(test_file).stem.removeprefix("test_") if test_file else None
    code = integer(run.get("return_code"))
    status = "pass" if code == 0 else "fail" if code is not None else None
    embedded = _embedded(run.get("json_result"))
    if embedded is not None:
        out.extend(_skill_document(embedded, ctx.with_markers(embedded), model_hint=skill, module=test_file, time=time))
    stderr = run.get("stderr") if isinstance(run.get("stderr"), str) else ""
    if status:
        out.add(INTEGRATION, row(
            ctx, model=None, hardware=None, time=time, test_module=test_file, test_name=skill or test_file,
            status=status, execution_time_seconds=number(run.get("elapsed_time")),
            error_traceback=stderr if status == "fail" and stderr.strip() else None,
            metadata={"return_code": code, "json_result_kept": embedded is not None,
                      "json_parse_error": run.get("json_parse_error")},
        ))
    if status == "fail":
        out.failures.append(failure(ctx, model=_embedded_model(embedded) or skill, hardware=None,
                                    stage="skill_test", traceback=stderr or None,
                                    message=None if stderr else f"exit code {code}", time=time))
    return out


def _embedded(value: object) -> dict | None:
    """The result a wrapper embedded: a dict, or its Python ``repr`` (read with ``literal_eval``, never eval)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _embedded_model(doc: dict | None) -> str | None:
    return model_name(doc.get("model_name")) if isinstance(doc, dict) else None


def _skill_document(doc: dict, ctx: Context, model_hint, module, time, execution_time=None) -> Output:
    out = Output()
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    results = doc.get("results") if isinstance(doc.get("results"), dict) else {}
    model = model_name(meta.get("model_name"), meta.get("model"), doc.get("model_name"), doc.get("model"),
                       *(r.get("model") for _, r in dict_items(results)), model_hint)
    time = (*(meta.get(k) for k in _TIME_KEYS), *(doc.get(k) for k in _TIME_KEYS), *time)
    module = module or meta.get("test_file") or (f"skill:{model_hint}" if model_hint else "skill_test")

    # outcome texts: the document's own keys, its "status" block, and a nested "results.status"
    statuses = {**doc, **(doc.get("status") if isinstance(doc.get("status"), dict) else {}),
                **(results.get("status") if isinstance(results.get("status"), dict) else {})}
    per_platform: dict[str, list[object]] = {}
    for key, value in statuses.items():
        verdict = outcome(value) if isinstance(value, str) else None
        if verdict is None:
            continue
        hardware, _ = platform_of(key)
        if hardware:
            per_platform.setdefault(hardware, []).append(value)
        out.add(INTEGRATION, row(
            ctx, model=model, hardware=hardware, time=time, test_module=module, test_name=key,
            status=verdict.status, error_message=first_line(value) if verdict.status in ("fail", "error") else None,
            simulated_because=mock_reason(value[:80]) if verdict.mock else None,
        ))
    for example in doc.get("examples") or []:
        if isinstance(example, dict) and (hardware := normalize.canonical_hardware_type(example.get("platform"))):
            marker = example.get("implementation_type") or example.get("implementation")
            text = f"{marker} {example.get('output')}" if example.get("is_simulated") is not True else "MOCK (is_simulated)"
            if _MOCK.search(text):
                per_platform.setdefault(hardware, []).append(f"Success (MOCK) example: {text[:60]}")
    _pipeline_results(results, ctx, model, time, module, out, per_platform)
    for hardware, markers in per_platform.items():
        if compat := platform_verdict(ctx, model, hardware, markers, time):
            out.add(COMPATIBILITY, compat)
    _timings(doc.get("performance"), ctx, model, time, out)
    if execution_time is not None and not out.records:
        out.reason = "skill test output holds no outcome this converter can read"
    return out


def _pipeline_results(results: dict, ctx: Context, model, time, module, out: Output, per_platform: dict) -> None:
    """``results: {pipeline_cuda: {pipeline_success, pipeline_error, pipeline_traceback, device}}`` entries."""
    for key, entry in dict_items(results):
        if key == "status":
            continue
        suffix = _PLATFORM_SUFFIX.match(key)
        variant = suffix.group("variant") if suffix else key
        success = truth(entry.get("success", entry.get(f"{variant}_success")))
        if success is None:
            continue
        hardware = entry.get("device") or (suffix.group("platform") if suffix else platform_of(key)[0])
        errors = [v for k, v in entry.items() if k.endswith("_error") and isinstance(v, str)]
        tracebacks = [v for k, v in entry.items() if k.endswith("traceback") and isinstance(v, str)]
        row_model = model_name(entry.get("model"), model)
        out.add(INTEGRATION, row(
            ctx, model=row_model, hardware=hardware, time=time, test_module=module, test_name=key,
            status="pass" if success else "fail", error_message=first_line(errors[0]) if errors else None,
            error_traceback=tracebacks[0] if tracebacks else None,
        ))
        if normalize.canonical_hardware_type(hardware):
            per_platform.setdefault(normalize.canonical_hardware_type(hardware), []).append(
                "Success" if success else f"Failed: {first_line(errors[0]) if errors else key}")
        if not success:
            out.failures.append(failure(ctx, model=row_model, hardware=hardware, stage="skill_test",
                                        message=errors[0] if errors else None,
                                        traceback=tracebacks[0] if tracebacks else None,
                                        error_type=_error_class(entry.get(f"{variant}_error_type")),
                                        time=time))


def _error_class(value: object) -> str | None:
    """The runner's own error class, unless it is a non-answer such as "other" or "none"."""
    return value if isinstance(value, str) and value.lower() not in ("", "none", "other", "unknown") else None


def _timings(performance: object, ctx: Context, model, time, out: Output) -> None:
    """``performance: {pipeline_cuda: {avg_time, min_time, max_time, num_runs}}`` in seconds -> rows in ms."""
    for variant, timing in dict_items(performance):
        suffix = _PLATFORM_SUFFIX.match(variant)
        hardware = suffix.group("platform") if suffix else platform_of(variant)[0]
        average = timing.get("avg_time", timing.get("inference_time"))
        extra = {f"{k}_seconds": positive(v) for k, v in timing.items()
                 if k.endswith("load_time") and positive(v) is not None}
        extra.update({k: positive(v) for k, v in timing.items() if k == "model_size_mb" and positive(v)})
        if (lo := seconds_to_ms(timing.get("min_time"))) is not None:
            extra["min_latency_ms"] = lo
        if (hi := seconds_to_ms(timing.get("max_time"))) is not None:
            extra["max_latency_ms"] = hi
        out.add(PERFORMANCE, row(
            ctx, model=model, hardware=hardware, time=time, test_case=suffix.group("variant") if suffix else variant,
            average_latency_ms=seconds_to_ms(average), iterations=integer(timing.get("num_runs")), metrics=extra,
        ))


def _per_platform_tests(doc: dict, ctx: Context) -> Output:
    """``{model, tests: {cpu: {status, inference_time, peak_memory_mb}}, summary}``."""
    out = Output()
    model = model_name(doc.get("model"))
    for key, test in dict_items(doc.get("tests")):
        hardware = test.get("platform") or key
        time = (test.get("timestamp"), doc.get("timestamp"))
        status = test.get("status")
        verdict = outcome(status)
        if verdict is None:
            continue
        out.add(INTEGRATION, row(ctx, model=model_name(test.get("model"), model), hardware=hardware, time=time,
                                 test_module="skill_test", test_name=key, status=verdict.status,
                                 simulated_because=mock_reason(status) if verdict.mock else None))
        if compat := platform_verdict(ctx, model_name(test.get("model"), model), hardware, [status], time):
            out.add(COMPATIBILITY, compat)
        out.add(PERFORMANCE, row(
            ctx, model=model_name(test.get("model"), model), hardware=hardware, time=time, test_case="skill_test",
            average_latency_ms=seconds_to_ms(test.get("inference_time")),
            memory_peak_mb=positive(test.get("peak_memory_mb")),
            simulated_because=mock_reason(status) if verdict.mock else None,
            metrics={k: v for k, v in {"realtime_factor": positive(test.get("realtime_factor"))}.items() if v},
        ))
    return out


def real_vs_sim_run(doc: dict, ctx: Context) -> Output:
    """A single model run on one platform: an integration row, and a failure when it did not succeed."""
    out = Output()
    model, hardware = model_name(doc.get("model")), doc.get("platform")
    time = (doc.get("timestamp"),)
    passed = truth(doc.get("success"))
    if passed is None:
        out.reason = "run has no success flag"
        return out
    out.add(INTEGRATION, row(
        ctx, model=model, hardware=hardware, time=time, test_module="real_vs_sim", test_name=f"{model}[{hardware}]",
        status="pass" if passed else "fail", execution_time_seconds=positive(doc.get("execution_time")),
        error_message=first_line(doc.get("error")) if not passed else None,
        error_traceback=doc.get("traceback") if not passed else None,
    ))
    if not passed:
        out.failures.append(failure(ctx, model=model, hardware=hardware, stage="test", message=doc.get("error"),
                                    traceback=doc.get("traceback"), time=time))
    return out
