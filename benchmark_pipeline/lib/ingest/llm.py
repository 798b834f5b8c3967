"""LLM-serving result files into the one ingest: recognised by content, gaps filled, written as records.

Why a converter and not a second pipeline: an LLM file must get everything any result file gets (the ledger,
hashing, CIDs, quarantine, one transaction, retract and supersede), so this module only turns its bytes into
what ``batch.read_and_validate`` already handles: flat records of the ``llm_serving`` category (validated
by ``schemas.LlmServingRecord``) and, for a run where every request failed, a benchmark failure row.

What a file does not say comes from the ingest's options, else from a sidecar ``<file>.meta.json``
(``lib/llm/defaults.py``); ``filled_from`` in each record says which value came from where, and the file's
ledger row keeps what the options and sidecar were (``ingest_context``). MLPerf splits one run over a summary
and a detail log: the summary's result reads its sibling detail log and stores the two as one run, and the
detail log, when its summary is there, is ledgered as "not a result" pointing at it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from benchmark_pipeline.lib.llm.adapters import mlperf
from benchmark_pipeline.lib.llm.defaults import SIDECAR_SUFFIX, LlmDefaults
from benchmark_pipeline.lib.llm.detect import parse_llm_bytes, recognise
from benchmark_pipeline.lib.llm.errors import LlmIngestError, UnrecognizedFormat
from benchmark_pipeline.lib.llm.hardware import (bits_of, hardware_type, parameters_from_name, vram_required_gb,
                                                 weights_format)
from benchmark_pipeline.lib.llm.metrics import metric_columns
from benchmark_pipeline.lib.llm.result import LlmResult
from benchmark_pipeline.lib.vocabulary import LLM_SERVING

# Where a filled value came from (``filled_from``): never the file itself, which is the default.
FROM_OPTIONS = "option"
FROM_SIDECAR = "sidecar"
FROM_NAME = "name"  # read from a name the file gives (a GPU's "80GB", a model's "70B")
# The failure a run with no completed request becomes.
ALL_FAILED = "all requests failed"

_HOSTED_PREFIX = "hosted:"
_VRAM_IN_NAME = re.compile(r"(?<![0-9.])(\d{2,3})\s?GB(?![a-z])", re.IGNORECASE)
_GGUF_TAG = re.compile(r"^(?:i?q[2-8](?:_[0-9a-z]+)+|f16|bf16|fp16)$", re.IGNORECASE)
_METRIC_COLUMNS = metric_columns()


@dataclass
class LlmContent:
    """One LLM file as the ingest sees it: records, failure rows, and what to say about the file."""

    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    detected: str = LLM_SERVING
    context: str | None = None
    is_result: bool = True
    note: str | None = None
    problem: str | None = None
    detail: str | None = None
    absorbs: str | None = None  # the detail log an MLPerf summary's run was combined with (ABSORBS_COLUMN)


Reader = Callable[[str], bytes]


def looks_like_llm(data: bytes, source: str) -> bool:
    """Whether an LLM adapter recognises these bytes (a broken file of a recognised tool counts: it is
    ingested to be refused with its reason)."""
    try:
        parse_llm_bytes(data, source)
    except UnrecognizedFormat:
        return False
    except LlmIngestError:
        return True
    return True


def recognised_document(document: Any) -> bool:
    """Whether an already parsed JSON document (or the first item of a list) is an LLM tool's."""
    first = document[0] if isinstance(document, list) and document else document
    return recognise(first) is not None


def read_llm_content(data: bytes, path: str, options: LlmDefaults | None, read: Reader) -> LlmContent | None:
    """The file's LLM runs as records, or None when no LLM adapter recognises it.

    ``read`` reads a sibling file (an MLPerf detail log, a sidecar) with the ingest's own protections.
    A recognised file that is broken, or whose sidecar is, comes back with ``problem`` set, naming the
    file, the record and the field.
    """
    try:
        results = parse_llm_bytes(data, path)
    except UnrecognizedFormat:
        return None
    except LlmIngestError as exc:
        return LlmContent(detected=f"{LLM_SERVING}:unreadable", problem="unreadable LLM result", detail=str(exc))
    tool = results[0].tool if results else "unknown"
    detected = f"{LLM_SERVING}:{tool}"
    try:
        sidecar = read_sidecar(path, read)
    except LlmIngestError as exc:
        return LlmContent(detected=detected, problem="unreadable sidecar", detail=str(exc))
    context = ingest_context(options, sidecar)
    paired, combined_with = _pair_mlperf(results, path, read)
    if isinstance(paired, str):  # a detail log whose summary holds the run
        return LlmContent(detected=detected, context=context, is_result=False, note=paired)
    content = LlmContent(detected=detected, context=context,
                         absorbs=None if combined_with is None else str(combined_with.resolve()))
    for result in paired:
        record, failure = to_record(result, options, sidecar)
        if failure is not None:
            content.failures.append(failure)
        else:
            content.records.append(record)
    return content


