"""One normalization layer for every input shape: units, hardware names, model families, timestamps.

Every adapter (the updater format in ``records.py`` and the legacy shapes) goes through these
functions, so a unit or a hardware alias is fixed in one place.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import PurePath

# --- hardware ----------------------------------------------------------------------------------

KNOWN_HARDWARE_TYPES = (
    "cpu", "cuda", "rocm", "mps", "openvino", "qualcomm", "webnn", "webgpu", "tpu", "npu",
)

# Display names and spellings seen in real result files, lower-cased, mapped to the canonical type.
_HARDWARE_ALIASES = {
    "cpu": "cpu", "x86": "cpu", "x86_64": "cpu", "intel cpu": "cpu", "amd cpu": "cpu", "arm": "cpu",
    "cuda": "cuda", "gpu": "cuda", "nvidia": "cuda", "nvidia cuda": "cuda", "nvidia gpu": "cuda",
    "rocm": "rocm", "amd": "rocm", "amd rocm": "rocm", "amd gpu": "rocm", "hip": "rocm",
    "mps": "mps", "apple": "mps", "apple mps": "mps", "apple silicon": "mps", "metal": "mps",
    "openvino": "openvino", "intel openvino": "openvino",
    "qualcomm": "qualcomm", "qnn": "qualcomm", "qualcomm ai engine": "qualcomm", "hexagon": "qualcomm",
    "webnn": "webnn", "web nn": "webnn",
    "webgpu": "webgpu", "web gpu": "webgpu",
    "tpu": "tpu", "npu": "npu",
    # spellings met in the original system's result files
    "qualcomm qnn": "qualcomm", "snapdragon": "qualcomm", "apple m1": "mps", "apple m2": "mps",
    "apple m3": "mps", "amd rocm gpu": "rocm", "intel openvino cpu": "openvino",
}


def canonical_hardware_type(value: object) -> str | None:
    """Canonical hardware type for a raw name, or None when the name is not a known platform.

    Accepts device suffixes such as ``cuda:0`` and display names such as ``AMD ROCm``.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text:
        return None
    text = re.sub(r"[:\s]*\d+$", "", text)  # cuda:0, cuda 1
    text = re.sub(r"\s*\((?:real|mock|simulated)\)\s*$", "", text).strip()
    text = text.replace("-", " ").replace("_", " ") if text not in _HARDWARE_ALIASES else text
    return _HARDWARE_ALIASES.get(text)


# --- model families ----------------------------------------------------------------------------

_FAMILY_PATTERNS = (
    # Composite names first: "clip-vit" is CLIP, "llava-...-mistral" is LLaVA, "xclip" is X-CLIP.
    ("xclip", r"xclip|x-clip"),
    ("llava", r"llava"),
    ("clip", r"clip|clap|siglip"),
    ("whisper", r"whisper"),
    ("wav2vec2", r"wav2vec|hubert"),
    ("detr", r"detr"),
    ("bert", r"bert|roberta|distilbert|albert|electra|deberta"),
    ("t5", r"(^|[/_-])t5|flan"),
    ("llama", r"llama|alpaca|vicuna"),
    ("gpt", r"gpt|opt-|bloom|falcon"),
    ("mistral", r"mistral|mixtral"),
    ("qwen", r"qwen"),
    ("vit", r"(^|[/_-])vit|deit|beit|swin|convnext"),
)


def infer_model_family(model_name: object) -> str | None:
    """Family inferred from a model name, or None when no known family matches."""
    if not isinstance(model_name, str):
        return None
    name = model_name.lower()
    for family, pattern in _FAMILY_PATTERNS:
        if re.search(pattern, name):
            return family
    return None


# Task categories used by the original benchmark runner, mapped to our modality vocabulary.
_CATEGORY_MODALITY = {
    "embedding": "text", "text": "text", "text_generation": "text", "nlp": "text",
    "vision": "vision", "image": "vision", "audio": "audio", "speech": "audio",
    "multimodal": "multimodal", "video": "video",
}


def modality_from_category(category: object) -> str | None:
    """Modality implied by a task category such as ``embedding`` or ``text_generation``."""
    if not isinstance(category, str):
        return None
    return _CATEGORY_MODALITY.get(category.strip().lower())


# --- units -------------------------------------------------------------------------------------

UNIT_FACTORS = {
    ("s", "ms"): 1000.0,
    ("ms", "ms"): 1.0,
    ("us", "ms"): 0.001,
    ("bytes", "MB"): 1.0 / (1024 * 1024),
    ("KB", "MB"): 1.0 / 1024,
    ("MB", "MB"): 1.0,
    ("GB", "MB"): 1024.0,
    ("mW", "W"): 0.001,
    ("W", "W"): 1.0,
    ("mJ", "J"): 0.001,
    ("J", "J"): 1.0,
    ("min", "s"): 60.0,
    ("ms", "s"): 0.001,
    ("s", "s"): 1.0,
    ("MiB", "MB"): 1.0,
    ("GiB", "MB"): 1024.0,
}


def convert_unit(value: float | None, from_unit: str, to_unit: str) -> float | None:
    """Convert one value between the units above; None stays None."""
    if value is None:
        return None
    return value * UNIT_FACTORS[(from_unit, to_unit)]


# --- timestamps --------------------------------------------------------------------------------

TIME_SOURCE_RECORD = "record"
TIME_SOURCE_FILE_NAME = "file_name"
TIME_SOURCE_LEDGER = "ledger"

# Plausible run times; anything outside is a broken clock or a typo and is quarantined, not stored.
RUN_TIME_MIN_YEAR, RUN_TIME_MAX_YEAR = 1970, 2100

_STAMP = re.compile(r"(?<!\d)(\d{8})_(\d{6})(?!\d)")
# Epoch seconds between 2000-01-01 and 2100-01-01; larger values are taken as milliseconds.
_EPOCH_MIN, _EPOCH_MAX = 946_684_800, 4_102_444_800


def parse_timestamp(value: object) -> datetime | None:
    """A UTC datetime from ISO 8601 (with or without ``Z`` / offset), ``YYYYMMDD_HHMMSS`` or epoch.

    Naive times are taken as UTC. Returns None for anything unparseable; never guesses "now".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        seconds = float(value)
        if seconds > _EPOCH_MAX:
            seconds /= 1000.0
        if not (_EPOCH_MIN <= seconds <= _EPOCH_MAX):
            return None
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    match = _STAMP.fullmatch(text)
    if match:
        return _from_stamp(match)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return parse_timestamp(float(text))
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the one text form every adapter writes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def timestamp_from_file_name(path: str | PurePath) -> datetime | None:
    """The last ``YYYYMMDD_HHMMSS`` stamp in a file name, as UTC."""
    name = PurePath(path).name
    matches = list(_STAMP.finditer(name))
    for match in reversed(matches):
        stamp = _from_stamp(match)
        if stamp is not None:
            return stamp
    return None


def _from_stamp(match: re.Match[str]) -> datetime | None:
    try:
        return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(
            tzinfo=timezone.utc
        )
    except ValueError:
        return None
