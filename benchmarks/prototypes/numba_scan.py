"""Prototype, not product code: a numba scanner of flat JSON arrays of objects into typed column slots (issue 17).

Why it is here: the ingest's budget at 1.0x ``read_json_auto`` is about 15 us a record, and today the parse plus
the building of typed columns from Python objects take 11.4 us (``benchmarks/results/ingest.md``). This scanner
reads the bytes of many files at once and writes, per record and known key, a type tag, the number as float64
and int64, and a string's byte span; a record with an unknown key, a nested value, an escaped string or a
number outside the exact fast path (more than 15 digits, an exponent) is flagged for the reference path.
Floats are exact: a mantissa of at most 15 digits divided by a power of ten up to 1e22 is one correctly rounded
IEEE division, as a full parser gives. It checks a sample of every column against orjson.

numba is not a dependency of the project; run it in a scratch environment:

    uv venv /tmp/scan && VIRTUAL_ENV=/tmp/scan uv pip install "numba==0.64.*" orjson
    /tmp/scan/bin/python benchmarks/prototypes/numba_scan.py DIR   # a folder of bench_ingest.generate files

Measured 2026-12-06 on the 1M messy records (while CI ran on the same two cores, so only the ratio counts):
scan 5.3 s against orjson.loads 11.1 s for the same files, no sampled value differing; importing numba and
compiling the scanner (cached afterwards) took 2.9 s and 5.6 s under that load.
"""
import glob
import sys
import time

import numba as nb
import numpy as np
import orjson

KEYS = [b"model_name", b"hardware_type", b"device_name", b"memory_gb", b"batch_size", b"sequence_length",
        b"precision", b"test_case", b"average_latency_ms", b"latency_p50_ms", b"latency_p90_ms", b"latency_p99_ms",
        b"throughput_items_per_second", b"memory_peak_mb", b"iterations", b"timestamp",
        b"latency_ms", b"model", b"throughput"]
NK = len(KEYS)
MAXLEN = max(map(len, KEYS))
key_table = np.zeros((NK, MAXLEN), dtype=np.uint8)
key_len = np.zeros(NK, dtype=np.int64)
for i, k in enumerate(KEYS):
    key_table[i, :len(k)] = np.frombuffer(k, dtype=np.uint8)
    key_len[i] = len(k)

POW10 = np.array([10.0 ** i for i in range(23)])
# Type tags: 0 missing, 1 integer, 2 float, 3 string, 4 boolean, 5 null.


@nb.njit(cache=True)
def skip_ws(b, i):
    while i < len(b) and (b[i] == 32 or b[i] == 10 or b[i] == 13 or b[i] == 9):
        i += 1
    return i


@nb.njit(cache=True)
def string_end(b, start):
    """Index of the quote closing the string that starts at ``start``, and whether it holds an escape."""
    j, escaped = start, False
    while b[j] != 34:
        if b[j] == 92:
            escaped = True
            j += 1
        j += 1
    return j, escaped


@nb.njit(cache=True)
def key_is(b, start, length, key_table, key_len, k):
    if key_len[k] != length:
        return False
    for q in range(length):
        if key_table[k, q] != b[start + q]:
            return False
    return True


