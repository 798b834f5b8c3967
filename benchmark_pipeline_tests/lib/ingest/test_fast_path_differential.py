"""The fast path agrees with the reference path record by record, over generated messy records.

Reference path: every value coerced alone (``coerce.coerce``), every record checked by pandera itself, columns
read key by key. Fast path: what an ingest runs (whole-column conversion of the clean values, the pandera
model's checks as one vectorised pass with pandera on the suspect rows only, columns transposed at once).
Both see the same files; stored rows, children, quarantine rows (field, value, reason) and dropped duplicates
must be the same.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pandas as pd
import pytest

import benchmark_pipeline.lib.ingest.columns as columns_module
import benchmark_pipeline.lib.ingest.records as records_module
import benchmark_pipeline.lib.ingest.validate as validate_module
from benchmark_pipeline.lib.batch_contract import ValidatedBatch
from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate
from benchmark_pipeline.lib.ingest.columns import missing_column

BASE = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
DEVICES = [("cuda", "NVIDIA A100"), ("rocm", "MI300X"), ("cpu", "AMD EPYC 9654"), ("mps", "Apple M3"),
           ("CUDA", "NVIDIA H100"), ("gpu", "odd"), ("tpu-x", "odd")]


def _time(rng: random.Random, when: dt.datetime):
    """A run time as some tool writes it, now and then one no rule accepts."""
    spellings = [
        lambda: when.isoformat(),  # +00:00
        lambda: when.isoformat().replace("+00:00", "Z"),
        lambda: when.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat(),
        lambda: when.replace(tzinfo=None).isoformat(sep=" "),  # naive, space
        lambda: when.replace(microsecond=rng.randrange(10**6)).isoformat(),
        lambda: when.strftime("%Y-%m-%dT%H:%M"),
        lambda: int(when.timestamp()),  # epoch seconds
        lambda: int(when.timestamp() * 1000),  # epoch milliseconds
        lambda: when.strftime("%Y%m%d_%H%M%S"),
        lambda: f" {when.isoformat()} ",
        lambda: "2025-02-30T00:00:00Z",  # no such day
        lambda: "1969-07-20T20:17:00Z",  # before any run
        lambda: "yesterday",
        lambda: None,
    ]
    weights = [60] + [3] * (len(spellings) - 1)
    return rng.choices(spellings, weights)[0]()


def _number(rng: random.Random, value: float, whole: bool = False):
    """A measurement as written: usually clean, sometimes a string, a bool, out of range, zero, negative."""
    kind = rng.choices(range(9), [200, 1, 1, 1, 1, 1, 1, 1, 1])[0]
    if kind == 0:
        return int(value) if whole else value
    return [None, str(value), f" {value} ", True, -value, 0, 2**40 if whole else "NaN", value + 0.5 if whole else
            "1e400"][kind - 1]


def messy_record(rng: random.Random, i: int) -> object:
    hardware_type, device = rng.choices(DEVICES, [10, 10, 10, 10, 3, 1, 1])[0]
    latency = rng.uniform(0.5, 300)
    record = {
        "model_name": rng.choices(["bert-base", "t5-small", " vit ", "", "llama-3-8b", "ünïcode-model"],
                                 [10, 10, 3, 1, 10, 3])[0],
        "hardware_type": hardware_type, "device_name": device, "memory_gb": _number(rng, 80.0),
        "batch_size": _number(rng, 2 ** rng.randrange(6), whole=True),
        "sequence_length": _number(rng, 128 * rng.randrange(1, 5), whole=True), "precision": rng.choice(["fp16", "int8", 8]),
        "average_latency_ms": _number(rng, round(latency, 3)), "latency_p50_ms": _number(rng, round(latency * 0.9, 3)),
        "latency_p99_ms": _number(rng, round(latency * 1.4, 3)),
        "throughput_items_per_second": _number(rng, round(1000 / latency, 3)),
        "iterations": _number(rng, 100, whole=True), "is_simulated": rng.choice([False, False, "yes", 1, None]),
        "timestamp": _time(rng, BASE + dt.timedelta(minutes=i)),
    }
    mess = rng.randrange(12)
    if mess == 0:  # another tool's spellings
        record["latency_ms"] = record.pop("average_latency_ms")
        record["model"] = record.pop("model_name")
    elif mess == 1:
        record["throughput"] = record.pop("throughput_items_per_second")
        record["started_at"] = record.pop("timestamp")
    elif mess == 2:
        del record["model_name"]
    elif mess == 3:
        record["extra_note"] = {"tags": ["a", "b"], "n": i}
    elif mess == 4:
        record["power_consumption_mw"] = _number(rng, 45000.0)
    elif mess == 5 and rng.random() < 0.2:
        return rng.choice([[1, 2], "a string", 7])  # not an object at all
    return record


def write_drop(root, seed: int, files: int = 6, per_file: int = 120) -> None:
    rng = random.Random(seed)
    folder = root / "performance"
    folder.mkdir(parents=True)
    i = 0
    for f in range(files):
        records = []
        for _ in range(per_file):
            records.append(messy_record(rng, i))
            i += 1
            if rng.random() < 0.03:
                records.append(records[-1])  # an exact duplicate
        (folder / f"run_{f}.json").write_text(_dumps(records))


def _dumps(records) -> str:
    return json.dumps(records, ensure_ascii=False)


def _take_only_missing(values, kind, factor=1.0):
    """The reference conversion: nothing converted whole-column, every present value coerced alone."""
    return missing_column(kind, len(values)), np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def reference_batch(root, monkeypatch) -> ValidatedBatch:
    with monkeypatch.context() as patch:
        patch.setattr(records_module, "fast_coerce", _take_only_missing)
        patch.setattr(validate_module, "_suspect_rows", lambda model, frame: np.ones(len(frame), dtype=bool))
        patch.setattr(columns_module.RawColumns, "_transposed", lambda self: {})
        return read_and_validate(discover([root]).files, seen_at=BASE)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("file_id", "record_index", "child_index", "field", "reason") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_stores_and_quarantines_exactly_what_the_reference_path_does(tmp_path, monkeypatch, seed):
    write_drop(tmp_path, seed)
    fast = read_and_validate(discover([tmp_path]).files, seen_at=BASE)
    reference = reference_batch(tmp_path, monkeypatch)
    # The generator must really be messy: stored rows, quarantined rows and coerced spellings all present.
    assert len(fast.performance) > 300 and fast.quarantine["record_index"].nunique() > 100
    assert fast.quarantine["reason"].str.startswith("wrong type").any()
    assert fast.quarantine["reason"].str.startswith("unparseable timestamp").any()
    for name in ValidatedBatch.FRAMES:
        got, want = _sorted(getattr(fast, name)), _sorted(getattr(reference, name))
        pd.testing.assert_frame_equal(got, want, check_dtype=True, obj=name)
    assert fast.duplicates_dropped == reference.duplicates_dropped


def test_a_messy_record_falls_back_alone(tmp_path, monkeypatch):
    """One record with an epoch time and one with a string batch size: only those two values are coerced
    value by value; every other value of their columns goes the whole-column way."""
    from benchmark_pipeline.lib.ingest import coerce as coerce_module

    records = [{"model_name": "bert", "hardware_type": "cuda", "average_latency_ms": 1.0 + i, "batch_size": 1,
                "timestamp": (BASE + dt.timedelta(minutes=i)).isoformat()} for i in range(500)]
    records[10]["timestamp"] = int(BASE.timestamp())
    records[20]["batch_size"] = "large"
    (tmp_path / "performance").mkdir()
    (tmp_path / "performance" / "r.json").write_text(_dumps(records))
    seen: list[int] = []
    real = coerce_module.coerce

    def counting(series, kind, factor=1.0):
        seen.append(len(series))
        return real(series, kind, factor)

    monkeypatch.setattr(records_module, "coerce", counting)
    batch = read_and_validate(discover([tmp_path]).files, seen_at=BASE)
    assert seen == [1, 1]
    assert len(batch.performance) == 499
    assert list(batch.quarantine[["record_index", "field", "value"]].itertuples(index=False, name=None)) == [
        (20, "batch_size", "large")]
