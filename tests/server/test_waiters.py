"""The long-poll watcher: one lookup for all waiting cars, immediate wake-ups, clean timeouts."""

from __future__ import annotations

import threading
import time

from server.waiters import AssignmentWaiters


def test_waiter_times_out_with_none_and_is_forgotten():
    waiters = AssignmentWaiters(lambda cars: {}, interval_s=0.01)
    started = time.monotonic()
    assert waiters.wait("car-1", 0.2) is None
    assert 0.18 < time.monotonic() - started < 1
    assert waiters.count == 0


def test_notify_wakes_the_waiting_car_at_once():
    waiters = AssignmentWaiters(lambda cars: {}, interval_s=10)
    got = {}

    def wait() -> None:
        started = time.monotonic()
        got["booking"] = waiters.wait("car-1", 5)
        got["waited"] = time.monotonic() - started

    t = threading.Thread(target=wait)
    t.start()
    while waiters.count == 0:
        time.sleep(0.01)
    waiters.notify("car-2", {"id": "other"})
    waiters.notify("car-1", {"id": "bk-1"})
    t.join(5)
    assert got["booking"] == {"id": "bk-1"} and got["waited"] < 1


def test_one_lookup_serves_every_waiting_car():
    calls = []
    booked: dict[str, dict] = {}

    def lookup(cars):
        calls.append(sorted(cars))
        return {c: booked[c] for c in cars if c in booked}

    waiters = AssignmentWaiters(lookup, interval_s=0.05)
    results = {}
    threads = [
        threading.Thread(target=lambda c=c: results.__setitem__(c, waiters.wait(c, 3)))
        for c in ("a", "b", "c")
    ]
    for t in threads:
        t.start()
    while waiters.count < 3:
        time.sleep(0.01)
    booked["b"] = {"id": "bk-b"}
    for t in threads:
        t.join(5)
    assert results == {"a": None, "b": {"id": "bk-b"}, "c": None}
    # Several cars waited, but each lookup asked for all of them at once.
    assert max(len(c) for c in calls) == 3
    assert len(calls) < 3 * 3 / 0.05


def test_a_failing_lookup_does_not_kill_the_watcher():
    state = {"fail": True}

    def lookup(cars):
        if state["fail"]:
            raise ConnectionError("database down")
        return dict.fromkeys(cars, {"id": "bk"})

    waiters = AssignmentWaiters(lookup, interval_s=0.02)
    assert waiters.wait("x", 0.1) is None
    state["fail"] = False
    assert waiters.wait("x", 2) == {"id": "bk"}
