"""The front door: read a file, recognise which tool wrote it by its content, and return its runs.

No ``--type`` and no file-name rules: a file is JSON, JSON lines, or text, and the first adapter whose
``matches`` accepts the content parses it. Python's JSON reader is used on purpose: SGLang writes a bare
``Infinity`` for an unlimited request rate, which strict parsers refuse. A file that no adapter
recognises raises ``UnrecognizedFormat`` (the caller tries the non-LLM ingest); a recognised file that is
broken raises ``LlmFormatError`` naming the file, the record (``line N`` of JSON lines, ``item N`` of a
JSON list) and the field.

MLPerf splits one run over two files (summary and detail log): ``read_llm_folder`` reads a set of files
and pairs them (``combine_mlperf``), and reads the submission's system description when the log sits in
a submission tree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .adapters import ADAPTERS, mlperf
from .errors import LlmFormatError, LlmIngestError, UnrecognizedFormat
from .result import LlmResult

# The suffixes read_llm_folder looks at when given a directory; single files are read whatever their name.
SUFFIXES = (".json", ".jsonl", ".txt")


def recognise(document: Any):
    """The adapter module that recognises ``document`` (a parsed JSON value, or a log's text), or None."""
    for adapter in ADAPTERS:
        if adapter.matches(document):
            return adapter
    return None


def parse_document(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    """Runs of one already-parsed document."""
    adapter = recognise(document)
    if adapter is None:
        raise UnrecognizedFormat("no LLM benchmark format recognises this content", file=source, record=record)
    return _parse_with(adapter, document, source, record)


def _parse_with(adapter, document: Any, source: str, record: str | None) -> list[LlmResult]:
    try:
        return adapter.parse(document, source, record)
    except LlmIngestError as exc:
        raise exc.located(file=source, record=record) from None
    except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
        # Content shaped in a way the adapter did not foresee: refuse with the reason, never crash the ingest.
        raise LlmFormatError(f"unreadable {adapter.NAME} content: {exc}", file=source, record=record) from exc


def read_llm_results(path: str | Path) -> list[LlmResult]:
    """Every run in one file (one for most tools, one per line for SGLang)."""
    path = Path(path)
    return parse_llm_bytes(path.read_bytes(), str(path))


def parse_llm_bytes(data: bytes, source: str) -> list[LlmResult]:
    """``read_llm_results`` for bytes that came from elsewhere (an upload); ``source`` names them in errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnrecognizedFormat(f"not UTF-8 text (byte {exc.start})", file=source) from None
    if not text.strip():
        raise UnrecognizedFormat("empty file", file=source)
    if mlperf.matches(text):
        return _with_system_description(_parse_with(mlperf, text, source, None), source)
    documents = _json_documents(text, source)
    first = recognise(documents[0][1])
    if first is None:
        raise UnrecognizedFormat("no LLM benchmark format recognises this content", file=source,
                                 record=documents[0][0] if len(documents) > 1 else None)
    results: list[LlmResult] = []
    for record, document in documents:
        adapter = recognise(document)
        if adapter is None:
            raise LlmFormatError(f"not a {first.NAME} run like the file's first record: no format recognises it",
                                 file=source, record=record)
        results.extend(_parse_with(adapter, document, source, record))
    return results


def _json_documents(text: str, source: str) -> list[tuple[str | None, Any]]:
    """(record, document) pairs: one for a JSON object, one per item of a JSON list, one per JSON line."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole:
        return _json_lines(text, source, whole)
    except RecursionError:
        raise UnrecognizedFormat("JSON nested too deeply", file=source) from None
    if isinstance(document, list):
        if not document:
            raise UnrecognizedFormat("an empty JSON list", file=source)
        return [(f"item {index}", item) for index, item in enumerate(document, start=1)]
    return [(None, document)]


def _json_lines(text: str, source: str, whole: json.JSONDecodeError) -> list[tuple[str | None, Any]]:
    documents: list[tuple[str | None, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append((f"line {number}", json.loads(line)))
        except (json.JSONDecodeError, RecursionError) as exc:
            if not documents:
                raise UnrecognizedFormat(f"neither JSON nor JSON lines ({whole.msg} at line {whole.lineno})",
                                         file=source) from None
            if recognise(documents[0][1]) is None:
                raise UnrecognizedFormat("no LLM benchmark format recognises this content", file=source) from None
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise LlmFormatError(f"not JSON: {message}", file=source, record=f"line {number}") from None
    if len(documents) == 1:
        # A single line that parses alone while the whole text does not: trailing garbage after one object.
        raise UnrecognizedFormat(f"not JSON: {whole.msg} at line {whole.lineno}", file=source)
    return documents


def _with_system_description(results: list[LlmResult], source: str) -> list[LlmResult]:
    described = mlperf.system_description_path(source)
    if described is None:
        return results
    try:
        description = json.loads(described.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LlmFormatError(f"unreadable system description: {exc}", file=str(described)) from None
    return [mlperf.apply_system_description(result, description, str(described)) for result in results]


def combine_mlperf(results: Iterable[LlmResult]) -> list[LlmResult]:
    """Pair each MLPerf summary with the detail log of the same run into one result."""
    return mlperf.combine(results)


def read_llm_folder(paths: Iterable[str | Path]) -> list[LlmResult]:
    """Every LLM run in these files and directories, MLPerf summary/detail pairs combined.

    Files no adapter recognises are skipped (they are for the non-LLM ingest); a recognised but broken
    file raises its ``LlmFormatError``. Directories are walked for ``.json``, ``.jsonl`` and ``.txt``.
    """
    files: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            files.extend(sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES))
        else:
            files.append(entry)
    results: list[LlmResult] = []
    for file in files:
        try:
            results.extend(read_llm_results(file))
        except UnrecognizedFormat:
            continue
    return combine_mlperf(results)