def ingest_context(options: LlmDefaults | None, sidecar: LlmDefaults | None) -> str | None:
    """Canonical JSON of the options and sidecar an LLM file was ingested with; None when there were none."""
    if not options and not sidecar:
        return None
    return json.dumps({"options": json.loads(options.fingerprint()) if options else None,
                       "sidecar": json.loads(sidecar.fingerprint()) if sidecar else None},
                      sort_keys=True, separators=(",", ":"))


def sidecar_paths(path: str) -> list[Path]:
    """``run.json.meta.json``, then ``run.meta.json``: where a file's sidecar may be."""
    own = Path(path)
    candidates = [own.with_name(own.name + SIDECAR_SUFFIX)]
    if own.suffix:
        candidates.append(own.with_name(own.stem + SIDECAR_SUFFIX))
    return candidates


def is_sidecar(path: str | Path) -> bool:
    """Whether ``path`` is the sidecar of a file beside it (so it is read with that file, never on its own)."""
    name = Path(path).name
    if not name.lower().endswith(SIDECAR_SUFFIX):
        return False
    described = name[:-len(SIDECAR_SUFFIX)]
    base = Path(path).with_name(described)
    if described and base.is_file():
        return True
    try:  # "run.meta.json" describes "run.json", "run.jsonl", ...: a sibling whose stem is "run"
        siblings = list(base.parent.iterdir())
    except OSError:
        return False
    return any(sibling.stem == described and sibling.suffix and not sibling.name.lower().endswith(SIDECAR_SUFFIX)
               and sibling.is_file() for sibling in siblings)


def read_sidecar(path: str, read: Reader) -> LlmDefaults | None:
    if "://" in path:
        return None
    for candidate in sidecar_paths(path):
        if not candidate.is_file():
            continue
        where = str(candidate)
        try:
            document = json.loads(read(where).decode("utf-8-sig"))
        except OSError as exc:
            raise LlmIngestError(f"cannot read: {exc.strerror or exc}", file=where) from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise LlmIngestError(f"not JSON: {exc}", file=where) from None
        return LlmDefaults.from_mapping(document, where)
    return None


# -- MLPerf: a summary and its detail log ---------------------------------------------------------------

def _pair_mlperf(results: list[LlmResult], path: str, read: Reader
                 ) -> tuple[list[LlmResult] | str, Path | None]:
    """The results with an MLPerf summary combined with its sibling detail log, and that log's path when it
    was combined; for a detail log whose summary is there and describes the same run, the note that says so
    (the summary stores the run)."""
    if len(results) != 1 or results[0].tool != mlperf.NAME or "://" in path:
        return results, None
    result = results[0]
    log = result.extra.get("log")
    sibling = _sibling(path, "detail" if log == "summary" else "summary")
    if log not in ("summary", "detail") or sibling is None:
        return results, None
    try:
        other = parse_llm_bytes(read(str(sibling)), str(sibling))
    except (OSError, LlmIngestError) as exc:
        if log == "detail":
            return results, None  # the summary is refused on its own: this log's run is stored from here
        return [result.with_changes(notes=result.notes + (f"the detail log {sibling} is not combined: {exc}",))], None
    combined = mlperf.combine([result, *other] if log == "summary" else [*other, result])
    if len(combined) != 1:
        return results, None  # they disagree: each is stored apart (combine notes it)
    if log == "detail":
        note = f"{mlperf.NAME} detail log: its run is stored from the summary log {sibling}, combined with this log"
        return note, None
    return combined, sibling


