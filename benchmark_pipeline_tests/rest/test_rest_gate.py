"""The connection gate: one mode at a time in the process, many holders of a shared mode, a writer alone, arrival
order between modes, bounded waits. Holders hold until the test lets them go, so no timing decides a result."""

from __future__ import annotations

import threading
import time

import pytest

from benchmark_pipeline.rest.gate import ConnectionGate, GateTimeout


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def _holder(gate: ConnectionGate, mode, log: list, release: threading.Event, exclusive: bool = False,
            name: str | None = None):
    """A thread that holds the gate in ``mode`` until ``release`` is set; it logs ("in"/"out", name)."""
    name = name or mode

    def run():
        with gate.hold(mode, exclusive=exclusive, timeout_s=30):
            log.append(("in", name))
            release.wait(30)
            log.append(("out", name))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_readers_share_and_a_writer_waits_for_them():
    gate, log = ConnectionGate(), []
    read_release, write_release = threading.Event(), threading.Event()
    readers = [_holder(gate, "read", log, read_release) for _ in range(3)]
    _until(lambda: gate.state()[:2] == ("read", 3))  # all three inside at once
    writer = _holder(gate, "write", log, write_release, exclusive=True)
    _until(lambda: gate.state()[2] == 1)
    assert ("in", "write") not in log  # queued while the reads hold the gate
    read_release.set()
    _until(lambda: ("in", "write") in log)
    assert log.count(("out", "read")) == 3
    assert log.index(("in", "write")) > max(i for i, entry in enumerate(log) if entry == ("out", "read"))
    write_release.set()
    for t in [*readers, writer]:
        t.join(10)


def test_a_waiting_writer_is_not_starved_by_later_readers():
    gate, log = ConnectionGate(), []
    first_release, writer_release, late_release = threading.Event(), threading.Event(), threading.Event()
    first = _holder(gate, "read", log, first_release)
    _until(lambda: gate.state()[:2] == ("read", 1))
    writer = _holder(gate, "write", log, writer_release, exclusive=True)
    _until(lambda: gate.state()[2] == 1)
    late = _holder(gate, "read", log, late_release)
    _until(lambda: gate.state()[2] == 2)
    assert gate.state()[:2] == ("read", 1)  # the late reader did not join the open read: the writer came first
    first_release.set()
    _until(lambda: ("in", "write") in log)
    writer_release.set()
    _until(lambda: log.count(("in", "read")) == 2)
    late_release.set()
    for t in (first, writer, late):
        t.join(10)
    assert [entry for entry in log if entry[0] == "in"] == [("in", "read"), ("in", "write"), ("in", "read")]


def test_two_writers_never_overlap():
    gate, log = ConnectionGate(), []
    releases = {f"w{i}": threading.Event() for i in range(3)}
    writers = [_holder(gate, "write", log, event, exclusive=True, name=name) for name, event in releases.items()]
    for entered in range(1, 4):
        _until(lambda: sum(1 for e in log if e[0] == "in") == entered)
        time.sleep(0.05)  # room for a second writer to get in, if the gate let one
        assert gate.state()[:2] == ("write", 1) and sum(1 for e in log if e[0] == "in") == entered
        releases[log[-1][1]].set()  # let the one inside go
    for t in writers:
        t.join(10)
    depth = 0
    for what, _name in log:
        depth += 1 if what == "in" else -1
        assert depth <= 1


def test_waits_are_bounded_and_leave_the_queue_clean():
    gate, log, release = ConnectionGate(), [], threading.Event()
    writer = _holder(gate, "write", log, release, exclusive=True)
    _until(lambda: gate.state()[:2] == ("write", 1))
    with pytest.raises(GateTimeout, match="busy"):
        with gate.hold("read", timeout_s=0.2):
            pass
    assert gate.state()[2] == 0  # the one that gave up is no longer queued
    release.set()
    writer.join(10)
    with gate.hold("read", timeout_s=1):
        assert gate.state()[:2] == ("read", 1)


def test_reentry_in_the_same_mode_and_refusal_across_modes():
    gate = ConnectionGate()
    with gate.hold("read"):
        with gate.hold("read"):
            assert gate.state()[1] == 1
        with pytest.raises(RuntimeError, match="holds the warehouse gate"):
            with gate.hold("write", exclusive=True):
                pass
    assert gate.state() == (None, 0, 0)
