"""Long-polling cars without a database query per waiting car.

Each worker keeps one watcher thread. While any car waits, the watcher asks the
database once per interval for the open bookings of *all* waiting cars and wakes
the ones that have one. Bookings made by this worker wake their car at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Lookup = Callable[[list[str]], dict[str, dict[str, Any]]]


class _Waiter:
    __slots__ = ("booking", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.booking: dict[str, Any] | None = None


class AssignmentWaiters:
    """Cars waiting for a booking in this worker, and the thread that looks for them."""

    def __init__(self, lookup: Lookup, *, interval_s: float = 0.1) -> None:
        self._lookup = lookup
        self._interval = interval_s
        self._lock = threading.Lock()
        self._waiting: dict[str, list[_Waiter]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wait(self, car_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The car's open booking as soon as there is one, or None after `timeout_s`."""
        waiter = _Waiter()
        with self._lock:
            self._waiting.setdefault(car_id, []).append(waiter)
            self._ensure_thread()
        self._wake.set()
        try:
            waiter.event.wait(timeout_s)
            return waiter.booking
        finally:
            with self._lock:
                waiters = self._waiting.get(car_id, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._waiting.pop(car_id, None)

    def notify(self, car_id: str, booking: dict[str, Any]) -> None:
        """Hand a booking made in this worker to its car's waiting requests at once."""
        with self._lock:
            waiters = list(self._waiting.get(car_id, []))
        for waiter in waiters:
            waiter.booking = booking
            waiter.event.set()

    @property
    def count(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waiting.values())

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="assignment-watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                cars = list(self._waiting)
            if not cars:
                self._wake.clear()
                continue
            started = time.monotonic()
            try:
                found = self._lookup(cars)
            except Exception as exc:  # noqa: BLE001 - database down: waiters time out
                log.debug("assignment lookup failed: %s", type(exc).__name__)
                found = {}
            for car_id, booking in found.items():
                self.notify(car_id, booking)
            time.sleep(max(0.0, self._interval - (time.monotonic() - started)))
