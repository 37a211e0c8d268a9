"""A simulated fleet on a running cluster: stations and cars as threads, and how it ends.

A drill `grow`s the fleet (registering devices and starting their threads), lets it run,
then `finish`es it: stations stop booking, cars drive their open trips to the end (the
drain), cars stop, and the database is checked (`consistency.check`, repeated until it is
clean or the server's own repair times have passed) and compared with what clients were
told (`consistency.ledger_problems`).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.reliability import consistency
from benchmarks.reliability.clients import (
    Api,
    Knobs,
    Ledger,
    Recorder,
    SimCar,
    SimStation,
    register,
)
from benchmarks.reliability.cluster import Cluster
from city import default_city

log = logging.getLogger(__name__)


@dataclass
class Fleet:
    cluster: Cluster
    knobs: Knobs = field(default_factory=Knobs)
    seed: int = 0
    recorder: Recorder = field(default_factory=Recorder)
    ledger: Ledger = field(default_factory=Ledger)
    stations: list[SimStation] = field(default_factory=list)
    cars: list[SimCar] = field(default_factory=list)
    stop_booking: threading.Event = field(default_factory=threading.Event)
    stop_cars: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.nodes = sorted(default_city().nodes)

    def api(self) -> Api:
        return Api(self.cluster.base, self.recorder, retry_s=self.knobs.retry_s)

    def grow(self, stations: int, cars: int) -> None:
        """Add devices until the fleet has `stations` stations and `cars` cars."""
        base = self.cluster.base
        while len(self.cars) < cars:
            i = len(self.cars)
            me = register(base, "car", f"drill-car-{i}")
            node = self.nodes[i % len(self.nodes)]
            car = SimCar(self.api(), me, node, self.ledger, self.stop_cars, self.knobs)
            self.cars.append(car)
            car.start()
        while len(self.stations) < stations:
            i = len(self.stations)
            me = register(base, "station", f"drill-station-{i}")
            st = SimStation(
                self.api(),
                me,
                self.nodes,
                self.ledger,
                self.stop_booking,
                self.knobs,
                self.seed + i,
            )
            self.stations.append(st)
            st.start()

    def open_bookings(self) -> int:
        db = self.cluster.mongo()
        try:
            return db.bookings.count_documents({"open": True})
        finally:
            db.client.close()

    def finish(
        self, drain_s: float = 30.0, stop_others: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Stop booking, let open trips end, stop the cars (and `stop_others`: cars the
        drill runs itself), check the database."""
        self.stop_booking.set()
        for st in self.stations:
            st.join(timeout=60)
        t0 = time.monotonic()
        left = -1
        while time.monotonic() - t0 < drain_s:
            try:
                left = self.open_bookings()
            except Exception:  # noqa: BLE001 - the database may still be coming back
                left = -1
            if left == 0:
                break
            time.sleep(0.25)
        drained_s = time.monotonic() - t0
        self.stop_cars.set()
        for car in self.cars:
            car.join(timeout=60)
        if stop_others is not None:
            stop_others()
        return {"drain_s": round(drained_s, 1), "open_after_drain": left, **self.verify()}

    def verify(self, settle_s: float | None = None) -> dict[str, Any]:
        """The consistency check, repeated until clean (or the repair times have passed),
        and the ledger comparison."""
        liveness = self.cluster.liveness_timeout_s
        settle_s = settle_s if settle_s is not None else liveness + consistency.CLAIM_REPAIR_S + 5
        db = self.cluster.mongo()
        try:
            t0 = time.monotonic()
            while True:
                report = consistency.check(
                    db,
                    liveness_timeout_s=liveness,
                    overlap_tolerance_s=max(1.0, self.recorder.slowest_s + 0.5),
                )
                if report.ok or time.monotonic() - t0 > settle_s:
                    break
                time.sleep(0.5)
            settled = time.monotonic() - t0
            with self.ledger.lock:
                acked, closes = dict(self.ledger.acked), dict(self.ledger.closes)
            ledger_problems, lost = consistency.ledger_problems(db, acked, closes)
            unacked = consistency.unacknowledged(db, acked, [st.me.id for st in self.stations])
        finally:
            db.client.close()
        double = report.double_bookings + self.ledger.double_assignments
        return {
            "bookings_acknowledged": len(acked),
            "bookings_unacknowledged": unacked,
            "trips_driven": self.ledger.trips_driven,
            "final_states": report.by_status,
            "lost_bookings": lost,
            "double_bookings": double,
            "conflicting_answers": self.ledger.conflicting_tells,
            "consistency": {**report.to_dict(), "settle_s": round(settled, 1)},
            "ledger_problems": ledger_problems[:20],
        }

    def close(self) -> None:
        """Stop every thread (used on errors; `finish` is the orderly end)."""
        self.stop_booking.set()
        self.stop_cars.set()
        for t in [*self.stations, *self.cars]:
            t.join(timeout=30)


def verdict(result: dict[str, Any], traffic: dict[str, Any], *, retried: bool = False) -> list[str]:
    """The drill's failures against its targets (empty: passed). `retried`: the clients
    retried unanswered requests, so a booking the server stored must have been
    acknowledged (its retry carried the same Idempotency-Key) unless a retry gave up."""
    failures = []
    if retried and result["bookings_unacknowledged"] and not traffic["gave_up"]:
        failures.append(
            f"{result['bookings_unacknowledged']} bookings stored but never acknowledged "
            "although every retry (same Idempotency-Key) was answered"
        )
    if traffic["http_500"]:
        failures.append(f"{traffic['http_500']} answers were 500")
    if traffic["bad_5xx_bodies"]:
        failures.append(f"{traffic['bad_5xx_bodies']} 5xx answers without a JSON error body")
    if result["lost_bookings"]:
        failures.append(f"{result['lost_bookings']} bookings lost")
    if result["double_bookings"]:
        failures.append(f"{result['double_bookings']} double bookings")
    if result["conflicting_answers"]:
        failures.append(f"{result['conflicting_answers']} bookings reported two different ends")
    if not result["consistency"]["ok"]:
        first = result["consistency"]["problems"][:1]
        failures.append(f"consistency check failed: {first}")
    return failures


def add_arguments(
    p: argparse.ArgumentParser, *, duration: float, stations: int, cars: int, step_s: float
) -> None:
    """The fleet options the fault drills share."""
    p.add_argument(
        "--duration", type=float, default=duration, help=f"seconds (default {duration:g})"
    )
    p.add_argument("--stations", type=int, default=stations, help=f"default {stations}")
    p.add_argument("--cars", type=int, default=cars, help=f"default {cars}")
    p.add_argument(
        "--step-s",
        type=float,
        default=step_s,
        help=f"car driving time per node (default {step_s:g})",
    )


def check_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.stations <= 256:
        raise ValueError(f"stations: must be within 1..256, got {args.stations}")
    if not 1 <= args.cars <= 512:
        raise ValueError(f"cars: must be within 1..512, got {args.cars}")
    if not 0.0 <= args.step_s <= 10.0:
        raise ValueError(f"step-s: must be within 0..10, got {args.step_s}")
