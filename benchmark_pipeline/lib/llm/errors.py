"""Why an LLM result file could not be read, precisely enough to fix the file.

Two outcomes must stay apart for the caller: ``UnrecognizedFormat`` means "not one of the LLM tools' files",
so the existing ingest gets its turn; ``LlmFormatError`` means "an LLM tool's file, but broken", which must be
refused with its reason instead of being tried as something else. Both are ``ValueError`` so a caller that
only wants "this input is bad" can catch one thing.
"""

from __future__ import annotations


class LlmIngestError(ValueError):
    """Base of both refusals; carries where the problem sits."""

    def __init__(self, message: str, *, file: str | None = None, record: str | None = None,
                 field: str | None = None):
        self.file = file
        self.record = record
        self.field = field
        self.problem = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = [part for part in (self.file, self.record) if part]
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{': '.join(where)}: {self.problem}" if where else self.problem

    def located(self, *, file: str | None = None, record: str | None = None) -> "LlmIngestError":
        """The same error with the file and record filled in where the raiser did not know them."""
        return type(self)(self.problem, file=self.file or file, record=self.record or record, field=self.field)


class LlmFormatError(LlmIngestError):
    """A recognised LLM result whose content is missing something required, or has a wrong type or unit."""


class UnrecognizedFormat(LlmIngestError):
    """No LLM adapter recognises the content; the caller falls back to the non-LLM ingest."""
