"""How large a file an ingest reads (stdlib only, so the shell's settings can name the default without pandas).

Reading a result file takes about ten times its size in memory while it is parsed and normalized (its
bytes, the parsed JSON, the record dicts, the frames): a 200 MB file took 2.3 GB. Files above the limit
are refused before they are opened, with the file and the limit named.
"""

MB = 1 << 20  # a megabyte, as the limit counts it
DEFAULT_MAX_FILE_MB = 256  # ``BENCHMARK_MAX_FILE_MB`` / ``--max-file-mb`` in the shell
