"""Simulated stations and cars speaking the fleet API, and what they measure and were told.

A `SimStation` books a random destination, then either cancels the booking or follows it
to its end, and reads the car list now and then (the live map). A `SimCar` heartbeats
(`PUT /cars/<id>/status`), long-polls for its next booking, and drives it: one node every
`step_s`, each reported as progress, then arrival and `ready` at the destination. Both
retry a request that got no answer or a 503, within `retry_s`, as the real car and station
do. Every request lands in a `Recorder` (latency and status per endpoint); every booking a
station was answered 201 for, and every final state a client was told, lands in the
`Ledger` that the drill compares with the database at the end.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests

from benchmarks.reliability.cluster import FLEET_KEY

log = logging.getLogger(__name__)

FINAL = ("arrived", "cancelled", "failed")
# Long polls wait on purpose: kept out of the latency figures of the other calls.
LONG_POLL = "GET /cars/{id}/assignment"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Recorder:
    """Latency and outcome of every request, per endpoint; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()  # not reset: requests span resets
        self.slowest_s = 0.0  # the slowest answered request but long polls, never reset
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.latencies: dict[str, list[float]] = defaultdict(list)
            self.outcomes: Counter[tuple[str, str]] = Counter()
            self.bad_5xx_bodies = 0
            self.gave_up = 0
            self.started = time.monotonic()

    def add(self, endpoint: str, outcome: str, seconds: float, bad_body: bool = False) -> None:
        with self._lock:
            if endpoint != LONG_POLL:
                self.slowest_s = max(self.slowest_s, seconds)
            self.latencies[endpoint].append(seconds)
            self.outcomes[(endpoint, outcome)] += 1
            self.bad_5xx_bodies += bad_body

    def begin(self, endpoint: str, delta: int = 1) -> None:
        with self._lock:
            self._in_flight[endpoint] += delta

    def in_flight(self, endpoint: str) -> int:
        with self._lock:
            return self._in_flight[endpoint]

    def summary(self) -> dict[str, Any]:
        with self._lock:
            elapsed = max(1e-9, time.monotonic() - self.started)
            by_outcome: Counter[str] = Counter()
            for (_, outcome), n in self.outcomes.items():
                by_outcome[outcome] += n
            endpoints = {}
            for endpoint, lat in sorted(self.latencies.items()):
                statuses = {o: n for (e, o), n in self.outcomes.items() if e == endpoint}
                endpoints[endpoint] = {
                    "count": len(lat),
                    "p50_ms": round(1000 * percentile(lat, 0.50), 1),
                    "p99_ms": round(1000 * percentile(lat, 0.99), 1),
                    "outcomes": dict(sorted(statuses.items())),
                }
            short = [x for e, lat in self.latencies.items() if e != LONG_POLL for x in lat]
            total = sum(len(lat) for lat in self.latencies.values())
            return {
                "seconds": round(elapsed, 1),
                "requests": total,
                "requests_per_s": round(total / elapsed, 1),
                "p50_ms": round(1000 * percentile(short, 0.50), 1),
                "p99_ms": round(1000 * percentile(short, 0.99), 1),
                "by_outcome": dict(sorted(by_outcome.items())),
                "server_errors": sum(n for o, n in by_outcome.items() if o.startswith("5")),
                "http_500": by_outcome.get("500", 0),
                "bad_5xx_bodies": self.bad_5xx_bodies,
                "no_answer": sum(n for o, n in by_outcome.items() if not o[0].isdigit()),
                "gave_up": self.gave_up,
                "endpoints": endpoints,
            }


@dataclass
class Ledger:
    """What clients were told, for comparison with the database afterwards."""

    acked: dict[str, str] = field(default_factory=dict)  # booking -> station (a 201)
    closes: dict[str, str] = field(default_factory=dict)  # booking -> final status told
    conflicting_tells: int = 0
    double_assignments: int = 0
    trips_driven: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, booking: str, station: str) -> None:
        with self.lock:
            self.acked[booking] = station

    def told(self, booking: str, status: str) -> None:
        if status not in FINAL:
            return
        with self.lock:
            if self.closes.setdefault(booking, status) != status:
                self.conflicting_tells += 1
                log.error("booking %s: told %s and %s", booking, self.closes[booking], status)


