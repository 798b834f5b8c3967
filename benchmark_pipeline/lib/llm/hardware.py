"""What an LLM result's names imply: the hardware type of a GPU name, the bits of a quantization scheme, the
file format of quantized weights, and a parameter count a model name states.

Why here and not in ``normalize``: the warehouse keys hardware by a canonical type (cuda, rocm, ...), but LLM
tools name a device ("NVIDIA H100 80GB HBM3", "MI300X", "Ascend910B"), never a type, and a hosted API has no
device at all. Each rule reads only what a name says; a name no rule recognises gives None, and the caller
refuses the result with that reason instead of storing a guess.
"""

from __future__ import annotations

import re

from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES, canonical_hardware_type

# The hardware type of a result measured against a provider's API: the device behind it is not known.
HOSTED = "hosted"
# Intel Gaudi accelerators (Habana's HPU): LLM servers run on them, the project's other results do not.
HPU = "hpu"
HARDWARE_TYPES = (*KNOWN_HARDWARE_TYPES, HPU, HOSTED)

# Where a product name may start: after a separator, or after a count written "8x" (8xMI300X, 4xH100).
_B = r"(?:^|[^a-z0-9]|(?<=\dx))"
# Accelerator names, vendor first where a product name alone is ambiguous. Checked in this order.
_ACCELERATORS = (
    ("rocm", re.compile(r"\bamd\b|instinct|radeon|" + _B + r"mi\d{2,3}[a-z]?(?![a-z0-9])")),
    ("npu", re.compile(r"ascend|" + _B + r"910[abc]?\d?(?![a-z0-9])|inferentia|trainium|neuron")),
    ("tpu", re.compile(r"\btpu")),
    (HPU, re.compile(r"gaudi|habana|\bhpu")),
    ("cuda", re.compile(r"nvidia|tesla|geforce|quadro|\brtx|\bgtx|jetson|orin|xavier|\bdgx|"
                        + _B + r"(?:gh|gb)\d{3}|" + _B + r"[abhlv]\d{2,3}[a-z]?(?![a-z0-9])|" + _B + r"[lt]4(?![a-z0-9])|"
                        + _B + r"l40s?(?![a-z0-9])|" + _B + r"b[12]00(?![0-9])")),
    ("mps", re.compile(r"\bapple\b|(?:^|[^a-z0-9])m[1-4](?: pro| max| ultra)?$")),
)
_CPUS = re.compile(r"xeon|epyc|\bcpu\b|core\(tm\)|ryzen|graviton|\bgrace\b|ampere|rapids|(?:^|[^a-z0-9])"
                   r"(?:gnr|spr|emr|icx|skx)(?![a-z0-9])|\d+s(?:ocket)?[-_ ]")


def accelerator_type(name: str | None) -> str | None:
    """cuda, rocm, npu, tpu, hpu or mps for an accelerator's name; None when the name says none of them."""
    if not name:
        return None
    text = name.strip().lower()
    for kind, pattern in _ACCELERATORS:
        if pattern.search(text):
            return kind
    canonical = canonical_hardware_type(name)  # "cuda", "gpu", "rocm", ... written as a type
    return canonical if canonical not in (None, "cpu") else None


def hardware_type(*, gpu: str | None = None, cpu: str | None = None, system: str | None = None,
                  hosted: bool = False) -> str | None:
    """The canonical type of what a result ran on, from the most specific name it carries.

    A GPU name must name an accelerator; a CPU name is a CPU by where it was found; a system name (an
    MLPerf submission's) is read for an accelerator, then for a CPU.
    """
    if hosted:
        return HOSTED
    if gpu:
        return accelerator_type(gpu)
    if system:
        found = accelerator_type(system)
        if found:
            return found
        return "cpu" if _CPUS.search(system.lower()) else None
    if cpu:
        return "cpu"
    return None


# -- quantized versions ------------------------------------------------------------------------------