def _sibling(path: str, kind: str) -> Path | None:
    own = Path(path)
    match = re.fullmatch(r"(.*)mlperf_log_(?:summary|detail)\.txt", own.name)
    if not match:
        return None
    sibling = own.with_name(f"{match.group(1)}mlperf_log_{kind}.txt")
    return sibling if sibling.is_file() else None


# -- one result to one record ------------------------------------------------------------------------------

class _Filler:
    """file value, else the ingest option, else the sidecar's; remembers where each filled value came from."""

    def __init__(self, options: LlmDefaults | None, sidecar: LlmDefaults | None) -> None:
        self.options = options or LlmDefaults()
        self.sidecar = sidecar or LlmDefaults()
        self.filled: dict[str, str] = {}

    def pick(self, column: str, in_file: Any, default_field: str) -> Any:
        if in_file is not None:
            return in_file
        for origin, source in ((FROM_OPTIONS, self.options), (FROM_SIDECAR, self.sidecar)):
            value = getattr(source, default_field)
            if value is not None:
                self.filled[column] = origin
                return value
        return None

    def default(self, default_field: str) -> tuple[Any, str | None]:
        for origin, source in ((FROM_OPTIONS, self.options), (FROM_SIDECAR, self.sidecar)):
            value = getattr(source, default_field)
            if value is not None:
                return value, origin
        return None, None