@dataclass
class Device:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """One device's HTTP session; every call is recorded, and retried when asked."""

    def __init__(self, base: str, recorder: Recorder, retry_s: float = 0.0) -> None:
        self.base = base
        self.recorder = recorder
        self.retry_s = retry_s
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        timeout: float = 10.0,
        retry: bool = True,
    ) -> tuple[requests.Response | None, int]:
        """(the last answer or None, attempts made)."""
        deadline = time.monotonic() + (self.retry_s if retry else 0.0)
        pause = 0.05
        attempts = 0
        while True:
            attempts += 1
            t0 = time.perf_counter()
            self.recorder.begin(endpoint)
            try:
                r = self.session.request(
                    method, self.base + path, headers=headers, json=json, timeout=timeout
                )
            except requests.RequestException as exc:
                self.recorder.begin(endpoint, -1)
                self.recorder.add(endpoint, type(exc).__name__, time.perf_counter() - t0)
                r = None
            else:
                self.recorder.begin(endpoint, -1)
                bad = r.status_code >= 500 and not _is_error_body(r)
                self.recorder.add(endpoint, str(r.status_code), time.perf_counter() - t0, bad)
                if r.status_code != 503:
                    return r, attempts
            if time.monotonic() + pause > deadline:
                if retry and self.retry_s > 0:
                    with self.recorder._lock:  # noqa: SLF001
                        self.recorder.gave_up += 1
                return r, attempts
            time.sleep(pause)
            pause = min(1.0, pause * 2)

    def close(self) -> None:
        self.session.close()


def _is_error_body(r: requests.Response) -> bool:
    try:
        error = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and {"code", "message"} <= set(error)


def register(base: str, kind: str, name: str) -> Device:
    r = requests.post(
        f"{base}/devices",
        json={"kind": kind, "name": name},
        headers={"X-Fleet-Key": FLEET_KEY},
        timeout=30,
    )
    r.raise_for_status()
    return Device(r.json()["id"], r.json()["token"])


@dataclass
class Knobs:
    """How the simulated devices behave."""

    step_s: float = 0.2  # driving time per route node
    heartbeat_s: float = 1.0  # long-poll wait, and so the idle heartbeat period
    cancel_share: float = 0.2  # share of bookings a station cancels
    think_s: float = 0.2  # a station's pause between trips (uniform 0..think_s)
    map_every_s: float = 2.0  # a following station reads the car list this often
    retry_s: float = 0.0  # how long a request is retried (no answer, 503)


class SimStation(threading.Thread):
    def __init__(
        self,
        api: Api,
        me: Device,
        nodes: list[str],
        ledger: Ledger,
        stop: threading.Event,
        knobs: Knobs,
        seed: int,
    ) -> None:
        super().__init__(name=f"station-{me.id}", daemon=True)
        self.api, self.me, self.nodes, self.ledger = api, me, nodes, ledger
        self.stop, self.knobs = stop, knobs
        self.rng = random.Random(seed)
        self.booked = 0

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.book_once()
                self.stop.wait(self.rng.uniform(0, self.knobs.think_s))
        except Exception:  # noqa: BLE001 - a drill reports, never dies silently
            log.exception("station %s stopped", self.me.id)
        finally:
            self.api.close()

    def book_once(self) -> None:
        # One key per booking request, kept by every retry of it: a retry whose first
        # answer was lost gets that booking back instead of a second car.
        key = f"{self.me.id}-{self.rng.getrandbits(64):016x}"
        r, _ = self.api.call(
            "POST",
            "/bookings",
            "POST /bookings",
            headers={**self.me.headers, "Idempotency-Key": key},
            json={"destination": self.rng.choice(self.nodes)},
        )
        if r is None or r.status_code != 201:
            if r is not None and r.status_code == 429:
                self.stop.wait(float(r.headers.get("Retry-After", 1)))
            else:  # no car ready (409), or an outage: try again shortly
                self.stop.wait(self.rng.uniform(0.05, 0.3))
            return
        booking = r.json()
        self.ledger.ack(booking["id"], self.me.id)
        self.booked += 1
        if self.rng.random() < self.knobs.cancel_share:
            self.stop.wait(self.rng.uniform(0, 2 * self.knobs.step_s))
            self.cancel(booking["id"])
        else:
            self.follow(booking["id"], len(booking["route"]["steps"]))

    def cancel(self, booking: str) -> None:
        r, _ = self.api.call(
            "POST",
            f"/bookings/{booking}/cancel",
            "POST /bookings/{id}/cancel",
            headers=self.me.headers,
        )
        if r is not None and r.status_code == 200:
            self.ledger.told(booking, r.json()["status"])

    def follow(self, booking: str, steps: int) -> None:
        """Poll the booking until it ends (the station's screen), reading the map now and then."""
        deadline = time.monotonic() + 30 + 3 * steps * self.knobs.step_s
        next_map = 0.0
        while time.monotonic() < deadline and not self.stop.is_set():
            if time.monotonic() >= next_map:
                self.api.call("GET", "/cars", "GET /cars", headers=self.me.headers)
                next_map = time.monotonic() + self.knobs.map_every_s
            r, _ = self.api.call(
                "GET", f"/bookings/{booking}", "GET /bookings/{id}", headers=self.me.headers
            )
            if r is not None and r.status_code == 200 and r.json()["status"] in FINAL:
                self.ledger.told(booking, r.json()["status"])
                return
            self.stop.wait(max(0.25, self.knobs.step_s))


