"""Regenerate data/sample/ (deterministic): python scripts/generate_sample_data.py [OUT_DIR]."""

import shutil
import sys
from pathlib import Path

from benchmark_pipeline.lib.sample_data import write_sample

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "sample")
    if out.exists():
        shutil.rmtree(out)
    files = write_sample(out)
    print(f"wrote {len(files)} files under {out}")