def to_record(result: LlmResult, options: LlmDefaults | None = None,
              sidecar: LlmDefaults | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(record, None) for a measured run, (record, failure row) for a run where every request failed."""
    fill = _Filler(options, sidecar)
    notes = list(result.notes)

    hosted = result.hosted_provider
    gpu = result.gpu_name
    names_hardware = any(v is not None for v in (gpu, hosted, result.system_name, result.cpu_name))
    if not names_hardware:
        given = fill.pick("device_name", None, "gpu")
        if isinstance(given, str) and given.lower().startswith(_HOSTED_PREFIX):
            hosted = given[len(_HOSTED_PREFIX):].strip().lower() or None
        else:
            gpu = given
    else:
        unused, origin = fill.default("gpu")
        if unused is not None:
            notes.append(f"gpu {unused!r} ({origin}) not used: the file names its hardware ({result.hardware})")
    gpu_count = None
    if gpu is not None:
        gpu_count = fill.pick("gpu_count", result.gpu_count, "gpu_count")
    elif result.gpu_count is not None:
        gpu_count = result.gpu_count
    device = f"{_HOSTED_PREFIX}{hosted}" if hosted else gpu or result.system_name or result.cpu_name
    kind = hardware_type(gpu=gpu, cpu=result.cpu_name, system=result.system_name, hosted=bool(hosted))
    vram = None
    if gpu is not None:
        named = _VRAM_IN_NAME.search(gpu)
        if named:
            vram = float(named.group(1))
            fill.filled["memory_gb"] = FROM_NAME
        else:
            vram = fill.pick("memory_gb", None, "vram_gb")

    model = fill.pick("model_name", result.model, "model")
    named, version = _framework(result.framework, result.framework_version)
    framework = fill.pick("framework", named, "framework")
    if version is None and framework is not None:
        for origin, source in ((FROM_OPTIONS, fill.options), (FROM_SIDECAR, fill.sidecar)):
            if source.framework == framework and source.framework_version is not None:
                version = source.framework_version
                fill.filled["framework_version"] = origin
                break
    capabilities, origin = fill.default("capabilities") if framework is not None else (None, None)
    if capabilities is not None:
        fill.filled["framework_capabilities"] = origin

    quantization = result.quantization
    if quantization is None and model and ":" in model and _GGUF_TAG.match(model.rsplit(":", 1)[1]):
        quantization = model.rsplit(":", 1)[1].lower()
        notes.append(f"quantization {quantization!r} read from the model tag")
    quantization = fill.pick("quantization", quantization, "quantization")
    bits = result.quantization_bits
    if bits is None:
        bits = bits_of(quantization)
        if bits is None and quantization is not None:
            bits = fill.pick("quantization_bits", None, "bits")
        if bits is None and quantization is None:
            bits = bits_of(result.precision)
    # A format someone declared (option or sidecar) beats one read from a name.
    weights = fill.pick("weights_format", None, "weights_format") or weights_format(quantization, model)
    parameters, origin = fill.default("parameters")
    if parameters is not None:
        fill.filled["parameters_million"] = origin
    else:
        parameters = parameters_from_name(model)
        if parameters is not None:
            fill.filled["parameters_million"] = FROM_NAME
    needed = vram_required_gb(parameters, bits)
    if needed is not None:
        notes.append(f"VRAM needed ~ {needed:.1f} GB (parameters x {bits} bits / 8 x 1.2)")

    provider = hosted or fill.pick("provider", None, "provider")
    record: dict[str, Any] = {
        "model_name": model,
        "parameters_million": parameters / 1e6 if parameters is not None else None,
        "hardware_type": kind, "device_name": device, "memory_gb": vram,
        "timestamp": result.run_timestamp.isoformat() if result.run_timestamp else None,
        "tool": result.tool, "tool_version": result.tool_version, "source_record": result.record,
        "workload_type": result.workload_type, "dataset": result.dataset,
        "input_tokens_mean": result.input_tokens_mean, "output_tokens_mean": result.output_tokens_mean,
        "input_tokens_configured": result.input_tokens_configured,
        "output_tokens_configured": result.output_tokens_configured,
        "batch_size": result.batch_size, "concurrency": result.concurrency,
        "concurrency_unbounded": result.concurrency_unbounded, "request_rate": result.request_rate,
        "request_rate_unbounded": result.request_rate_unbounded, "num_prompts": result.num_prompts,
        "completed": result.completed, "failed": result.failed, "duration_s": result.duration_s,
        "gpu_count": gpu_count, "hosted_provider": hosted, "cpu_name": result.cpu_name,
        "system_name": result.system_name,
        "cost_per_hour_usd": fill.pick("cost_per_hour_usd", None, "cost_per_hour_usd"),
        "provider": provider, "instance_type": fill.pick("instance_type", None, "instance_type"),
        "spot": fill.pick("spot", None, "spot"),
        "framework": framework, "framework_version": version, "framework_capabilities": capabilities,
        "quantization": quantization, "quantization_bits": bits, "precision": result.precision,
        "weights_format": weights,
        "energy_joules": result.energy_joules, "power_watts": result.power_watts,
        "memory_peak_mb": result.memory_peak_mb,
        "metrics": {name: dict(stats) for name, stats in result.metrics.items()} or None,
        "tool_extra": dict(result.extra) or None,
    }
    for column, (metric, stat) in _METRIC_COLUMNS.items():
        record[column] = result.value(metric, stat)
    for column, origin in fill.filled.items():
        notes.append(f"{column} from the {'ingest options' if origin == FROM_OPTIONS else origin}")
    record["notes"] = "; ".join(notes) or None
    record["filled_from"] = dict(sorted(fill.filled.items())) or None
    if not result.failed_run:
        return record, None
    failure = {
        "model_name": model, "test_case": result.tool, "hardware_type": kind, "error_type": ALL_FAILED,
        "error_message": _failure_message(result, model, device), "stage": LLM_SERVING,
        "batch_size": result.batch_size, "timestamp": record["timestamp"],
    }
    return record, failure


_NAME_VERSION = re.compile(r"^(.*?[a-z].*?)[\s=@]+v?(\d[\w.+-]*)$", re.IGNORECASE)


def _framework(name: str | None, version: str | None) -> tuple[str | None, str | None]:
    """A framework as the file names it, in the inference_frameworks key's terms: lower case, and the version
    split off when the name carries it ("TensorRT-LLM 0.12"). A list of several ("TensorRT 10, CUDA 12") stays
    whole: which of them is the server is not for a rule to guess."""
    if name is None:
        return None, version
    text = " ".join(name.split()).lower()
    if version is None and "," not in text:
        match = _NAME_VERSION.match(text)
        if match:
            return match.group(1), match.group(2)
    return text, version


def _failure_message(result: LlmResult, model: str | None, device: str | None) -> str:
    where = f" ({result.record})" if result.record else ""
    return (f"{result.tool} run{where} of {model or 'an unnamed model'} on {device or 'unnamed hardware'}: "
            f"{result.failure or ALL_FAILED}")