class SimCar(threading.Thread):
    def __init__(
        self,
        api: Api,
        me: Device,
        node: str,
        ledger: Ledger,
        stop: threading.Event,
        knobs: Knobs,
    ) -> None:
        super().__init__(name=f"car-{me.id}", daemon=True)
        self.api, self.me, self.node, self.ledger = api, me, node, ledger
        self.stop, self.knobs = stop, knobs
        self.trips = 0

    def run(self) -> None:
        try:
            self.status("ready")
            while not self.stop.is_set():
                wait = self.knobs.heartbeat_s
                r, _ = self.api.call(
                    "GET",
                    f"/cars/{self.me.id}/assignment?wait={wait:g}",
                    LONG_POLL,
                    headers=self.me.headers,
                    timeout=wait + 15,
                    retry=False,
                )
                if r is not None and r.status_code == 200:
                    self.drive(r.json())
                    self.status("ready")
                elif r is None or r.status_code >= 500:
                    self.stop.wait(0.2)
                    self.status("ready")
                else:
                    self.status("ready")
        except Exception:  # noqa: BLE001
            log.exception("car %s stopped", self.me.id)
        finally:
            self.api.close()

    def status(self, state: str, booking: str | None = None) -> bool:
        """Report; while driving `booking`, False when the server says the car now holds
        another booking. That is a double assignment unless `booking` has ended (a
        station cancelled it, or it failed) and the car was booked anew before it knew."""
        r, _ = self.api.call(
            "PUT",
            f"/cars/{self.me.id}/status",
            "PUT /cars/{id}/status",
            headers=self.me.headers,
            json={"state": state, "node": self.node},
        )
        if booking is None or r is None or r.status_code != 200:
            return True
        holds = r.json().get("booking")
        if holds in (None, booking):
            return True
        mine, _ = self.api.call(
            "GET", f"/bookings/{booking}", "GET /bookings/{id}", headers=self.me.headers
        )
        if mine is not None and mine.status_code == 200 and mine.json()["status"] in FINAL:
            return False  # it ended meanwhile: the car moves on to what it holds now
        with self.ledger.lock:
            self.ledger.double_assignments += 1
        log.error("car %s driving %s was given %s", self.me.id, booking, holds)
        return False

    def drive(self, booking: dict[str, Any]) -> None:
        bid, steps = booking["id"], booking["route"]["steps"]
        with self.ledger.lock:
            self.ledger.trips_driven += 1
        self.trips += 1
        start = 1 + len(booking.get("passed") or [])  # resume a trip taken up again
        for step in steps[start:]:
            if self.stop.wait(self.knobs.step_s):
                return
            if not self.status("driving", bid):
                return
            for _ in range(3):  # `booking_changed`: it changed meanwhile; ask again
                r, attempts = self.api.call(
                    "POST",
                    f"/bookings/{bid}/progress",
                    "POST /bookings/{id}/progress",
                    headers=self.me.headers,
                    json={"node": step["node"]},
                )
                if _code(r) != "booking_changed":
                    break
            if r is None or r.status_code >= 500:
                return  # the server is away: the next long poll hands the trip back
            if r.status_code == 200:
                self.node = step["node"]
            elif _code(r) == "node_not_on_route":
                if attempts > 1:  # the first try landed, its answer was lost
                    self.node = step["node"]
                else:
                    log.error("car %s: progress %s refused", self.me.id, step["node"])
                    return
            else:  # cancelled by the station, or failed: the trip is over
                self._told_closed(r, bid)
                return
        r, _ = self.api.call(
            "POST",
            f"/bookings/{bid}/arrived",
            "POST /bookings/{id}/arrived",
            headers=self.me.headers,
        )
        if r is not None and r.status_code == 200:
            self.ledger.told(bid, r.json()["status"])
            self.node = booking["destination"]
        elif r is not None:
            self._told_closed(r, bid)

    def _told_closed(self, r: requests.Response, bid: str) -> None:
        code = _code(r)
        if code != "booking_closed":
            log.warning("car %s: booking %s answered %s", self.me.id, bid, code)


def _code(r: requests.Response | None) -> str | None:
    """The error code of an answer (None for a success or no answer)."""
    if r is None or r.status_code < 400:
        return None
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return str(r.status_code)
