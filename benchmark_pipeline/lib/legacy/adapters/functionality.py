"""Adapters for model x hardware pass/fail shapes: functionality runs, suites, matrices, model tests."""

from __future__ import annotations

import re

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy.common import (
    COMPATIBILITY,
    INTEGRATION,
    Context,
    Output,
    dict_items,
    exception_of,
    failure,
    first_line,
    integer,
    model_name,
    number,
    outcome,
    row,
    truth,
)

from benchmark_pipeline.lib.legacy.adapters.benchmarks import hw_benchmark_results
from benchmark_pipeline.lib.legacy.adapters.skills import platform_verdict

_TESTING_MODEL = re.compile(r"Testing model:\s*(\S+)")


def model_functionality(doc: dict, ctx: Context) -> Output:
    return _functionality(doc, ctx, names={}, seen=set(), fallback_time=None)


def benchmark_suite_results(doc: dict, ctx: Context) -> Output:
    """Functionality sections per hardware, plus performance sections that are either a crash or a run.

    A hardware section may hold runs made on other hardware (the "cuda" section of some suites repeats the
    cpu runs), so each row takes its hardware from the run itself and a pair is stored once.
    """
    out = Output()
    catalog = {key: info for key, info in dict_items(doc.get("models"))}
    seen: set[tuple[str, str]] = set()
    for _, section in dict_items(doc.get("functionality_verification")):
        out.extend(_functionality(section, ctx, catalog, seen, doc.get("timestamp")))
    for category, section in dict_items(doc.get("performance_benchmarks")):
        if isinstance(section.get("benchmarks"), dict):
            out.extend(hw_benchmark_results(section, ctx))
        elif section.get("status") == "error" or section.get("error"):
            members = [model_name(info.get("name"), key) for key, info in catalog.items() if info.get("family") == category]
            for model in members or [None]:
                out.failures.append(failure(
                    ctx, model=model, model_family=None if model else category, hardware=None,
                    stage="benchmark_suite", message=None, traceback=section.get("error"),
                    test_case=category, time=(section.get("timestamp"), doc.get("timestamp")),
                ))
    return out


def _functionality(block: dict, ctx: Context, names: dict, seen: set, fallback_time: object) -> Output:
    out = Output()
    stats = block.get("stats") if isinstance(block.get("stats"), dict) else {}
    time = (stats.get("timestamp"), fallback_time)
    runs = [r for r in block.get("detailed_results") or [] if isinstance(r, dict)]
    for model_key, per_hw in dict_items(block.get("model_results")):
        for hardware, passed in per_hw.items():
            runs.append({"model": model_key, "hardware": hardware, "success": passed})
    for run in runs:
        key, hardware = str(run.get("model")), normalize.canonical_hardware_type(run.get("hardware"))
        passed = truth(run.get("success"))
        if hardware is None or passed is None or (key, hardware) in seen:
            continue
        seen.add((key, hardware))
        info = names.get(key) if isinstance(names.get(key), dict) else {}
        log = "\n".join(t for t in (run.get("stdout"), run.get("stderr")) if isinstance(t, str))
        mentioned = _TESTING_MODEL.search(log)
        model = model_name(info.get("name"), mentioned.group(1) if mentioned else None, key)
        error_type, error_text = exception_of(log) if not passed else (None, None)
        common = dict(model=model, hardware=hardware, modality=info.get("modality"), time=time)
        metadata = {"model_key": key, "return_code": integer(run.get("return_code"))}
        out.add(COMPATIBILITY, row(
            ctx, **common, is_compatible=passed, compatibility_score=1.0 if passed else 0.0,
            error_type=error_type, error_message=_error_text(error_type, error_text),
            metadata={k: v for k, v in metadata.items() if v is not None},
        ))
        out.add(INTEGRATION, row(
            ctx, **common, test_module="model_functionality", test_name=f"{key}[{hardware}]",
            status="pass" if passed else "fail", error_message=_error_text(error_type, error_text),
            error_traceback=log if not passed and log.strip() else None,
            metadata={k: v for k, v in metadata.items() if v is not None},
        ))
        if not passed and log.strip():
            out.failures.append(failure(ctx, model=model, hardware=hardware, stage="functionality",
                                        traceback=log, time=time))
    return out


def hardware_compatibility_matrix(doc: dict, ctx: Context) -> Output:
    """Family-level verdicts: rows carry ``model_family`` and no model name, as the matrix has none."""
    out = Output()
    for family, entry in dict_items(doc.get("model_families")):
        for hardware, verdict in dict_items(entry.get("hardware_compatibility")):
            compatible = truth(verdict.get("compatible"))
            if compatible is None:
                continue
            runs = [r for r in verdict.get("benchmark_results") or [] if isinstance(r, dict)]
            latest = max((r.get("timestamp") for r in runs if isinstance(r.get("timestamp"), str)), default=None)
            metadata = {
                "performance_rating": verdict.get("performance_rating"),
                "benchmark_results": [
                    {k: v for k, v in r.items() if k in ("model_name", "mean_latency", "mean_throughput", "timestamp")}
                    for r in runs
                ] or None,
            }
            out.add(COMPATIBILITY, row(
                ctx, model=None, family=family, hardware=hardware,
                modality=normalize.modality_from_category(family), time=(doc.get("timestamp"), latest),
                is_compatible=compatible, compatibility_score=1.0 if compatible else 0.0,
                metadata={k: v for k, v in metadata.items() if v is not None},
            ))
    return out


def critical_new_model_tests(doc: dict, ctx: Context) -> Output:
    """Per-model test runs; ``platform_status`` REAL/MOCK verdicts become per-hardware compatibility."""
    out = Output()
    runs = [(key, run) for key, run in dict_items(doc.get("model_results"))]
    runs += [(str(t.get("model")), t) for t in doc.get("tests") or [] if isinstance(t, dict)]
    for key, run in runs:
        model = model_name((run.get("structured_data") or {}).get("model_name") if isinstance(run.get("structured_data"), dict) else None, key)
        time = (run.get("timestamp"), doc.get("test_timestamp"), doc.get("timestamp"))
        verdict = outcome(run.get("status"))
        status = verdict.status if verdict else ("pass" if integer(run.get("return_code")) == 0 else "fail")
        traceback = run.get("traceback") or run.get("stderr")
        error_type, error_text = exception_of(traceback) if status in ("fail", "error") else (None, None)
        message = first_line(run.get("error")) or _error_text(error_type, error_text)
        out.add(INTEGRATION, row(
            ctx, model=model, hardware=None, time=time, test_module="model_tests", test_name=key,
            status=status, execution_time_seconds=number(run.get("elapsed_time")),
            error_message=message if status in ("fail", "error") else None,
            error_traceback=traceback if status in ("fail", "error") and isinstance(traceback, str) and traceback.strip() else None,
            metadata={"return_code": rc} if (rc := integer(run.get("return_code"))) is not None else None,
        ))
        if status in ("fail", "error"):
            out.failures.append(failure(ctx, model=model, hardware=None, stage="model_test",
                                        message=run.get("error"), traceback=traceback, time=time))
        for hardware, marker in (run.get("platform_status") or {}).items():
            verdict_row = platform_verdict(ctx, model, hardware, [marker], time)
            if verdict_row:
                out.add(COMPATIBILITY, verdict_row)
    return out


def _error_text(error_type: str | None, message: str | None) -> str | None:
    if error_type and message:
        return f"{error_type}: {message}"[:500]
    return error_type