_BITS_WORDS = (
    (re.compile(r"(?:^|[^a-z0-9])(?:bf16|fp16|f16|float16|bfloat16|half)(?![0-9])"), 16),
    (re.compile(r"(?:^|[^a-z0-9])(?:fp32|f32|float32|float)(?![0-9])"), 32),
    (re.compile(r"(?:^|[^a-z0-9])(?:fp8|f8|int8|i8|q8(?:_\w+)?|w8a\d+|8-?bits?|float8\w*)(?![0-9])"), 8),
    (re.compile(r"(?:^|[^a-z0-9])(?:awq|nf4|fp4|mxfp4|nvfp4|int4|i4|w4a\d+|4-?bits?|q4(?:_\w+)?)(?![0-9])"), 4),
    (re.compile(r"(?:^|[^a-z0-9])(?:int3|q3(?:_\w+)?|3-?bits?)(?![0-9])"), 3),
    (re.compile(r"(?:^|[^a-z0-9])(?:q5(?:_\w+)?|5-?bits?)(?![0-9])"), 5),
    (re.compile(r"(?:^|[^a-z0-9])(?:q6(?:_\w+)?|6-?bits?)(?![0-9])"), 6),
    (re.compile(r"(?:^|[^a-z0-9])(?:int2|q2(?:_\w+)?|2-?bits?)(?![0-9])"), 2),
)
# llama.cpp's quantization types. Its unquantized F16/BF16 types are also every framework's dtype names, so a
# bare "f16" or "bf16" says gguf only as an Ollama / llama.cpp model tag (llama3:f16), never as a scheme alone.
_GGUF_QUANT = re.compile(r"(?:^|[^a-z0-9])i?q[2-8](?:_[0-9a-z]+)+(?![a-z0-9])")
_GGUF_TAG_TYPE = re.compile(r"(?:^|[^a-z0-9])(?:i?q[2-8](?:_[0-9a-z]+)+|f16|bf16)(?![a-z0-9])")
_FORMATS = (("gguf", re.compile(r"gguf")), ("awq", re.compile(r"\bawq")), ("gptq", re.compile(r"gptq")),
            ("exl2", re.compile(r"exl2")), ("bitsandbytes", re.compile(r"bitsandbytes|\bbnb|nf4")))


def bits_of(*names: str | None) -> int | None:
    """Weight bits a quantization scheme or dtype names (``awq`` 4, ``fp8`` 8, ``q4_k_m`` 4, ``bfloat16`` 16).

    The first name that says a width wins; GPTQ and other schemes that come in several widths give None
    unless the name also says the width (``gptq-int4``).
    """
    for name in names:
        if not name:
            continue
        text = name.strip().lower()
        for pattern, bits in _BITS_WORDS:
            if pattern.search(text):
                return bits
    return None


def weights_format(quantization: str | None, model: str | None) -> str | None:
    """gguf, awq, gptq, exl2 or bitsandbytes when the scheme or the model name says so; else None."""
    for text in (quantization, model):
        if not text:
            continue
        lowered = text.lower()
        for name, pattern in _FORMATS:
            if pattern.search(lowered):
                return name
        if text is quantization and _GGUF_QUANT.search(lowered):
            return "gguf"
    if model and ":" in model and _GGUF_TAG_TYPE.search(model.lower().rsplit(":", 1)[1]):
        return "gguf"  # Ollama / llama.cpp tags: llama-3.2-3b:q4_k_m
    return None


_SIZE = re.compile(r"(?:^|[-_/:\s])(\d+(?:\.\d+)?)([bm])(?=$|[-_/:\s.])")


def parameters_from_name(model: str | None) -> float | None:
    """Parameters a model name states as one size (``Llama-3.1-70B`` 70e9, ``opt-125m`` 125e6); None when it
    states none or several (``mixtral-8x7b`` is not 56B; the active ``A3B`` of ``Qwen3-30B-A3B`` is not a size)."""
    if not model:
        return None
    sizes = _SIZE.findall(model.lower())
    if len(sizes) != 1:
        return None
    number, unit = sizes[0]
    return float(number) * (1e9 if unit == "b" else 1e6)


# GiB per GiB of weights a served model needs: the weights plus 20% for activations and the KV cache.
VRAM_OVERHEAD = 1.2


def vram_required_gb(parameters: float | None, bits: int | None) -> float | None:
    """parameters x bits / 8 x 1.2, in GB of 2**30 bytes (the unit GPUs are sold in: an "80GB" H100 has 80 GiB)."""
    if parameters is None or bits is None:
        return None
    return parameters * bits / 8 * VRAM_OVERHEAD / 2 ** 30
