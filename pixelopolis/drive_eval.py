"""`pixelopolis eval drive`: book random trips in a simulated city and score the driving.

The whole city runs as in production (`CityLaunch`: fleet server on the embedded
database, the world in synchronous mode, one `pixelopolis car` process per car through
its emulated board); trips are booked through the public HTTP API as a station would.
The world scores the driving from ground truth (`sim.drive_metrics`); this module
adds the trips: booked, completed, route completion, and wrong turns (the car entered
a junction that is not next on its route).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import requests
from rich.progress import Progress

from pixelopolis.launch import CityLaunch, LaunchConfig

log = logging.getLogger(__name__)

FINAL = ("arrived", "cancelled", "failed")


@dataclass(frozen=True)
class DriveEvalConfig:
    trips: int = 40
    trip_timeout_sim_s: float = 240.0  # a trip still open after this much simulated time fails
    ready_timeout_s: float = 300.0
    poll_s: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.trips <= 10_000:
            raise ValueError(f"trips: must be within 1..10000, got {self.trips}")


class _Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=30, **kw)


class Booker(Protocol):
    """Books a trip and follows it — through the fleet API or a station's web app."""

    def book(self, destination: str) -> dict[str, Any] | None:
        """A new trip `{id, car, route: [node...], length_m, status, passed}`, or None
        when no car is free."""

    def follow(self, trip: dict[str, Any]) -> tuple[str, list[str]]:
        """The trip's status and the route nodes passed so far."""

    def cancel(self, trip: dict[str, Any]) -> None: ...


class FleetBooker:
    """A station device of its own, speaking the fleet server's HTTP API."""

    def __init__(self, server_url: str, fleet_key: str) -> None:
        r = _Api(server_url).call(
            "POST",
            "/devices",
            json={"kind": "station", "name": "eval"},
            headers={"X-Fleet-Key": fleet_key},
        )
        r.raise_for_status()
        self.api = _Api(server_url, r.json()["token"])

    def book(self, destination: str) -> dict[str, Any] | None:
        r = self.api.call("POST", "/bookings", json={"destination": destination})
        if r.status_code == 409:
            return None
        r.raise_for_status()
        doc = r.json()
        return {
            "id": doc["id"],
            "car": doc["car"],
            "route": [s["node"] for s in doc["route"]["steps"]],
            "length_m": doc["route"]["length_m"],
            "status": doc["status"],
            "passed": [],
        }

    def follow(self, trip: dict[str, Any]) -> tuple[str, list[str]]:
        doc = self.api.call("GET", f"/bookings/{trip['id']}").json()
        return doc["status"], list(doc.get("passed", []))

    def cancel(self, trip: dict[str, Any]) -> None:
        self.api.call("POST", f"/bookings/{trip['id']}/cancel")


class StationBooker:
    """Visitors at the stations' screens: one browser session per trip, through the
    station app's own JSON calls (what its page does), stations taken in turn."""

    def __init__(self, station_urls: list[str]) -> None:
        if not station_urls:
            raise ValueError("station_urls: need at least one station")
        self.urls = station_urls
        self._next = 0
        self._sessions: dict[str, tuple[requests.Session, str]] = {}

    def book(self, destination: str) -> dict[str, Any] | None:
        url = self.urls[self._next % len(self.urls)]
        self._next += 1
        session = requests.Session()
        r = session.post(f"{url}/api/booking", json={"destination": destination}, timeout=30)
        if r.status_code == 409:
            return None
        r.raise_for_status()
        doc = r.json()
        self._sessions[doc["id"]] = (session, url)
        return {
            "id": doc["id"],
            "car": doc["car"]["id"],
            "route": [step["id"] for step in doc["route"]],
            "length_m": doc["length_m"],
            "status": doc["status"],
            "passed": [],
        }

    def follow(self, trip: dict[str, Any]) -> tuple[str, list[str]]:
        session, url = self._sessions[trip["id"]]
        doc = session.get(f"{url}/api/booking", timeout=30).json()
        passed = [step["id"] for step in doc["route"][1:] if step["passed"]]
        return doc["status"], passed

    def cancel(self, trip: dict[str, Any]) -> None:
        session, url = self._sessions[trip["id"]]
        session.post(f"{url}/api/booking/cancel", timeout=30)


def run_drive_eval(
    launch_config: LaunchConfig, config: DriveEvalConfig, *, progress: bool = True
) -> dict[str, Any]:
    """Start the city, book the trips through the fleet API, return the summary."""
    with CityLaunch(launch_config) as city:
        booker = FleetBooker(city.server_url, city.fleet_key)
        return run_trips(city, booker, config, seed=launch_config.seed, progress=progress)


