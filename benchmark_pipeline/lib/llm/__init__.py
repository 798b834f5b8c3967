"""LLM-serving benchmark results: one vocabulary, one result shape, and adapters that recognise each tool's file.

Pure library code: no warehouse, no Dagster, no pandas. ``metrics`` is the vocabulary (names, units, directions,
definitions), ``result`` the frozen ``LlmResult`` every adapter returns, ``detect`` the front door
(``read_llm_results`` / ``read_llm_folder``) that reads a file, recognises its format by content and hands it to
the adapter in ``adapters``. Nothing is imported here, so ``from benchmark_pipeline.lib.llm.metrics import ...``
costs only the vocabulary.
"""
