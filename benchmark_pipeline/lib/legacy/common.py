"""Helpers every legacy adapter shares: time stamps, simulation flags, numbers, errors, outcomes.

Adapters only say where a value sits in their shape; how it becomes a canonical value (unit, time, hardware
name, error type, pass/fail) is decided here or in ``normalize``, so two shapes can never disagree about it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy.simulation import SimulationMarkers

PERFORMANCE, COMPATIBILITY, INTEGRATION = "performance", "compatibility", "integration"

# Names that stand for "no model" in the original files; a record named like this would be the
# `unknown` rows the old converter produced.
_PLACEHOLDER_NAMES = {"", "unknown", "none", "null", "n/a", "default", "::simple_model::"}


@dataclass
class Output:
    """What one adapter returns; ``Conversion`` is built from it in one place."""

    records: dict[str, list[dict]] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    reason: str | None = None

    skipped: int = 0  # performance rows dropped for lack of model, hardware or a positive metric

    def add(self, category: str, record: dict) -> None:
        if category == PERFORMANCE and not is_measured(record):
            self.skipped += 1
            return
        self.records.setdefault(category, []).append(record)

    def extend(self, other: "Output") -> None:
        for category, rows in other.records.items():
            self.records.setdefault(category, []).extend(rows)
        self.failures.extend(other.failures)
        self.skipped += other.skipped
        self.reason = self.reason or other.reason


def is_measured(record: dict) -> bool:
    """A performance row worth storing: named model, canonical hardware, and a positive latency or throughput."""
    return bool(record.get("model_name") and record.get("hardware_type")) and any(
        (positive(record.get(key)) or 0) > 0 for key in ("average_latency_ms", "throughput_items_per_second")
    )


@dataclass(frozen=True)
class Context:
    """Document-wide facts: the file-name time stamp and the simulation markers of the document."""

    file_time: str | None
    markers: SimulationMarkers

    def with_markers(self, document: object) -> "Context":
        """Markers of an embedded document add to (never replace) the outer ones."""
        return Context(self.file_time, self.markers.merged(SimulationMarkers.from_document(document)))

    def stamp(self, *candidates: object) -> dict:
        """Time of a row: the first parseable value found in the data, else the file name, else nothing."""
        for candidate in candidates:
            moment = normalize.parse_timestamp(candidate)
            if moment is not None:
                return {"timestamp": normalize.format_timestamp(moment), "time_source": normalize.TIME_SOURCE_RECORD}
        if self.file_time is not None:
            return {"timestamp": self.file_time, "time_source": normalize.TIME_SOURCE_FILE_NAME}
        return {}

    def simulation(self, hardware_type: str | None, row_reason: str | None = None) -> dict:
        """``is_simulated`` for a row: its own marker (e.g. ``MOCK``) or one of the document's."""
        reason = row_reason or self.markers.reason_for(hardware_type)
        if reason:
            return {"is_simulated": True, "simulation_reason": reason}
        return {"is_simulated": False}


# --- values ------------------------------------------------------------------------------------


def number(value: object) -> float | None:
    """A finite float from a number or a numeric string; booleans and NaN are not numbers here."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def positive(value: object) -> float | None:
    """A measured quantity: positive finite number, else None (0.0 means "not measured" in these files)."""
    result = number(value)
    return result if result is not None and result > 0 else None


def integer(value: object) -> int | None:
    result = number(value)
    return int(result) if result is not None and result == int(result) else None


def dict_items(mapping: object) -> list[tuple[str, dict]]:
    """(key, value) pairs of a mapping whose values are dicts; other values in these files are noise."""
    if not isinstance(mapping, dict):
        return []
    return [(str(key), value) for key, value in mapping.items() if isinstance(value, dict)]


def truth(value: object) -> bool | None:
    """Booleans as the files write them: true/false, "True"/"False", 0/1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return None


