"""Fault drill: kill a car mid-trip.

The cars run as their own processes (`carproc`). While stations book, the drill picks a
car that is driving a trip and SIGKILLs it, then reads the trip as its station does
(`GET /bookings/<id>`) until it is `failed`. Targets: the trip fails within the liveness
timeout (plus 1 s of polling and sweep slack) of the kill; the dead car is never given
another booking; started again (same id and token), the car reports ready and is booked
again; nothing lost or doubled, and the consistency check is clean.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks.reliability import fleet as fleet_mod
from benchmarks.reliability.clients import Device, Knobs, register
from benchmarks.reliability.cluster import Cluster, _die_with_parent, cluster_for
from benchmarks.reliability.fleet import Fleet, verdict

ROOT = Path(__file__).resolve().parents[2]
DETECTION_SLACK_S = 1.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    fleet_mod.add_arguments(p, duration=40, stations=3, cars=4, step_s=0.5)
    p.add_argument("--kills", type=int, default=3, help="cars to kill, one after another")


def check_arguments(args: argparse.Namespace) -> None:
    fleet_mod.check_arguments(args)
    if not 1 <= args.kills <= 50:
        raise ValueError(f"kills: must be within 1..50, got {args.kills}")
    if args.cars > 32:
        raise ValueError(f"cars: at most 32 car processes, got {args.cars}")
    if args.step_s < 0.2:
        raise ValueError(
            f"step-s: at least 0.2, so trips last long enough to kill one, got {args.step_s}"
        )


class CarProcesses:
    """The drill's car processes, by car id; always ends them (`stop_all`)."""

    def __init__(self, base: str, step_s: float) -> None:
        self.base, self.step_s = base, step_s
        self.devices: dict[str, Device] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, me: Device, node: str) -> None:
        env = {
            **os.environ,
            "DRILL_BASE": self.base,
            "DRILL_CAR_ID": me.id,
            "DRILL_CAR_TOKEN": me.token,
            "DRILL_NODE": node,
            "DRILL_STEP_S": str(self.step_s),
        }
        self.devices[me.id] = me
        self.procs[me.id] = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "benchmarks.reliability.carproc"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )

    def kill(self, car: str) -> None:
        proc = self.procs[car]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with cluster_for(args, "drill-kill-car-") as cluster:
        return drive(args, cluster)


def drive(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    """The drill on a running cluster."""
    kills: list[dict[str, Any]] = []
    fleet = Fleet(cluster, Knobs(step_s=args.step_s, retry_s=5.0), seed=args.seed)
    cars = CarProcesses(cluster.base, args.step_s)
    try:
        for i in range(args.cars):
            node = fleet.nodes[i % len(fleet.nodes)]
            cars.start(register(cluster.base, "car", f"drill-car-{i}"), node)
        fleet.grow(args.stations, 0)
        end = time.monotonic() + args.duration
        while len(kills) < args.kills and time.monotonic() < end:
            kill = _kill_mid_trip(cluster, fleet, cars, args)
            if kill is not None:
                kills.append(kill)
        time.sleep(max(0.0, end - time.monotonic()))
        result = fleet.finish(stop_others=cars.stop_all)
        traffic = fleet.recorder.summary()
    finally:
        fleet.close()
        cars.stop_all()
    result["trips_driven"] = None  # the cars are processes: their counts died with them
    limit = args.liveness_timeout + DETECTION_SLACK_S
    failures = verdict(result, traffic)
    if len(kills) < args.kills:
        failures.append(f"only {len(kills)} of {args.kills} cars were caught mid-trip")
    for k in kills:
        if k["failed_after_s"] is None or k["failed_after_s"] > limit:
            failures.append(
                f"trip {k['booking']} failed after {k['failed_after_s']} s (> {limit:g})"
            )
        if k["booked_while_dead"]:
            failures.append(f"car {k['car']} was booked while dead")
        if k["rebooked_after_s"] is None:
            failures.append(f"car {k['car']} was not booked again after it came back")
    return {
        "drill": "kill-car",
        "settings": {
            "duration_s": args.duration,
            "stations": args.stations,
            "cars": args.cars,
            "liveness_timeout_s": args.liveness_timeout,
            "step_s": args.step_s,
        },
        "kills": kills,
        "traffic": traffic,
        **result,
        "failures": failures,
        "passed": not failures,
    }


def _kill_mid_trip(
    cluster: Cluster, fleet: Fleet, cars: CarProcesses, args: argparse.Namespace
) -> dict[str, Any] | None:
    db = cluster.mongo()
    try:
        deadline = time.monotonic() + 20
        trip = None
        while trip is None and time.monotonic() < deadline:
            trip = db.bookings.find_one(
                {"open": True, "status": "driving", "station": {"$ne": None}}
            )
            time.sleep(0.05 if trip is None else 0)
        if trip is None:
            return None
        car, booking = trip["car"], trip["_id"]
        station = next(s for s in fleet.stations if s.me.id == trip["station"])
        seen = db.cars.find_one({"_id": car}, {"last_seen": 1})["last_seen"]
        cars.kill(car)
        t_kill, killed_at = time.monotonic(), datetime.now(UTC)
        heartbeat_age = (killed_at - seen).total_seconds()
        failed_after = reason = None
        s = requests.Session()
        while time.monotonic() - t_kill < args.liveness_timeout + 10:
            r = s.get(f"{cluster.base}/bookings/{booking}", headers=station.me.headers, timeout=5)
            if (
                r.status_code == 200
                and r.json()["status"] != "driving"
                and r.json()["status"] != "assigned"
            ):
                failed_after = round(time.monotonic() - t_kill, 2)
                reason = f"{r.json()['status']}: {r.json()['reason']}"
                break
            time.sleep(0.05)
        s.close()
        # Dead for a while longer: nobody may book it meanwhile.
        time.sleep(1.0)
        booked_while_dead = db.bookings.count_documents(
            {"car": car, "created_at": {"$gt": killed_at}}
        )
        node = db.cars.find_one({"_id": car}, {"node": 1})["node"]
        cars.start(cars.devices[car], node)
        t_back = time.monotonic()
        rebooked = None
        while time.monotonic() - t_back < 30:
            if db.bookings.count_documents({"car": car, "created_at": {"$gt": killed_at}}):
                rebooked = round(time.monotonic() - t_back, 2)
                break
            time.sleep(0.1)
        return {
            "car": car,
            "booking": booking,
            "heartbeat_age_at_kill_s": round(heartbeat_age, 2),
            "failed_after_s": failed_after,
            "ended": reason,
            "booked_while_dead": booked_while_dead,
            "rebooked_after_s": rebooked,
        }
    finally:
        db.client.close()


def table(result: dict[str, Any]) -> str:
    lines = [
        "| car | trip | heartbeat age at kill (s) | trip ended after (s) | how | booked while dead "
        "| booked again after restart (s) |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for k in result["kills"]:
        lines.append(
            f"| {k['car']} | {k['booking']} | {k['heartbeat_age_at_kill_s']} | "
            f"{k['failed_after_s']} | {k['ended']} | {k['booked_while_dead']} | "
            f"{k['rebooked_after_s']} |"
        )
    return "\n".join(lines)