def run_trips(
    city: CityLaunch,
    booker: Booker,
    config: DriveEvalConfig,
    *,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Book `config.trips` random trips in a running city, follow them to their end and
    score them with the world's ground truth."""
    wall0 = time.monotonic()
    rng = np.random.default_rng(seed)
    api = FleetBooker(city.server_url, city.fleet_key).api  # a reader of cars and the map
    names = wait_ready(api, city, city.config.cars, config.ready_timeout_s)
    nodes = sorted(n["id"] for n in api.call("GET", "/city").json()["nodes"])
    trips: list[dict[str, Any]] = []
    open_trips: dict[str, dict[str, Any]] = {}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("trips", total=config.trips)
        while len(trips) < config.trips or open_trips:
            failed = city.failed_children()
            if failed:
                raise RuntimeError(f"exited during the trips: {'; '.join(failed)}")
            state = city.world_state()
            sim_now = state["sim_time_s"]
            if len(trips) < config.trips:
                booked = _book(booker, api, rng, nodes)
                if booked is not None:
                    booked.update(
                        world_car=names.get(booked["car"], booked["car"]),
                        booked_sim_s=sim_now,
                        booked_tick=state["tick"],
                    )
                    trips.append(booked)
                    open_trips[booked["id"]] = booked
            for trip in list(open_trips.values()):
                trip["status"], trip["passed"] = booker.follow(trip)
                if trip["status"] in FINAL:
                    trip["ended_sim_s"], trip["ended_tick"] = sim_now, state["tick"]
                    del open_trips[trip["id"]]
                    bar.advance(task)
                elif sim_now - trip["booked_sim_s"] > config.trip_timeout_sim_s and not trip.get(
                    "timed_out"
                ):
                    log.warning("trip %s timed out: cancelled", trip["id"])
                    booker.cancel(trip)
                    trip["timed_out"] = True
            time.sleep(config.poll_s)
    final = city.world_state()
    return summarise(trips, final, names, wall_s=time.monotonic() - wall0)


def wait_ready(api: _Api, city: CityLaunch, cars: int, timeout_s: float) -> dict[str, str]:
    """Wait until every car reports ready; returns server car id → world car id."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        failed = city.failed_children()
        if failed:
            raise RuntimeError(f"exited before the cars were ready: {'; '.join(failed)}")
        listed = api.call("GET", "/cars").json()["cars"]
        ready = {c["id"]: c["name"] for c in listed if c["state"] == "ready" and c["online"]}
        if len(ready) == cars:
            return ready
        time.sleep(0.5)
    raise RuntimeError(f"the cars were not all ready within {timeout_s:.0f} s")


def _book(
    booker: Booker, api: _Api, rng: np.random.Generator, nodes: list[str]
) -> dict[str, Any] | None:
    cars = api.call("GET", "/cars").json()["cars"]
    free = [c for c in cars if c["state"] == "ready" and c["booking"] is None and c["online"]]
    if not free:
        return None
    taken = {c["node"] for c in cars}
    choices = [n for n in nodes if n not in taken] or nodes
    return booker.book(choices[int(rng.integers(len(choices)))])


def wrong_turns(route: list[str], visits: list[str]) -> int:
    """Junctions entered that are not on the route (in order) — one per wrong turn."""
    wrong = 0
    position = 0
    for node in visits:
        if node in route[position:]:
            position = route.index(node, position)
        else:
            wrong += 1
    return wrong


def summarise(
    trips: list[dict[str, Any]], state: dict[str, Any], names: dict[str, str], *, wall_s: float
) -> dict[str, Any]:
    metrics = state["metrics"]
    completion, wrong = [], 0
    for trip in trips:
        route = trip["route"]
        legs = max(1, len(route) - 1)
        done = len(route) - 1 if trip["status"] == "arrived" else len(trip["passed"])
        completion.append(min(1.0, done / legs))
        visits = metrics["per_car"].get(trip["world_car"], {}).get("visits", [])
        end = trip.get("ended_tick", state["tick"])
        seen = [node for tick, node in visits if trip["booked_tick"] <= tick <= end]
        wrong += wrong_turns(route, seen)
    km = metrics["km_driven"]
    return {
        "trips_booked": len(trips),
        "trips_completed": sum(t["status"] == "arrived" for t in trips),
        "trips_failed": sum(t["status"] in ("failed", "cancelled") for t in trips),
        "route_completion": round(float(np.mean(completion)), 4) if completion else None,
        "wrong_turns": wrong,
        "off_lane_events": metrics["off_lane_events"],
        "off_lane_per_10km": round(metrics["off_lane_events"] / km * 10.0, 3) if km else None,
        "collisions": metrics["collisions"],
        "intersection_conflicts": metrics["intersection_conflicts"],
        "mean_abs_cte_m": metrics["mean_abs_cte_m"],
        "p95_abs_cte_m": metrics["p95_abs_cte_m"],
        "km_driven": km,
        "sim_time_s": state["sim_time_s"],
        "wall_time_s": round(wall_s, 1),
        "cars": len(names),
    }