def model_name(*candidates: object) -> str | None:
    """The first real model name; placeholders such as ``Unknown`` do not count."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip().lower() not in _PLACEHOLDER_NAMES:
            return candidate.strip()
    return None


def seconds_to_ms(value: object) -> float | None:
    return normalize.convert_unit(positive(value), "s", "ms")


def compact(record: dict) -> dict:
    """Drop keys whose value is missing, so "absent" is never written as None or 0.0."""
    return {key: value for key, value in record.items() if value is not None and value != {} and value != []}


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_percentiles_ms(samples_ms: Iterable[object]) -> dict:
    """p50/p90/p95/p99 from raw per-iteration latencies already in ms; nothing from fewer than two."""
    values = [v for v in (positive(s) for s in samples_ms or []) if v is not None]
    if len(values) < 2:
        return {}
    return {
        "latency_p50_ms": percentile(values, 0.50),
        "latency_p90_ms": percentile(values, 0.90),
        "latency_p95_ms": percentile(values, 0.95),
        "latency_p99_ms": percentile(values, 0.99),
    }


def model_fields(name: str | None, family: object = None, modality: object = None) -> dict:
    """Model columns; the family is taken from the data when given, otherwise inferred from the name."""
    return compact({
        "model_name": name,
        "model_family": family if isinstance(family, str) and family else normalize.infer_model_family(name),
        "modality": modality if isinstance(modality, str) and modality else None,
    })


def row(
    ctx: Context,
    *,
    model: str | None,
    hardware: object,
    family: object = None,
    modality: object = None,
    time: Iterable[object] = (),
    simulated_because: str | None = None,
    **fields: Any,
) -> dict:
    """Any canonical record: model and hardware columns, the given fields, time and simulation flag."""
    hardware_type = normalize.canonical_hardware_type(hardware)
    return compact({
        **model_fields(model, family, modality),
        "hardware_type": hardware_type,
        **fields,
        **ctx.stamp(*time),
        **ctx.simulation(hardware_type, simulated_because),
    })


# --- errors ------------------------------------------------------------------------------------

_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning))\s*(?::\s*(.*))?$"
)


def exception_of(text: object) -> tuple[str | None, str | None]:
    """(exception class, its message) from the last exception line of a traceback or log text."""
    if not isinstance(text, str):
        return None, None
    for line in reversed(text.strip().splitlines()):
        match = _EXCEPTION_LINE.match(line)
        if match:
            return match.group(1), (match.group(2) or "").strip() or None
    return None, None


def first_line(text: object, limit: int = 500) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip().splitlines()[0][:limit]


def failure(
    ctx: Context,
    *,
    model: str | None,
    hardware: object,
    stage: str,
    message: object = None,
    traceback: object = None,
    error_type: object = None,
    time: Iterable[object] = (),
    **extra: Any,
) -> dict:
    """One failure row. The error type is the data's own, else the exception class in the traceback."""
    hardware_type = normalize.canonical_hardware_type(hardware)
    exc_type, exc_message = exception_of(traceback if traceback else message)
    if exc_type is None and traceback:
        exc_type, exc_message = exception_of(message)
    kind = error_type if isinstance(error_type, str) and error_type else exc_type or "error"
    text = first_line(message) or (f"{exc_type}: {exc_message}" if exc_type and exc_message else exc_type)
    row = {
        **model_fields(model, extra.pop("model_family", None)),
        "hardware_type": hardware_type,
        "error_type": kind,
        "error_message": text or first_line(traceback),
        "error_traceback": traceback if isinstance(traceback, str) and traceback.strip() else None,
        "stage": stage,
        **extra,
        **ctx.stamp(*time),
        **ctx.simulation(hardware_type),
    }
    return compact(row)


# --- test outcomes -----------------------------------------------------------------------------

_PLATFORM_PREFIX = re.compile(
    r"^(cpu|cuda|openvino|mps|apple|rocm|amd|qualcomm|qnn|webnn|webgpu)(?:_(.+))?$", re.IGNORECASE
)
_MOCK = re.compile(r"\bMOCK\b")
_REAL = re.compile(r"\bREAL\b")


def platform_of(key: object) -> tuple[str | None, str | None]:
    """(canonical hardware, rest of the key) for keys such as ``cuda_handler`` or ``openvino``."""
    if not isinstance(key, str):
        return None, None
    match = _PLATFORM_PREFIX.match(key.strip())
    if not match:
        return None, None
    return normalize.canonical_hardware_type(match.group(1)), match.group(2)


@dataclass(frozen=True)
class Outcome:
    status: str  # pass | fail | error | skip
    mock: bool
    real: bool


def outcome(value: object) -> Outcome | None:
    """A test outcome from the free-text status values of skill tests; None when the text is not one.

    "Success (MOCK)" passed on a mock implementation; "CUDA not available" is a skip; "Failed ...",
    "Error: ..." are failures; a bare "REAL"/"MOCK" is a platform verdict from a test summary.
    """
    if isinstance(value, bool):
        return Outcome("pass" if value else "fail", False, False)
    if not isinstance(value, str):
        return None
    text = value.strip()
    lower = text.lower()
    mock, real = bool(_MOCK.search(text)), bool(_REAL.search(text))
    if "not available" in lower or lower.startswith("skipped") or "not implemented" in lower:
        return Outcome("skip", mock, real)
    if lower.startswith(("success", "valid", "ready", "passed", "pass", "ok")) or lower in {"real", "mock"}:
        return Outcome("pass", mock, real)
    if lower.startswith(("failed", "fail", "invalid")):
        return Outcome("fail", mock, real)
    if lower.startswith(("error", "exception")):
        return Outcome("error", mock, real)
    return None


def mock_reason(marker_text: str) -> str:
    return f"MOCK implementation marker ({marker_text})"