@nb.njit(cache=True)
def scan(b, file_start, file_end, key_table, key_len, tags, floats, ints, sstart, send, odd, rec_file, max_records):
    """Scan files [file_start[f], file_end[f]) of buffer b; returns the number of records written."""
    n = 0
    hint = np.full(64, -1, dtype=np.int64)
    for f in range(len(file_start)):
        i = skip_ws(b, file_start[f])
        end = file_end[f]
        if i >= end or b[i] != 91:  # '['
            return -1 - f
        i = skip_ws(b, i + 1)
        if b[i] == 93:
            continue
        while True:
            if n >= max_records:
                return -1000000
            rec_file[n] = f
            i = skip_ws(b, i)
            if b[i] != 123:  # '{'
                return -1 - f
            i = skip_ws(b, i + 1)
            bad = False
            pos = 0
            if b[i] == 125:
                i += 1
            else:
                while True:
                    # key
                    if b[i] != 34:
                        return -1 - f
                    ks = i + 1
                    ke, escaped = string_end(b, ks)
                    bad |= escaped
                    i = skip_ws(b, ke + 1)
                    i = skip_ws(b, i + 1)  # ':'
                    klen = ke - ks
                    # Records written by one program name their keys in one order: try last record's first.
                    slot = hint[pos] if pos < 64 else -1
                    if slot < 0 or not key_is(b, ks, klen, key_table, key_len, slot):
                        slot = -1
                        for k in range(len(key_len)):
                            if key_is(b, ks, klen, key_table, key_len, k):
                                slot = k
                                break
                    if slot < 0:
                        bad = True
                    elif pos < 64:
                        hint[pos] = slot
                    pos += 1
                    c = b[i]
                    if c == 34:  # string
                        s = i + 1
                        j, escaped = string_end(b, s)
                        bad |= escaped
                        if slot >= 0:
                            tags[n, slot] = 3
                            sstart[n, slot] = s
                            send[n, slot] = j
                        i = j + 1
                    elif c == 45 or (c >= 48 and c <= 57):  # number
                        neg = c == 45
                        if neg:
                            i += 1
                        mant = 0
                        digits = 0
                        frac = 0
                        is_float = False
                        while b[i] >= 48 and b[i] <= 57:
                            mant = mant * 10 + (b[i] - 48)
                            digits += 1
                            i += 1
                        if b[i] == 46:
                            is_float = True
                            i += 1
                            while b[i] >= 48 and b[i] <= 57:
                                mant = mant * 10 + (b[i] - 48)
                                digits += 1
                                frac += 1
                                i += 1
                        if b[i] == 101 or b[i] == 69:  # exponent: leave to the reference path
                            bad = True
                            is_float = True
                            i += 1
                            if b[i] == 43 or b[i] == 45:
                                i += 1
                            while b[i] >= 48 and b[i] <= 57:
                                i += 1
                        if digits > 15:
                            bad = True
                        if slot >= 0:
                            if is_float:
                                v = mant / POW10[frac] if frac <= 22 else 0.0
                                floats[n, slot] = -v if neg else v
                                tags[n, slot] = 2
                            else:
                                ints[n, slot] = -mant if neg else mant
                                floats[n, slot] = -float(mant) if neg else float(mant)
                                tags[n, slot] = 1
                    elif c == 116:  # true
                        if slot >= 0:
                            tags[n, slot] = 4
                            ints[n, slot] = 1
                        i += 4
                    elif c == 102:  # false
                        if slot >= 0:
                            tags[n, slot] = 4
                            ints[n, slot] = 0
                        i += 5
                    elif c == 110:  # null
                        if slot >= 0:
                            tags[n, slot] = 5
                        i += 4
                    else:  # nested object or array: the reference path
                        bad = True
                        depth = 0
                        instr = False
                        while True:
                            ch = b[i]
                            if instr:
                                if ch == 92:
                                    i += 1
                                elif ch == 34:
                                    instr = False
                            elif ch == 34:
                                instr = True
                            elif ch == 123 or ch == 91:
                                depth += 1
                            elif ch == 125 or ch == 93:
                                depth -= 1
                                if depth == 0:
                                    i += 1
                                    break
                            i += 1
                    i = skip_ws(b, i)
                    if b[i] == 44:
                        i = skip_ws(b, i + 1)
                        continue
                    if b[i] == 125:
                        i += 1
                        break
                    return -1 - f
            odd[n] = bad
            n += 1
            i = skip_ws(b, i)
            if b[i] == 44:
                i += 1
                continue
            if b[i] == 93:
                break
            return -1 - f
    return n


def main(root):
    files = sorted(glob.glob(f"{root}/**/*.json", recursive=True))
    datas = [open(f, "rb").read() for f in files]
    buf = np.frombuffer(b"".join(datas), dtype=np.uint8)
    lens = np.array([len(d) for d in datas])
    ends = np.cumsum(lens)
    starts = ends - lens
    cap = 1_100_000
    tags = np.zeros((cap, NK), dtype=np.uint8)
    floats = np.zeros((cap, NK))
    ints = np.zeros((cap, NK), dtype=np.int64)
    sstart = np.zeros((cap, NK), dtype=np.int64)
    send = np.zeros((cap, NK), dtype=np.int64)
    odd = np.zeros(cap, dtype=np.bool_)
    rec_file = np.zeros(cap, dtype=np.int64)
    scan(buf[:ends[0]], starts[:1], ends[:1], key_table, key_len, tags, floats, ints, sstart, send, odd, rec_file, cap)
    tags[:] = 0
    t = time.perf_counter()
    n = scan(buf, starts, ends, key_table, key_len, tags, floats, ints, sstart, send, odd, rec_file, cap)
    scan_s = time.perf_counter() - t
    t = time.perf_counter()
    parsed = [orjson.loads(d) for d in datas]
    orjson_s = time.perf_counter() - t
    # check against orjson: every float and int of the records not flagged
    flat = [r for doc in parsed for r in doc]
    assert n == len(flat), (n, len(flat))
    mismatches = 0
    for k, key in enumerate(KEYS):
        name = key.decode()
        for r in np.flatnonzero(~odd[:n])[::97]:
            v = flat[r].get(name)
            tag = tags[r, k]
            if v is None:
                mismatches += tag not in (0, 5)
            elif isinstance(v, bool):
                mismatches += tag != 4
            elif isinstance(v, int):
                mismatches += tag != 1 or ints[r, k] != v
            elif isinstance(v, float):
                mismatches += tag != 2 or floats[r, k] != v
            elif isinstance(v, str):
                mismatches += tag != 3 or bytes(buf[sstart[r, k]:send[r, k]]).decode() != v
    print(f"{n:,} records, {int(odd[:n].sum()):,} flagged for the reference path; scan {scan_s:.2f} s, "
          f"orjson {orjson_s:.2f} s; sampled mismatches {mismatches}")


if __name__ == "__main__":
    main(sys.argv[1])
