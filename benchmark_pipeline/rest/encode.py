"""Values from DuckDB and pandas as JSON can carry them: NaN and NaT become null, numpy scalars plain numbers."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID


def plain(value: Any) -> Any:
    """``value`` made of JSON types (and datetimes, which the response models serialise as ISO 8601)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return plain(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    # pandas and numpy, without importing them: NaT/NA, Timestamps, numpy scalars and arrays.
    module = type(value).__module__
    if module.startswith(("pandas", "numpy")):
        try:
            import pandas as pd

            if value is pd.NaT or value is pd.NA:
                return None
            if isinstance(value, pd.Timestamp):
                return value.to_pydatetime()
        except ImportError:  # pragma: no cover - pandas is a dependency
            pass
        if hasattr(value, "tolist"):
            return plain(value.tolist())
        if hasattr(value, "item"):
            return plain(value.item())
    if isinstance(value, (datetime, date, time)):
        return value
    return str(value)


def json_ready(value: Any) -> Any:
    """Like ``plain``, with dates and times as ISO 8601 text (for bodies no response model serialises)."""
    value = plain(value)
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def records(frame) -> list[dict[str, Any]]:
    """A pandas frame's rows as plain dicts."""
    return [plain(row) for row in frame.to_dict("records")]
