"""``python -m benchmark_pipeline.cli`` is ``benchmark-db``."""

import sys

from benchmark_pipeline.cli.main import main

sys.exit(main())
