"""Fault drill: the fleet server becomes unreachable from a car in the middle of a trip.

The whole city runs as `pixelopolis eval drive` runs it (`CityLaunch`: the server, the
world in real time, a real `pixelopolis car` on the board emulator), except that the car
reaches the server through a cable the drill can cut (`netcable.NetworkCable`: packets
vanish, requests time out). Per cycle the drill books a trip through the API, waits until
the car is driving it, cuts the cable for `--outage-s`, watches the car in the world's
ground truth, reconnects and watches it resume. Odd cycles cut early in the first leg;
even ones just after the car reports its first node (if it does within 90 s), so that
it has a leg to finish and reports to make while cut off.

Targets, per cycle: during the outage the car comes to rest (it may finish its leg, not
start another) and enters no junction it did not already hold a reservation for; the
server, whose liveness timeout is longer than the outage, keeps the trip open; after the
reconnect the car drives on within RESUME_TARGET_S, and every "passed node" report it
made (one log line each) is in the trip's `passed` list, in route order, within
RESUME_TARGET_S — none lost. No collision and no wheel off the lane throughout.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.reliability.netcable import NetworkCable
from pixelopolis.drive_eval import FleetBooker, wait_ready
from pixelopolis.launch import CityLaunch, LaunchConfig

REST_MPS = 0.01  # "at rest"
MOVING_MPS = 0.03  # "driving again"
RESUME_TARGET_S = 10.0
MID_TRIP_M = 0.3  # metres into the trip before the cut
AFTER_NODE_WAIT_S = 90.0
POLL_S = 0.1
PASSED = re.compile(r"car: passed (\S+) on (\S+)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cycles", type=int, default=2, help="outages, one per trip (default 2)")
    p.add_argument(
        "--outage-s", type=float, default=30.0, help="seconds without a network (default 30)"
    )
    p.add_argument("--city", help="city file (default: the shipped town)")
    p.add_argument("--logs", help="folder for each process's log (default: a temporary one)")
    # The trip must outlive the outage on the server, or there is nothing to resume.
    p.set_defaults(liveness_timeout=60.0)


def check_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.cycles <= 20:
        raise ValueError(f"cycles: must be within 1..20, got {args.cycles}")
    if not 3.0 <= args.outage_s <= 300.0:
        raise ValueError(f"outage-s: must be within 3..300, got {args.outage_s}")
    if args.outage_s + 5 > args.liveness_timeout:
        raise ValueError(
            f"liveness-timeout: must exceed outage-s by 5 s (the server would fail the trip "
            f"of a silent car), got {args.liveness_timeout:g} for an outage of {args.outage_s:g}"
        )
    if args.city and not Path(args.city).is_file():
        raise ValueError(f"city: no file {args.city}")


@dataclass
class _CabledLaunch(CityLaunch):
    """A city whose cars reach the server through `cable`."""

    cable: NetworkCable | None = None

    def _start_server(self) -> None:
        super()._start_server()
        assert self.cable is not None
        self.cable.connect_to(self.server_url)
        self.car_server_url = self.cable.url


def run(args: argparse.Namespace) -> dict[str, Any]:
    cycles: list[dict[str, Any]] = []
    cable_counts = {"connections_forwarded": 0, "requests_lost_in_cuts": 0}
    for k in range(args.cycles):
        cycle = None
        if k % 2 == 1:
            cycle = _in_fresh_city(args, k, after_node=True, counts=cable_counts)
        if cycle is None:  # first-leg cycles, and after-node ones where no node came
            cycle = _in_fresh_city(args, k, after_node=False, counts=cable_counts)
            if k % 2 == 1:
                cycle["cut"] += f" (no node reported within {AFTER_NODE_WAIT_S:g} s)"
        cycles.append(cycle)
    failures = [f"cycle {i + 1}: {f}" for i, c in enumerate(cycles) for f in c.pop("failures")]
    return {
        "drill": "server-unreachable",
        "settings": {
            "cycles": args.cycles,
            "outage_s": args.outage_s,
            "liveness_timeout_s": args.liveness_timeout,
            "city": args.city or "the shipped town",
        },
        "cycles": cycles,
        "cable": cable_counts,
        "failures": failures,
        "passed": not failures,
    }


def _in_fresh_city(
    args: argparse.Namespace, k: int, *, after_node: bool, counts: dict[str, int]
) -> dict[str, Any] | None:
    """One cycle in a city started for it, so every cycle begins with a car that knows
    where it is (a trip cancelled mid-leg would leave it standing between nodes)."""
    config = LaunchConfig(
        cars=1,
        city=Path(args.city) if args.city else None,
        seed=args.seed + k,
        workers=args.workers,
        liveness_timeout_s=args.liveness_timeout,
        log_dir=Path(args.logs) / f"cycle-{k + 1}" if args.logs else None,
    )
    with NetworkCable() as cable, _CabledLaunch(config, cable=cable) as city:
        drill = _Drill(city, cable, args, seed=args.seed + k)
        drill.wait_ready()
        cycle = drill.cycle(after_node=after_node)
        counts["connections_forwarded"] += cable.forwarded
        counts["requests_lost_in_cuts"] += cable.swallowed
    return cycle


class _Drill:
    def __init__(
        self, city: CityLaunch, cable: NetworkCable, args: argparse.Namespace, *, seed: int
    ) -> None:
        self.city, self.cable, self.args = city, cable, args
        self.booker = FleetBooker(city.server_url, city.fleet_key)
        self.api = self.booker.api
        self.world_car = city.world["cars"][0]["id"]
        self.car_log = city.log_dir / f"{self.world_car}.log"
        self.rng = np.random.default_rng(seed)
        self.nodes = [n["id"] for n in self.api.call("GET", "/city").json()["nodes"]]

    # ------------------------------------------------------------------ reading
    def server_car(self) -> dict[str, Any]:
        cars = self.api.call("GET", "/cars").json()["cars"]
        return next(c for c in cars if c["name"] == self.world_car)

    def world(self) -> dict[str, Any]:
        state = self.city.world_state()
        car = next(c for c in state["cars"] if c["id"] == self.world_car)
        tally = state["metrics"]["per_car"].get(self.world_car, {})
        return {
            "speed": abs(car["speed_mps"]),
            "distance_m": tally.get("distance_m", 0.0),
            "visits": [node for _, node in tally.get("visits", [])],
            "collisions": state["metrics"]["collisions"],
            "off_lane": state["metrics"]["off_lane_events"],
        }

    def reported(self, booking: str) -> list[str]:
        """The nodes the car logged as passed on `booking`, in order."""
        if not self.car_log.is_file():
            return []
        text = self.car_log.read_text(errors="replace")
        return [m.group(1) for m in PASSED.finditer(text) if m.group(2) == booking]

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        wait_ready(self.api, self.city, 1, timeout_s)

    # ------------------------------------------------------------------ a cycle
    def book(self) -> dict[str, Any]:
        """A trip of at least three route nodes from where the car stands."""
        here = self.server_car()["node"]
        choices = [str(n) for n in self.rng.permutation(self.nodes) if n != here]
        for dest in choices:
            r = self.api.call("GET", "/routes", params={"from": here, "to": dest})
            if r.status_code == 200 and len(r.json()["steps"]) >= 3:
                break
        else:
            raise RuntimeError(f"no destination three nodes or more from {here}")
        for _ in range(20):
            trip = self.booker.book(dest)
            if trip is not None:
                return trip
            time.sleep(0.5)
        raise RuntimeError("no car was free for the trip")

    def start_trip(self) -> dict[str, Any]:
        """Book a trip and wait until the car has driven MID_TRIP_M of it."""
        self.wait_ready()
        trip = self.book()
        start = self.world()["distance_m"]
        deadline = time.monotonic() + 120
        while self.world()["distance_m"] - start < MID_TRIP_M:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the car did not start trip {trip['id']} within 120 s")
            time.sleep(POLL_S)
        return trip

    def cycle(self, *, after_node: bool = False) -> dict[str, Any] | None:
        """One outage. `after_node`: cut just after the car reports its first node (so
        it is on a leg it may finish, with reports to make), or None if it reports none
        within AFTER_NODE_WAIT_S; otherwise early in the first leg."""
        failures: list[str] = []
        trip = self.start_trip()
        cut_at = "first leg"
        if after_node:
            deadline = time.monotonic() + AFTER_NODE_WAIT_S
            while time.monotonic() < deadline and not self.reported(trip["id"]):
                time.sleep(POLL_S)
            if not self.reported(trip["id"]):
                self.booker.cancel(trip)
                return None
            cut_at = f"after {self.reported(trip['id'])[0]}"
        else:
            time.sleep(float(self.rng.uniform(0, 2)))
        car_id = trip["car"]
        held = [
            r["node"]
            for r in self.api.call("GET", "/reservations").json()["reservations"]
            if r["car"] == car_id
        ]
        before = self.world()
        reported_before = self.reported(trip["id"])
        self.cable.cut()
        t_cut = time.monotonic()
        samples: list[tuple[float, dict[str, Any]]] = []
        while time.monotonic() - t_cut < self.args.outage_s:
            samples.append((time.monotonic() - t_cut, self.world()))
            time.sleep(POLL_S)
        status_in_outage, _ = self.booker.follow(trip)
        reported_in_outage = self.reported(trip["id"])
        self.cable.reconnect()
        t_back = time.monotonic()
        last = samples[-1][1]
        at_rest_since = _at_rest_since(samples)
        entered = last["visits"][len(before["visits"]) :]
        unreserved = [n for n in entered if n not in held]
        moving_after = delivered_after = None
        status = status_in_outage
        while time.monotonic() - t_back < RESUME_TARGET_S + 5:
            now = time.monotonic() - t_back
            if moving_after is None and self.world()["speed"] > MOVING_MPS:
                moving_after = round(now, 2)
            status, passed = self.booker.follow(trip)
            if delivered_after is None and _delivered(self.reported(trip["id"]), passed):
                delivered_after = round(now, 2)
            if moving_after is not None and delivered_after is not None:
                break
            if status not in ("assigned", "driving"):
                break
            time.sleep(POLL_S)
        after = self.world()
        status, passed = self.booker.follow(trip)
        reported = self.reported(trip["id"])

        if before["speed"] < MOVING_MPS:
            failures.append("the car was not driving when the cable was cut (nothing tested)")
        if at_rest_since is None:
            failures.append("the car was still moving when the network came back")
        if unreserved:
            failures.append(f"entered junctions it held no reservation for: {unreserved}")
        if status_in_outage not in ("assigned", "driving"):
            failures.append(f"the server ended the trip during the outage: {status_in_outage}")
        if status == "driving" and (moving_after is None or moving_after > RESUME_TARGET_S):
            failures.append(f"did not drive on within {RESUME_TARGET_S:g} s of the reconnect")
        if delivered_after is None or delivered_after > RESUME_TARGET_S:
            missing = [n for n in reported if n not in passed]
            failures.append(f"progress reports not delivered: {missing} (server has {passed})")
        if after["collisions"] > before["collisions"]:
            failures.append("collision")
        if after["off_lane"] > before["off_lane"]:
            failures.append("a wheel left the lane")
        if status in ("assigned", "driving"):
            self.booker.cancel(trip)
        return {
            "booking": trip["id"],
            "route": trip["route"],
            "cut": cut_at,
            "reservations_at_cut": held,
            "speed_at_cut_mps": round(before["speed"], 3),
            "at_rest_after_s": at_rest_since,
            "driven_in_outage_m": round(last["distance_m"] - before["distance_m"], 3),
            "junctions_entered_in_outage": entered,
            "reports_made_in_outage": reported_in_outage[len(reported_before) :],
            "trip_status_after_outage": status_in_outage,
            "moving_again_after_s": moving_after,
            "reports_delivered_after_s": delivered_after,
            "passed": passed,
            "failures": failures,
        }


def _at_rest_since(samples: list[tuple[float, dict[str, Any]]]) -> float | None:
    """When the car came to rest for good (within the samples), if it did for 1 s or more."""
    since = None
    for t, world in samples:
        if world["speed"] > REST_MPS:
            since = None
        elif since is None:
            since = t
    if since is None or samples[-1][0] - since < 1.0:
        return None
    return round(since, 2)


def _delivered(reported: list[str], passed: list[str]) -> bool:
    """Every reported node reached the server, in the order reported."""
    return passed[: len(reported)] == reported


def table(result: dict[str, Any]) -> str:
    lines = [
        "| cycle | cut | speed at cut (m/s) | at rest after (s) | driven in outage (m) | junctions "
        "entered (held) | trip after outage | moving again after (s) | reports delivered "
        "after (s) |",
        "|---:|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for i, c in enumerate(result["cycles"], 1):
        lines.append(
            f"| {i} | {c['cut']} | {c['speed_at_cut_mps']} | {c['at_rest_after_s']} | "
            f"{c['driven_in_outage_m']} | {c['junctions_entered_in_outage']} "
            f"({c['reservations_at_cut']}) | {c['trip_status_after_outage']} | "
            f"{c['moving_again_after_s']} | {c['reports_delivered_after_s']} |"
        )
    return "\n".join(lines)
