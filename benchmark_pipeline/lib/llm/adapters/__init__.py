"""One module per tool family; each has ``NAME``, ``matches(document)`` and ``parse(document, source, record)``.

``ADAPTERS`` is the order ``detect`` asks them in. The ``matches`` are written to exclude each other (a test
holds every sample to exactly one), so the order only matters for files nobody has seen; SGLang and vLLM
serve files look alike and are told apart by SGLang's own key names, checked in both adapters.
"""

from __future__ import annotations

from . import aiperf, genai_perf, llmperf, mlperf, optimum_benchmark, sglang, vllm_offline, vllm_serve

ADAPTERS = (mlperf, sglang, vllm_serve, vllm_offline, aiperf, genai_perf, llmperf, optimum_benchmark)
