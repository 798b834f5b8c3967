"""What an ingest may add to LLM results whose files do not say it: ``LlmDefaults``.

Most tools write what they measured, not what they measured it on: vLLM's files name no GPU, GenAI-Perf's
no price. The person ingesting knows, and says so once per ingest (``benchmark-db ingest --gpu H100
--gpu-count 8``, the same fields in the Python and REST APIs) or once per file, in a sidecar
``<file>.meta.json`` dropped beside it with the same keys. The file always wins, then the ingest options,
then the sidecar: a value is only ever added where the file has none, never replaced.

Pure data and parsing: no I/O here (the ingest reads the sidecar and hands its JSON to ``from_mapping``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from .errors import LlmFormatError

# The sidecar's name: "<file>.meta.json" (run.json -> run.json.meta.json), or the file's stem with it
# (run.json -> run.meta.json), the first that exists.
SIDECAR_SUFFIX = ".meta.json"

_FRAMEWORK = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_.+-]*?)\s*(?:==\s*([A-Za-z0-9][A-Za-z0-9_.+!-]*))?\s*$")


class DefaultsError(ValueError):
    """A value an ingest option or sidecar key cannot take; ``name`` is the LlmDefaults field."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(message)


def parse_framework(text: str) -> tuple[str, str | None]:
    """``vllm`` -> ("vllm", None); ``vllm==0.6.3`` -> ("vllm", "0.6.3"). Names are lower-cased, as adapters write them."""
    match = _FRAMEWORK.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not NAME or NAME==VERSION")
    return match.group(1).lower(), match.group(2)


@dataclass(frozen=True)
class LlmDefaults:
    """Values for what an LLM result file lacks. Every field is optional; None means "not given"."""

    model: str | None = None
    gpu: str | None = None  # the GPU's name ("H100 SXM", "NVIDIA A100-SXM4-80GB"), or "hosted:<provider>"
    gpu_count: int | None = None
    vram_gb: float | None = None  # memory of one GPU, GB of 2**30 bytes
    framework: str | None = None
    framework_version: str | None = None
    capabilities: Any = None  # what the framework can do (a list or an object), as the user describes it
    quantization: str | None = None  # awq, gptq, fp8, q4_k_m, ...
    bits: int | None = None  # weight bits, when the scheme does not say
    weights_format: str | None = None  # gguf, gptq, awq, safetensors, ...
    parameters: float | None = None  # parameter count (7e9), when the model name does not state it
    cost_per_hour_usd: float | None = None  # price of the whole configuration (all its GPUs) per hour
    provider: str | None = None  # cloud or API provider
    instance_type: str | None = None
    spot: bool | None = None

    def __post_init__(self) -> None:
        _check(self, "gpu_count", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
               "a whole number >= 1")
        _check(self, "bits", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64,
               "a whole number of bits from 1 to 64")
        for name in ("vram_gb", "parameters"):
            _check(self, name, lambda v: _number(v) and v > 0, "a number > 0")
        _check(self, "cost_per_hour_usd", lambda v: _number(v) and v >= 0, "a number of USD >= 0")
        _check(self, "spot", lambda v: isinstance(v, bool), "true or false")
        for name in ("model", "gpu", "framework", "framework_version", "quantization", "weights_format", "provider",
                     "instance_type"):
            _check(self, name, lambda v: isinstance(v, str) and v.strip() != "", "non-empty text")
        if self.framework_version is not None and self.framework is None:
            raise DefaultsError("framework_version", "a framework version needs its framework (NAME==VERSION)")

    @classmethod
    def from_options(cls, *, model: str | None = None, gpu: str | None = None, gpu_count: int | None = None,
                     framework: str | None = None, quantization: str | None = None,
                     cost_per_hour: float | None = None, **more: Any) -> "LlmDefaults":
        """The ingest options as a shell takes them: ``framework`` as NAME[==VERSION]. Raises ValueError."""
        name, version = parse_framework(framework) if framework is not None else (None, None)
        return cls(model=model, gpu=gpu, gpu_count=gpu_count, framework=name, framework_version=version,
                   quantization=quantization, cost_per_hour_usd=cost_per_hour, **more)

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> "LlmDefaults":
        """A sidecar's JSON object: the option names (``gpu``, ``gpu_count``, ``framework``, ``quantization``,
        ``cost_per_hour``) and the few facts only a sidecar can give (``SIDECAR_KEYS``). An unknown key is an
        error, so a misspelt one is never silently ignored."""
        if not isinstance(data, Mapping):
            raise LlmFormatError("a sidecar must be a JSON object of the ingest options", file=where)
        unknown = sorted(set(data) - set(SIDECAR_KEYS))
        if unknown:
            raise LlmFormatError(f"unknown key; the keys are {', '.join(SIDECAR_KEYS)}", file=where,
                                 field=unknown[0])
        values: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            target = SIDECAR_KEYS[key]
            if key == "framework":
                if not isinstance(value, str):
                    raise LlmFormatError("expected NAME or NAME==VERSION", file=where, field=key)
                try:
                    values["framework"], version = parse_framework(value)
                except ValueError as exc:
                    raise LlmFormatError(str(exc), file=where, field=key) from None
                if version is not None:
                    values["framework_version"] = version
                continue
            if target in ("vram_gb", "parameters", "cost_per_hour_usd") and isinstance(value, int) \
                    and not isinstance(value, bool):
                value = float(value)
            if target == "parameters" and isinstance(value, str):
                value = _parameters(value, where, key)
            values[target] = value
        try:
            return cls(**values)
        except DefaultsError as exc:
            field = next((key for key, target in SIDECAR_KEYS.items() if target == exc.name), "framework")
            raise LlmFormatError(str(exc), file=where, field=field) from None

    @property
    def given(self) -> dict[str, Any]:
        """The fields that were given, by name."""
        return {item.name: getattr(self, item.name) for item in fields(self) if getattr(self, item.name) is not None}

    def __bool__(self) -> bool:
        return bool(self.given)

    def fingerprint(self) -> str:
        """Canonical JSON of what was given: equal defaults, equal text (the ledger compares ingests by it)."""
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True,
                          separators=(",", ":"))


# sidecar key -> LlmDefaults field
SIDECAR_KEYS: dict[str, str] = {
    "model": "model", "gpu": "gpu", "gpu_count": "gpu_count", "framework": "framework",
    "quantization": "quantization", "cost_per_hour": "cost_per_hour_usd", "vram_gb": "vram_gb",
    "capabilities": "capabilities", "bits": "bits", "format": "weights_format", "parameters": "parameters",
    "provider": "provider", "instance_type": "instance_type", "spot": "spot",
}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(defaults: LlmDefaults, name: str, ok, expected: str) -> None:
    value = getattr(defaults, name)
    if value is not None and not ok(value):
        raise DefaultsError(name, f"{name} {value!r} is not {expected}")


_PARAMETERS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)


def _parameters(text: str, where: str, key: str) -> float:
    """"70B", "125M", "1.5b" or "7000000000" as a count."""
    match = _PARAMETERS.match(text)
    if not match:
        raise LlmFormatError(f"expected a parameter count such as 7e9 or \"70B\", got {text!r}", file=where,
                             field=key)
    scale = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[match.group(2).lower()]
    return float(match.group(1)) * scale
